"""The benchmarks on a tiny model: every setting measured, same predictions, figures written."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import PROJECT_DIR, offline_env
from pipeline.errors import UsageError
from pipeline.memory import glibc
from pipeline.precision import cpu_has_native_bf16


def test_eval_settings_measures_every_setting_on_the_same_reviews(tiny_model, tiny_data, tmp_path):
    results = tmp_path / "eval_settings.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "eval_settings.py"), "--model_dir",
                           str(tiny_model), "--dataset", str(tiny_data), "--samples", "40", "--max_length", "32",
                           "--batch_sizes", "4", "16", "--threads", "1", "2", "--repeats", "2",
                           "--mixed_precision", "no", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    settings = {(s["eval_batch_size"], s["threads"]): s for s in record["settings"]}
    assert set(settings) == {(4, 2), (16, 2), (32, 1), (32, 2)}  # sizes at the most threads; threads at size 32
    for s in settings.values():
        assert len(s["rounds"]) == 2 and s["median_ms_per_review"] > 0
        assert s["agreement_with_first"] == 1.0  # fp32: batching and threads do not change a prediction
        assert 0 <= s["accuracy"] <= 1 and s["bf16_weights"] is False
    assert len({s["accuracy"] for s in settings.values()}) == 1
    assert record["reviews"] == 40 and record["mixed_precision"] == "no" and record["provenance"]["git_commit"]
    assert "ms/review" in proc.stdout


def test_eval_settings_compares_autocast_with_bf16_weights(tiny_model, tiny_data, tmp_path):
    results = tmp_path / "bf16_full_eval.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "eval_settings.py"), "--model_dir",
                           str(tiny_model), "--dataset", str(tiny_data), "--samples", "40", "--max_length", "32",
                           "--batch_sizes", "32", "--threads", "2", "--repeats", "1", "--mixed_precision", "bf16",
                           "--bf16_full_eval", "no", "auto", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    assert [(s["bf16_full_eval"], s["bf16_weights"]) for s in record["settings"]] == [("no", False), ("auto", True)]
    autocast, full = record["settings"]
    assert autocast["agreement_with_first"] == 1.0 and 0 <= full["agreement_with_first"] <= 1
    assert record["mixed_precision"] == "bf16" and "--bf16_full_eval auto" in proc.stdout


def test_eval_settings_compares_eager_and_compiled_forward_passes(tiny_model, tiny_data, tmp_path):
    results = tmp_path / "torch_compile.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "eval_settings.py"), "--model_dir",
                           str(tiny_model), "--dataset", str(tiny_data), "--samples", "40", "--max_length", "32",
                           "--batch_sizes", "32", "--threads", "2", "--repeats", "1", "--mixed_precision", "no",
                           "--torch_compile", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    compiled = json.loads(results.read_text())["torch_compile"]
    for path in ("eager", "compiled"):
        assert len(compiled[path]["rounds_ms_per_review"]) == 2 and compiled[path]["median_ms_per_review"] > 0
    assert compiled["agreement"] == 1.0  # fp32: compiling does not change a prediction
    assert compiled["compile_seconds_with_first_pass"] > 0 and compiled["speedup"] > 0
    assert "torch.compile" in proc.stdout


def test_eval_settings_rejects_non_positive_sizes(tmp_path):
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "eval_settings.py"), "--batch_sizes",
                           "0", "--model_dir", "x"], cwd=tmp_path, env=offline_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "must be positive" in proc.stderr


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


def test_cpu_alternatives_times_attention_compile_and_dropout_against_the_defaults(tiny_model, tmp_path):
    results = tmp_path / "cpu_alternatives.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "cpu_alternatives.py"), "--model_name",
                           str(tiny_model), "--lengths", "12", "16", "--rounds", "2", "--batch_size", "4",
                           "--eval_batch_size", "4", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    for part in (record["attention"]["evaluation"], record["attention"]["training"], record["torch_compile"],
                 record["dropout"]):
        assert len(part["loadavg_1min_per_round"]) == 2
        for figures in part["variants"].values():
            assert len(figures["all_rounds"]) == 2 and figures["ms_per_example"] > 0
            assert abs(figures["ms_per_example"] - statistics.median(figures["all_rounds"])) <= 0.01
            assert len(figures["ratio_to_default_by_round"]) == 2 and figures["ratio_to_default"] > 0
        assert next(iter(part["variants"].values()))["ratio_to_default_by_round"] == [1, 1]
    # the unfused forms compute the same attention as the fused kernel (to bf16 rounding)
    for mode in ("evaluation", "training"):
        differences = [f["max_abs_difference_from_fused"] for f in record["attention"][mode]["variants"].values()]
        assert differences[0] == 0 and max(differences) < 0.05
    assert len(record["attention"]["training"]["variants"]) == 5
    compiled = record["torch_compile"]["variants"]["torch.compile(dynamic=True)"]
    assert set(compiled["first_call_seconds_by_length"]) == {"12", "16"}
    # the tiny DistilBERT's dropouts (0.1 after its embeddings and in its layers, 0.2 before its classifier)
    assert record["dropout"]["dropout_modules"] == 4 and record["dropout"]["rates"] == [0.1, 0.2]
    assert abs(record["dropout"]["threshold_mask_drop_rate_at_0.1_of_1e6"] - 0.1) < 0.002
    assert abs(record["dropout"]["threshold_mask_mean_at_0.1_of_1e6"] - 1) < 0.005
    assert "torch.compile" in proc.stdout and "16-bit threshold mask" in proc.stdout


def test_threshold_dropout_drops_at_its_rate_and_keeps_the_expectation():
    sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))
    from cpu_alternatives import threshold_dropout

    torch.manual_seed(0)
    for p in (0.1, 0.5):
        out = threshold_dropout(torch.ones(400_000), p)
        assert abs((out == 0).float().mean().item() - p) < 0.005
        assert out.unique().tolist() == [0.0, torch.tensor(65536 / (65536 - round(p * 65536))).item()]
    x = torch.randn(3, 5, 7, dtype=torch.bfloat16)
    out = threshold_dropout(x, 0.1)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out[out != 0], (x * (65536 / (65536 - 6554)))[out != 0])


def test_cpu_alternatives_rejects_bad_sizes(tmp_path):
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "cpu_alternatives.py"), "--rounds", "0"],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--rounds" in proc.stderr


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
    # gpu_attention.py reads the same kit: every way in its own process, both passes, the kit's commit beside them
    attention = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "gpu_attention.py"), "--kit",
                                str(kit), "--samples", "12", "--train_batches", "2", "--results",
                                str(out / "attention.json")], cwd=tmp_path, env=offline_env(), capture_output=True,
                               text=True, timeout=600)
    assert attention.returncode == 0, attention.stderr[-3000:]
    record = json.loads((out / "attention.json").read_text())
    assert [way["way"]["prec"] for way in record["ways"]] == [
        "fp32", "tf32", "autocast", "autocast", "autocast", "autocast", "bf16full", "bf16full"]
    for way in record["ways"]:
        assert way["eval_pass1_ms_per_review"] > 0 and way["eval_pass2_ms_per_review"] > 0
        assert ("train_pass1_ms_per_step" in way) == (way["way"]["prec"] != "bf16full")
    assert record["kit_made_at"]["commit"] == git_commit() and record["provenance"]["cudnn_attention"] is None


def test_device_kit_rejects_bad_sizes(tmp_path):
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "device_kit.py"), "--rounds", "0",
                           "--no_wheels", "--out", str(tmp_path / "kit")],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--rounds" in proc.stderr and not (tmp_path / "kit").exists()
    no_kit = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "gpu_attention.py"), "--kit",
                             str(tmp_path), "--results", str(tmp_path / "attention.json")],
                            cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=120)
    assert no_kit.returncode == 2 and "is not a kit: make one with" in no_kit.stderr
    assert not (tmp_path / "attention.json").exists()


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


def test_page_faults_runs_both_ways_in_turns_in_their_own_processes(tiny_model, tiny_data, tmp_path):
    results = tmp_path / "page_faults.json"
    proc = subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "page_faults.py"), "--model_name",
                           str(tiny_model), "--dataset", str(tiny_data), "--max_length", "48", "--train_samples", "24",
                           "--eval_samples", "40", "--rounds", "3", "--threads", "1", "--results", str(results)],
                          cwd=tmp_path, env=offline_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads(results.read_text())
    assert list(record["tasks"]) == ["evaluation", "training"]
    for figures in record["tasks"].values():
        ways = figures["ways"]
        assert [len(ways[w]["passes"]) for w in ("default", "kept")] == [3, 3]
        ratios = [k["ms_per_review"] / d["ms_per_review"] for d, k in zip(ways["default"]["passes"],
                                                                          ways["kept"]["passes"])]
        assert figures["kept_vs_default"]["by_round"] == [round(r, 3) for r in ratios]
        reviews = figures["reviews_per_pass"]
        for way in ways.values():  # (a tiny model's tensors are too small to be mapped: tests/test_memory.py)
            assert way["minor_page_faults_per_review"] == round(statistics.median(
                p["minor_page_faults"] for p in way["passes"]) / reviews)
    assert [record["tasks"][t]["reviews_per_pass"] for t in ("evaluation", "training")] == [40, 24]
    assert "kept takes x" in proc.stdout


def project_copy(tmp_path) -> Path:
    """What scripts/train.sbatch needs of this project, in a folder of its own (the batch file writes its out/)."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("main.py", "utils.py"):
        shutil.copy(PROJECT_DIR / name, copy / name)
    for name in ("pipeline", "scripts", "resources"):
        shutil.copytree(PROJECT_DIR / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def run_full_assignment(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT_DIR / "benchmarks" / "full_assignment.py"), *map(str, args)],
                          cwd=cwd, env=offline_env(), capture_output=True, text=True, timeout=900)


