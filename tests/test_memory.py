"""Keeping freed memory: glibc keeps freed blocks for reuse on CPU runs (pipeline/memory.py): no page faults per
batch, the same predictions."""

from __future__ import annotations

import json
import subprocess
import sys

import main
from conftest import PROJECT_DIR, offline_env, run_main_with
from pipeline import memory
from pipeline.results import read_predictions

# Allocates, writes and frees a 64 MB tensor 20 times, before and after keep_freed_memory(); prints the minor page
# faults of each phase and whether the call took effect.
FAULTS = f"""
import resource, sys
sys.path.insert(0, {str(PROJECT_DIR)!r})
import torch
from pipeline.memory import keep_freed_memory

def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        torch.empty(16 * 1024 * 1024).fill_(1.0)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

default = faults()
kept = keep_freed_memory()
faults()  # the first allocation after the call still maps its pages once
print(default, kept, faults())
"""


def test_keep_freed_memory_choices():
    assert memory.resolve_keep_freed_memory("auto", "cpu") is True
    assert memory.resolve_keep_freed_memory("auto", "cuda") is False  # the GPU has its own caching allocator
    assert memory.resolve_keep_freed_memory("no", "cpu") is False
    assert main.parse_args(["--eval"]).keep_freed_memory == "auto"  # main.py keeps it on a CPU, no flag


def test_kept_memory_is_reused_without_page_faults():
    proc = subprocess.run([sys.executable, "-c", FAULTS], env=offline_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    default, kept, after = proc.stdout.split()
    default, after = int(default), int(after)
    if not memory.glibc():  # another C library keeps its own policy, and the call says it did nothing
        assert kept == "False"
        return
    assert kept == "True"
    # glibc's default maps a fresh 64 MB (16,384 pages) for each allocation: a page fault per 4 KiB page written
    assert default >= 20 * 16384 * 0.9, default
    assert after < default / 100, (default, after)


def test_evaluation_predicts_the_same_and_records_the_setting(tiny_model, tiny_data, tmp_path):
    model_dir = tmp_path / "model"
    common = ["--dataset", tiny_data, "--max_length", "48", "--mixed_precision", "no"]
    trained = run_main_with({"keep_freed_memory": "no"}, ["--train", "--model_name", tiny_model, "--model_dir", model_dir,
                                                          *common, "--num_epochs", "1", "--learning_rate", "2e-3",
                                                          "--batch_size", "16"], cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    info = json.loads((model_dir / "training_info.json").read_text())
    assert info["provenance"]["malloc_keeps_freed_memory"] is False
    records = {}
    out = tmp_path / "out"  # prediction files: the out/ beside the model
    for choice in ("no", "auto"):
        done = run_main_with({"keep_freed_memory": choice}, ["--eval", "--model_dir", model_dir, *common], cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        records[choice] = (json.loads((out / "model_original.json").read_text()),
                           read_predictions(out / "model_original.txt"))
    assert records["no"][0]["provenance"]["malloc_keeps_freed_memory"] is False
    assert records["auto"][0]["provenance"]["malloc_keeps_freed_memory"] is memory.glibc()
    assert records["auto"][1] == records["no"][1]  # the same computation: identical predictions
