"""Accuracy parity of the CPU recipes: the old one (fp32, the model's own dropout) against the new default
(bf16 autocast, no attention-probability dropout; hidden and classifier dropout kept).

Each (recipe, seed) is one ``main.py --train --eval`` run on the same seeded subsets (main.py's data seed), one thread
per process, at most --workers at once. Each run's evaluation record (accuracy, training record, provenance) is
written to results/cpu_recipe_parity/<recipe>-seed<N>.json; runs whose file exists are skipped, and a run in
progress checkpoints every --checkpoint_every optimizer steps under results/cpu_recipe_parity/.work/ (git-ignored),
so an interrupted study resumes where it stopped (resumed training is identical to uninterrupted training). The
summary (mean, standard deviation, standard error per recipe; whether the new mean lies within one standard error of
the old) goes to results/cpu_recipe_parity/summary.json.

    python benchmarks/cpu_recipe_parity.py                 # 3 seeds x 2 recipes, 3,000 train / 2,000 test, 256 tokens
    python benchmarks/cpu_recipe_parity.py --recipes old --workers 1 &   # or one runner per recipe
    python benchmarks/cpu_recipe_parity.py --summary_only  # recompute the summary from the stored runs
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import torch  # noqa: E402

from pipeline.checkpoints import latest_checkpoint  # noqa: E402
from pipeline.data import SHARED_DATA, project_path, stand_in_model  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402

# The committed runs used torch's default AdamW (before fused AdamW became the rule); reruns use the fused kernel, which
# computes the same update (tests/test_precision.py trains with both and compares).
RECIPES = {
    "old": ["--mixed_precision", "no", "--attention_dropout", "model"],
    "new": ["--mixed_precision", "bf16", "--attention_dropout", "0"],
}


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model())
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES),
                        help="which recipes to run (e.g. one runner per recipe, --workers 1 each)")
    parser.add_argument("--train_samples", type=int, default=3000)
    parser.add_argument("--eval_samples", type=int, default=2000)
    parser.add_argument("--max_length", type=int, default=256)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="runs at once (one thread each)")
    parser.add_argument("--checkpoint_every", type=int, default=10, help="optimizer steps between checkpoints")
    parser.add_argument("--results", default="results/cpu_recipe_parity")
    parser.add_argument("--summary_only", action="store_true")
    return parser.parse_args(argv)


def command(args, recipe: str, seed: int, work: Path) -> list[str]:
    return [sys.executable, str(PROJECT_DIR / "main.py"), "--train", "--eval",
            "--model_name", args.model_name, "--dataset", args.dataset,
            "--max_train_samples", str(args.train_samples), "--max_eval_samples", str(args.eval_samples),
            "--max_length", str(args.max_length), "--num_epochs", "1", "--learning_rate", str(args.learning_rate),
            "--batch_size", str(args.batch_size), "--seed", str(seed),
            "--model_dir", str(work / "model"), *RECIPES[recipe],
            "--checkpoint_every", str(args.checkpoint_every),
            *(["--resume"] if latest_checkpoint(work / "model") is not None else [])]


def run_one(args, recipe: str, seed: int, results: Path) -> Path:
    target = results / f"{recipe}-seed{seed}.json"
    if target.is_file():
        return target
    work = results / ".work" / f"{recipe}-seed{seed}"
    work.mkdir(parents=True, exist_ok=True)
    cmd = command(args, recipe, seed, work)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    log = results / f"{recipe}-seed{seed}.log"
    with open(log, "a") as handle:
        subprocess.run(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT, check=True, cwd=PROJECT_DIR)
    record = json.loads((work / "out" / "model_original.json").read_text())
    record.update(recipe=recipe, recipe_flags=RECIPES[recipe], threads=1,
                  command=" ".join(["python", "main.py", *cmd[2:]]).replace(str(work), "<work>"))
    write_json(target, record)
    log.unlink()
    shutil.rmtree(work, ignore_errors=True)
    return target


def summarise(results: Path) -> dict:
    runs = {}
    for file in sorted(results.glob("*-seed*.json")):
        record = json.loads(file.read_text())
        runs.setdefault(record["recipe"], {})[record["seed"]] = record
    summary = {"recipes": {name: flags for name, flags in RECIPES.items()}, "per_recipe": {}}
    for recipe, by_seed in runs.items():
        accuracies = [by_seed[s]["accuracy"] for s in sorted(by_seed)]
        sd = statistics.stdev(accuracies) if len(accuracies) > 1 else None
        summary["per_recipe"][recipe] = {
            "seeds": sorted(by_seed),
            "accuracy": accuracies,
            "mean": statistics.mean(accuracies),
            "sd": sd,
            "standard_error": sd / len(accuracies) ** 0.5 if sd is not None else None,
            "train_seconds": [by_seed[s]["train_seconds"] for s in sorted(by_seed)],
            "train_ms_per_example": [round(1000 / by_seed[s]["train_examples_per_second"], 1) for s in sorted(by_seed)],
            "eval_ms_per_example": [round(1000 / by_seed[s]["eval_examples_per_second"], 1) for s in sorted(by_seed)],
        }
    old, new = summary["per_recipe"].get("old"), summary["per_recipe"].get("new")
    if old and new and old["standard_error"] is not None:
        common = sorted(set(old["seeds"]) & set(new["seeds"]))
        difference = new["mean"] - old["mean"]
        summary["new_minus_old_mean"] = difference
        summary["new_within_one_standard_error_of_old"] = abs(difference) <= old["standard_error"]
        summary["paired_differences"] = {
            s: runs["new"][s]["accuracy"] - runs["old"][s]["accuracy"] for s in common}
    summary["note"] = ("train/eval ms per example were measured with one thread per process on a shared 2-core "
                       "machine (two runs at once plus other users): compare them only loosely")
    summary["provenance"] = provenance(torch.device("cpu"))
    write_json(results / "summary.json", summary)
    return summary


def main(argv=None) -> dict:
    args = parse_options(argv)
    results = project_path(args.results)
    results.mkdir(parents=True, exist_ok=True)
    if not args.summary_only:
        jobs = [(recipe, seed) for seed in args.seeds for recipe in args.recipes]
        with ThreadPoolExecutor(args.workers) as pool:
            for done in pool.map(lambda job: run_one(args, *job, results), jobs):
                print(f"done: {done}", flush=True)
    summary = summarise(results)
    print(json.dumps({k: v for k, v in summary.items() if k != "provenance"}, indent=2))
    return summary


if __name__ == "__main__":
    main()