def test_full_assignment_times_every_step_of_the_batch_file(tiny_model, tiny_data, tmp_path):
    project, results = project_copy(tmp_path), tmp_path / "results" / "summary.json"
    run_options = ("--project", project, "--model_name", tiny_model, "--dataset", tiny_data, "--main_args",
                   "--num_epochs 1 --max_train_samples 20 --max_eval_samples 12 --max_length 32 --batch_size 4")
    proc = run_full_assignment(*run_options, "--results", results, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:] + (project / "full_assignment_stderr.log").read_text()[-3000:]
    summary = json.loads(results.read_text())
    steps = summary["steps"]
    assert summary["finished_steps"] == list(steps) == ["preflight", "train", "eval", "eval_transformed",
                                                        "train_augmented", "eval_augmented"]
    assert all(step["finished"] and step["wall_seconds"] > 0 for step in steps.values())
    # main.py's own records: 20 reviews, then 20 + 4 transformed (1/5); every evaluation on the 12 test reviews
    assert [steps[s]["training"]["examples"] for s in ("train", "train_augmented")] == [20, 24]
    evaluations = {**steps["eval"]["evaluations"], **steps["eval_transformed"]["evaluations"],
                   **steps["eval_augmented"]["evaluations"]}
    assert list(evaluations) == ["out_original", "out_transformed", "out_augmented_original",
                                 "out_augmented_transformed"]
    assert all(e["examples"] == 12 and 0 <= e["accuracy"] <= 1 for e in evaluations.values())
    for name in ("train", "train_augmented"):  # a step's loop is part of its wall-clock time
        assert steps[name]["training"]["train_seconds"] < steps[name]["wall_seconds"]
    minutes = summary["minutes"]
    assert minutes["total"] == minutes["measured_steps"] == round(sum(s["wall_seconds"] for s in steps.values()) / 60,
                                                                  1)
    assert summary["estimate_of_unfinished_steps_seconds"] is None
    copied = sorted(p.name for p in (results.parent / "records").iterdir())
    assert copied == ["full_assignment_log.txt", "out__out_augmented_original.json", "out__out_augmented_transformed.json",
                      "out__out_original.json", "out__out_transformed.json", "out__training_info.json",
                      "out_augmented__training_info.json"]
    log = (project / "full_assignment_log.txt").read_text().splitlines()
    assert log[0].startswith("start ") and log[-1].startswith("end ") and "| == train: python main.py --train" in \
        "\n".join(log)
    # the same figures again from the log and records, without running anything
    again = run_full_assignment(*run_options, "--results", tmp_path / "again.json", "--summarize", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((tmp_path / "again.json").read_text())["steps"] == steps
    # the same run as if stopped while training the augmented model: its last two steps estimated from the first
    lines = log[:next(i for i, line in enumerate(log) if "| == train_augmented:" in line) + 1]
    (project / "full_assignment_log.txt").write_text("\n".join(
        [*lines, f"{lines[-1].split(' | ')[0]} | == train_augmented failed (exit 143)", log[-1]]) + "\n")
    stopped = run_full_assignment("--project", project, "--results", tmp_path / "stopped.json", "--summarize",
                                  cwd=tmp_path)
    assert stopped.returncode == 0, stopped.stderr[-3000:]
    summary = json.loads((tmp_path / "stopped.json").read_text())
    assert summary["finished_steps"] == ["preflight", "train", "eval", "eval_transformed"]
    estimate, minutes = summary["estimate_of_unfinished_steps_seconds"], summary["minutes"]
    assert estimate["train_augmented"] == round(steps["train"]["wall_seconds"] * 1.2, 2)
    assert estimate["eval_augmented"] == round(steps["eval"]["wall_seconds"] + steps["eval_transformed"]["wall_seconds"],
                                               2)
    measured = sum(steps[s]["wall_seconds"] for s in summary["finished_steps"])
    assert minutes["measured_steps"] == round(measured / 60, 1) and "total" not in minutes
    assert minutes["estimated_total"] == round((measured + estimate["train_augmented"] + estimate["eval_augmented"])
                                               / 60, 1)


def test_full_assignment_never_runs_where_it_would_replace_a_model_or_the_committed_results(tiny_model, tmp_path):
    results = tmp_path / "summary.json"
    proc = run_full_assignment("--project", PROJECT_DIR, "--results", results, cwd=tmp_path)
    assert proc.returncode == 2 and "is this checkout" in proc.stderr, proc.stderr[-2000:]
    project = project_copy(tmp_path)
    shutil.copytree(tiny_model, project / "out_augmented")
    before = sorted(p.name for p in (project / "out_augmented").iterdir())
    proc = run_full_assignment("--project", project, "--results", results, cwd=tmp_path)
    assert proc.returncode == 2 and "holds a trained model in out_augmented/" in proc.stderr, proc.stderr[-2000:]
    assert sorted(p.name for p in (project / "out_augmented").iterdir()) == before
    proc = run_full_assignment("--project", tmp_path / "elsewhere", "--results", results, cwd=tmp_path)
    assert proc.returncode == 2 and "is not a checkout of this project" in proc.stderr, proc.stderr[-2000:]
    proc = run_full_assignment("--project", project, "--results", results, "--summarize", cwd=tmp_path)
    assert proc.returncode == 2 and "run without --summarize first" in proc.stderr, proc.stderr[-2000:]
    assert not results.exists() and not (project / "full_assignment_log.txt").exists()


# A run stopped while training the augmented model (its process killed): the batch file says the step failed.
STOPPED_LOG = """start 2026-11-27 15:25:12.428827334 load 1.62 1.13 1.04 1/78 1809
2026-11-27 15:25:12.456167424 | == preflight
2026-11-27 15:25:19.716989698 | preflight: ok, everything this command needs is in place
2026-11-27 15:25:20.800401611 | == train: python main.py --train --checkpoint_every 500
2026-11-27 16:10:20.900401611 | == eval: python main.py --eval
2026-11-27 16:20:00.000000000 | == eval_transformed: python main.py --eval_transformed
2026-11-27 16:31:00.500000000 | == train_augmented: python main.py --train_augmented --checkpoint_every 500
2026-11-27 16:40:00.500000000 | == train_augmented failed (exit 143)
end 2026-11-27 16:40:00.600000000 load 2.01 1.99 1.80 1/80 2000
"""


def test_full_assignment_reads_a_stopped_run_and_estimates_its_last_steps_from_the_same_work_done():
    sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))
    from full_assignment import parse_log, second_half_estimate

    run = parse_log(STOPPED_LOG)
    assert run["load_average_start"] == [1.62, 1.13, 1.04] and run["load_average_end"] == [2.01, 1.99, 1.8]
    steps = run["steps"]
    assert {name: (s["wall_seconds"], s["finished"]) for name, s in steps.items()} == {
        "preflight": (8.34, True), "train": (2700.1, True), "eval": (579.1, True), "eval_transformed": (660.5, True),
        "train_augmented": (540.0, False)}
    steps["train"]["training"] = {"examples": 25000}
    # --train_augmented trains on 25,000 + 5,000 reviews; --eval --eval_transformed repeats the two evaluations
    assert second_half_estimate(steps) == {"train_augmented": round(2700.1 * 1.2, 2),
                                           "eval_augmented": round(579.1 + 660.5, 2),
                                           "train_augmented_share_of_train": 1.2}
    del steps["eval_transformed"]
    assert second_half_estimate(steps) is None
    with pytest.raises(UsageError, match="still going"):
        parse_log(STOPPED_LOG.rsplit("end ", 1)[0])
