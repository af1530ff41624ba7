"""The benchmarks on a tiny model: every setting measured, same predictions, figures written."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

import torch
from conftest import PROJECT_DIR, offline_env
from pipeline.memory import glibc
from pipeline.precision import cpu_has_native_bf16


def test_profile_step_times_every_recipe_and_both_optimizers(tiny_model, tmp_path):
    results = tmp_path / "profile_step.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "profile_step.py"), "--model_name",
                           str(tiny_model), "--lengths", "16", "--rounds", "2", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    variants = record["lengths"]["16"]["variants"]
    assert len(variants) == 5
    for figures in variants.values():
        assert len(figures["all_rounds"]) == 2 and figures["ms_per_example"] > 0 and figures["top_ops"]
        assert figures["sdpa_kernels"]  # every recipe's attention went through SDPA
    optimizers = record["optimizer_step"]["variants"]
    assert len(optimizers) == 2 and record["optimizer_step"]["parameters"] > 0
    for name, figures in optimizers.items():
        assert len(figures["all_rounds"]) == 5 and figures["ms_per_step"] > 0
    fused = next(f for name, f in optimizers.items() if name.startswith("fused"))
    assert any("fused_adamw" in op["op"] for op in fused["top_ops"])  # the fused kernel really ran
    assert "optimizer step" in proc.stdout


def test_throughput_runs_three_paths_on_the_same_weights(tiny_model, tiny_data, tmp_path):
    results = tmp_path / "throughput.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "throughput.py"), "--model_name",
                           str(tiny_model), "--dataset", str(tiny_data), "--max_length", "32", "--train_samples", "48",
                           "--eval_samples", "40", "--rounds", "2", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    paths = record["paths"]
    for figures in paths.values():  # the medians of the two rounds, each round kept
        assert len(figures["rounds"]) == 2
        assert figures["train_ms_per_example"] == statistics.median(r["train_ms_per_example"] for r in figures["rounds"])
    assert len(record["ratios"]["default"]["train_vs_starter_by_round"]) == 2
    assert list(paths) == ["starter", "fp32", "default"]
    assert [paths[p]["fused_adamw"] for p in paths] == [False, False, True]  # the starter's AdamW, then ours
    # the default path evaluates with bf16 weights where bf16 autocast is the CPU's rule
    assert [paths[p]["bf16_full_eval"] for p in paths] == [False, False, cpu_has_native_bf16()]
    assert paths["starter"]["mixed_precision"] == paths["fp32"]["mixed_precision"] == "no"
    # only the default path keeps freed memory (where glibc is the C library); every path counts its page faults
    assert [r["keep_freed_memory"] for p in paths for r in paths[p]["rounds"]] == [False] * 4 + [glibc()] * 2
    for figures in paths.values():
        for run in figures["rounds"]:
            assert run["train_page_faults_per_example"] >= 0 and run["eval_page_faults_per_example"] >= 0
    for figures in paths.values():
        assert figures["train_ms_per_example"] > 0 and figures["eval_ms_per_example"] > 0
    assert paths["fp32"]["starter_model_agreement"] == 1.0  # per-batch padding and sorting change no prediction
    assert record["ratios"]["starter"]["train_vs_starter"] == 1.0
    estimate = record["full_assignment_estimate"]["default"]
    assert estimate["total_minutes"] > 0 and set(estimate["minutes"]) == {"training", "evaluation", "tokenization",
                                                                           "transformations"}
    assert "full assignment, default path" in proc.stdout
    # the limit is the faster precision's on this CPU (bf16 on AMX, fp32 where bf16 is emulated), and so the ratios
    limit = record["limit"]
    assert limit["gemm_tflops"][limit["fastest"]] == max(limit["gemm_tflops"].values())  # (rounded: ties possible)
    default, fastest = paths["default"], limit["fastest"]
    assert record["ratios"]["default"]["train_vs_limit"] == round(
        default["train_ms_per_example"] / limit["train_limit_ms_per_example"][fastest], 1)
    assert f"the {fastest} limit" in proc.stdout


def test_throughput_rejects_non_positive_rounds(tmp_path):
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "throughput.py"), "--rounds", "0"],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--rounds" in proc.stderr


def test_transforms_times_every_transformation_and_the_full_test_set(tiny_data, tmp_path):
    """transforms.py: reviews/s of each transformation, and custom_transform over the whole test split with its
    stages and CPU time recorded."""
    import utils

    results = tmp_path / "transforms.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "transforms.py"), "--data", str(tiny_data),
                           "--n", "20", "--full", "--num_proc", "1", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    assert record["reviews"] == 20 and list(record["reviews_per_second"]) == utils.TRANSFORM_NAMES
    assert all(rate > 0 for rate in record["reviews_per_second"].values())
    full = record["full_test_set"]
    assert full["reviews"] == 120 and full["stages"] == [list(stage) for stage in utils.CUSTOM_STAGES]
    assert full["seconds"] > 0 and full["cpu_seconds"] > 0
    missing = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "transforms.py"), "--data",
                              str(tmp_path), "--results", str(tmp_path / "none.json")],
                             cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=120)
    assert missing.returncode != 0 and "test split not found" in missing.stderr
    assert not (tmp_path / "none.json").exists()

def test_device_kit_holds_a_bf16_stored_model_that_loads_in_fp32_and_runs_the_benchmark(tiny_model, tiny_data,
                                                                                         tmp_path):
    from safetensors import safe_open

    from pipeline.data import load_pretrained

    kit = tmp_path / "kit"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "device_kit.py"), "--model_name",
                           str(tiny_model), "--dataset", str(tiny_data), "--train_samples", "40", "--eval_samples",
                           "30", "--rounds", "1", "--no_wheels", "--out", str(kit)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((kit / "model" / "config.json").read_text())["dtype"] == "float32"
    with safe_open(str(kit / "model" / "model.safetensors"), "pt") as stored:
        assert {stored.get_tensor(name).dtype for name in stored.keys()} == {torch.bfloat16}
    _, original = load_pretrained(str(tiny_model))
    _, copy = load_pretrained(str(kit / "model"))
    for (name, theirs), mine in zip(original.state_dict().items(), copy.state_dict().values(), strict=True):
        assert mine.dtype == torch.float32 and torch.equal(mine, theirs.to(torch.bfloat16).float()), name
    import pandas as pd

    sizes = {split: pd.read_parquet(kit / "imdb" / f"{split}.parquet") for split in ("train", "test")}
    assert [len(sizes["train"]), len(sizes["test"])] == [40, 30]
    assert list(sizes["train"].columns) == ["text", "label"]
    # run.sh (no wheels to install here) runs throughput.py on the kit and writes to $OUT
    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.run(["bash", str(kit / "run.sh"), "--paths", "default", "--max_length", "32"], cwd=PROJECT_DIR,
                         env=offline_env(OUT=str(out), PYTHON=sys.executable), capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    record = json.loads((out / "throughput_gpu.json").read_text())
    assert record["model_name"] == str(kit / "model") and record["dataset"] == str(kit / "imdb")
    assert record["train_samples"] == 40 and record["eval_samples"] == 30 and list(record["paths"]) == ["default"]
    assert record["provenance"]["device"].startswith("cpu")  # no GPU here: the limit and provenance say so
    assert "cuda False" in run.stdout
    # the commit the kit was made at travels with the results (the GPU machine's .git may be another)
    from pipeline.results import git_commit

    assert json.loads((out / "kit.json").read_text())["commit"] == git_commit()


def test_device_kit_rejects_bad_sizes(tmp_path):
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "device_kit.py"), "--rounds", "0",
                           "--no_wheels", "--out", str(tmp_path / "kit")],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--rounds" in proc.stderr and not (tmp_path / "kit").exists()


def test_device_kit_replaces_an_old_kit_but_never_another_folder(tiny_model, tiny_data, tmp_path):
    command = [sys.executable, str(PROJECT_DIR / "benchmarks" / "device_kit.py"), "--model_name", str(tiny_model),
               "--dataset", str(tiny_data), "--train_samples", "10", "--eval_samples", "10", "--no_wheels"]
    results = tmp_path / "results"
    results.mkdir()
    (results / "throughput.json").write_text("{}")
    refused = subprocess.run([*command, "--out", str(results)], cwd=tmp_path, env=offline_env(), capture_output=True,
                             text=True, timeout=300)
    assert refused.returncode == 2 and "is not a kit made by this script" in refused.stderr
    assert (results / "throughput.json").read_text() == "{}"  # untouched
    kit = tmp_path / "kit"
    for _ in range(2):  # the second build replaces the first
        done = subprocess.run([*command, "--out", str(kit)], cwd=tmp_path, env=offline_env(), capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in kit.iterdir()) == ["imdb", "kit.json", "model", "run.sh"]
    # a model it cannot copy: exit 2 with the reason, and no half-built kit left behind
    bin_only = tmp_path / "bin-only"
    bin_only.mkdir()
    (bin_only / "config.json").write_text((tiny_model / "config.json").read_text())
    failed = subprocess.run([*command[:2], "--model_name", str(bin_only), *command[4:], "--out", str(tmp_path / "new")],
                            cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=300)
    assert failed.returncode == 2 and "has no model.safetensors" in failed.stderr, failed.stderr[-2000:]
    assert not (tmp_path / "new").exists()


def test_cpu_processes_runs_main_py_both_ways_on_the_same_effective_batch(tiny_model, tiny_data, tmp_path):
    results = tmp_path / "cpu_processes.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "cpu_processes.py"), "--model_name",
                           str(tiny_model), "--dataset", str(tiny_data), "--train_samples", "32", "--eval_samples",
                           "20", "--max_length", "32", "--batch_size", "4", "--processes", "2", "--rounds", "1",
                           "--results", str(results)],
                          cwd=tmp_path, env=offline_env(TMPDIR=str(tmp_path)), capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    modes = record["modes"]
    assert list(modes) == ["threads", "processes"]
    # main.py's own training records: one process, then two data-parallel processes of 2 reviews each
    assert [modes[m]["rounds"][0]["processes"] for m in modes] == [1, 2]
    assert [modes[m]["batch_size_per_process"] for m in modes] == [4, 2]
    assert [modes[m]["threads_per_process"] for m in modes] == [2, 1]
    for figures in modes.values():
        run = figures["rounds"][0]
        assert run["train_ms_per_example"] > 0 and run["eval_ms_per_example"] > 0 and 0 <= run["accuracy"] <= 1
    for task in ("train", "eval"):
        ratio = modes["processes"]["rounds"][0][f"{task}_ms_per_example"] / modes["threads"]["rounds"][0][
            f"{task}_ms_per_example"]
        assert record["processes_vs_threads"][task]["by_round"] == [round(ratio, 3)]
    assert "2 processes x 1 thread" in proc.stdout
    assert not any(tmp_path.glob("cpu_processes_*"))  # the runs' models are removed (TMPDIR is tmp_path)


def test_cpu_processes_rejects_a_batch_that_does_not_split(tmp_path):
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "cpu_processes.py"), "--batch_size", "5",
                           "--processes", "2", "--results", str(tmp_path / "r.json")],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "does not split" in proc.stderr and not (tmp_path / "r.json").exists()


