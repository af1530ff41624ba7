"""One folder with what ``throughput.py`` needs on an offline GPU machine that lacks ``datasets`` and the model.

For issue 10's GPU benchmark on a lent machine whose image holds torch, transformers, accelerate, pandas and pyarrow
but no ``datasets`` and no Hugging Face hub, and which takes a bounded upload (64 MiB with the project). Writes
``--out`` (default ``.device/``, git-ignored):

- ``model/``: the model's folder (default: the all-MiniLM-L6-v2 stand-in) with its floating-point weights stored in
  bf16, half their size (45 MB instead of 91 for MiniLM), and its configuration saying float32, so that it loads,
  trains and evaluates in fp32 as usual. The weights are the original's rounded to bf16: say so beside any figure
  made from them.
- ``imdb/``: seeded subsets of the official split (``--train_samples``, ``--eval_samples``) as parquet files in the
  hub's schema (text, label).
- ``wheels/``: ``datasets`` and the two packages it needs that such an image lacks (dill, multiprocess), at the
  versions installed here, for ``--python_version`` (``pip download``: needs the package index; ``--no_wheels``
  skips them).
- ``run.sh``: run from the project folder there: installs the wheels, prints the versions it runs with, and runs
  ``throughput.py`` on the kit (extra arguments are passed on), writing ``$OUT/throughput_gpu.json``.

    python benchmarks/device_kit.py         # then, on the GPU machine, carrying .device: bash .device/run.sh
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from pipeline.data import (  # noqa: E402
    SHARED_DATA, WEIGHT_FILES, load_imdb, project_path, resolve_model, stand_in_model, subset)
from pipeline.errors import UsageError, exit_code  # noqa: E402
from pipeline.results import git_commit, write_json  # noqa: E402

WHEELS = ("datasets", "dill", "multiprocess")  # what datasets needs beyond a CUDA image's packages
KIT_MARK = "# Made by benchmarks/device_kit.py."  # run.sh's first comment: how a folder is known to be a kit
RUN_SH = """#!/usr/bin/env bash
{mark} Run from the project folder on the GPU machine: bash {kit}/run.sh [args]
set -euo pipefail
PYTHON=${{PYTHON:-python3}}
if compgen -G "{kit}/wheels/*.whl" > /dev/null; then
    "$PYTHON" -m pip install -q --no-index --no-deps {kit}/wheels/*.whl
fi
"$PYTHON" -c 'import datasets, pyarrow, torch, transformers, accelerate; print("torch", torch.__version__, \\
    "transformers", transformers.__version__, "accelerate", accelerate.__version__, "datasets", datasets.__version__, \\
    "pyarrow", pyarrow.__version__, "cuda", torch.cuda.is_available())'
export HF_HUB_OFFLINE=1
if [ -n "${{OUT:-}}" ]; then cp {kit}/kit.json "$OUT/kit.json"; fi  # the commit the kit was made at
"$PYTHON" benchmarks/throughput.py --model_name {kit}/model --dataset {kit}/imdb \\
    --train_samples {train} --eval_samples {eval} --rounds {rounds} \\
    --results "${{OUT:-{kit}}}/throughput_gpu.json" "$@"
"""


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model(), help="a local model folder (save_pretrained's)")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="local folder of train/test parquet")
    parser.add_argument("--train_samples", type=int, default=2000, help="training reviews in the kit (seeded)")
    parser.add_argument("--eval_samples", type=int, default=2000, help="test reviews in the kit (seeded)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the subsets")
    parser.add_argument("--rounds", type=int, default=3, help="run.sh's throughput.py --rounds")
    parser.add_argument("--python_version", default="3.12", help="the GPU image's Python, for the wheels")
    parser.add_argument("--no_wheels", action="store_true", help="do not download the wheels")
    parser.add_argument("--out", default=".device", help="the kit's folder (relative: to the project folder)")
    options = parser.parse_args(argv)
    if min(options.train_samples, options.eval_samples, options.rounds) <= 0:
        parser.error("--train_samples, --eval_samples and --rounds must be positive")
    return options


def bf16_model_copy(source: Path, target: Path) -> None:
    """``source``'s files with its floating-point weights stored in bf16 and its configuration saying float32."""
    import torch
    from safetensors.torch import load_file, save_file

    if not (source / "model.safetensors").is_file():
        raise UsageError(f"{source} has no model.safetensors (sharded or .bin weights are not supported here)")
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file() and path.name not in WEIGHT_FILES:
            shutil.copy2(path, target / path.name)
    weights = load_file(source / "model.safetensors")
    save_file({name: t.to(torch.bfloat16) if t.is_floating_point() else t for name, t in weights.items()},
              target / "model.safetensors", metadata={"format": "pt"})
    config = json.loads((source / "config.json").read_text())
    config.pop("torch_dtype", None)
    config["dtype"] = "float32"
    (target / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def download_wheels(target: Path, python_version: str) -> None:
    pins = [f"{name}=={version(name)}" for name in WHEELS]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "-d", str(target), *pins], check=True)


def clear_old_kit(kit: Path) -> None:
    """Remove a kit made earlier (rebuilt whole, never mixed with an older one); refuse any other existing path."""
    if not kit.exists():
        return
    run_sh = kit / "run.sh"
    if not (run_sh.is_file() and KIT_MARK in run_sh.read_text(errors="replace")):
        raise UsageError(f"--out {kit} exists and is not a kit made by this script: name a new folder (nothing was "
                         f"changed)")
    shutil.rmtree(kit)


def build(options) -> Path:
    kit = project_path(options.out)
    clear_old_kit(kit)
    source = Path(resolve_model(options.model_name))  # before anything is written: a bad name changes nothing
    data = load_imdb(options.dataset)
    try:
        bf16_model_copy(source, kit / "model")
        (kit / "imdb").mkdir()
        for split, size in (("train", options.train_samples), ("test", options.eval_samples)):
            subset(data[split], size, options.seed).select_columns(["text", "label"]).to_parquet(
                kit / "imdb" / f"{split}.parquet")
        if not options.no_wheels:
            download_wheels(kit / "wheels", options.python_version)
    except BaseException:
        shutil.rmtree(kit, ignore_errors=True)  # this run's own half-built folder: no run.sh, so never reusable
        raise
    relative = kit.relative_to(PROJECT_DIR) if kit.is_relative_to(PROJECT_DIR) else kit
    (kit / "run.sh").write_text(RUN_SH.format(mark=KIT_MARK, kit=relative, train=options.train_samples,
                                              eval=options.eval_samples, rounds=options.rounds))
    # The GPU machine's copy of the project may carry another .git than this one: results made there name the
    # commit they ran at through this file (run.sh copies it beside them).
    write_json(kit / "kit.json", {"commit": git_commit(), "model": str(source), "train_samples": options.train_samples,
                                  "eval_samples": options.eval_samples, "seed": options.seed,
                                  "weights": "the model's floating-point weights rounded to bf16"})
    size = sum(path.stat().st_size for path in kit.rglob("*") if path.is_file())
    print(f"{kit}: {size / 2**20:.1f} MiB; on the GPU machine, from the project folder: bash {relative}/run.sh")
    return kit


if __name__ == "__main__":
    sys.exit(exit_code(build, parse_options()))
