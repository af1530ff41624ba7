"""Training and evaluation throughput of three paths on the same reviews and initial weights, against the limit.

- ``starter``: the starter's way: every review padded to --max_length, random batches, fp32, the model's dropout,
  torch's default AdamW.
- ``fp32``: this project's data path before issue 10: truncation only, length-grouped training batches and
  length-sorted evaluation padded per batch, still fp32 with the model's own dropout and torch's default AdamW.
- ``default``: today's CLI defaults (``--mixed_precision auto --attention_dropout auto --fused_adamw auto
  --bf16_full_eval auto --keep_freed_memory auto``): on a CPU with native bf16, bf16 autocast (training attention
  in fp32), no attention-probability dropout, the fused AdamW kernel, and evaluation with bf16 weights (see
  pipeline/precision.py); on a CPU, glibc keeps freed memory for reuse (pipeline/memory.py).

Each path runs main.do_train (one epoch) and main.do_eval in its own process (Accelerate's mixed precision is fixed
per process), from the same seed, so the same initial classifier head. The same model (the starter-trained one) is
also evaluated by the fp32 and default evaluation paths: the fp32 path must predict identically, the bf16 path's
agreement is reported. The limit: FLOPs of the reviews' real tokens (no padding) divided by the GEMM rate this
CPU (or the GPU the paths ran on) reaches on the model's own matrix shapes (benchmarks/README.md explains the
estimate). With --rounds N the paths take turns N times and each figure is the median of its rounds (a shared
machine's speed changes over minutes). Figures go to --results.

    python benchmarks/throughput.py --rounds 3             # MiniLM stand-in, 512 tokens, 256 train / 512 test
    python benchmarks/throughput.py --model_name distilbert-base-uncased --dataset imdb   # on a GPU node
    bash .device/run.sh              # on an offline GPU machine without datasets: see benchmarks/device_kit.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import datasets  # noqa: E402
import torch  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

import main  # noqa: E402
from pipeline import augmentation, runtime  # noqa: E402
from pipeline.batching import Collator, eval_dataloader, train_dataloader  # noqa: E402
from pipeline.data import (  # noqa: E402
    SHARED_DATA, load_imdb, load_pretrained, project_path, require_writable, stand_in_model, subset)
from pipeline.memory import keep_freed_memory_if, minor_page_faults  # noqa: E402
from pipeline.precision import cpu_has_native_bf16, cudnn_attention_enabled  # noqa: E402
from pipeline.results import provenance, read_predictions, write_json  # noqa: E402

class Recipe(NamedTuple):
    """A path's data path (``starter`` or ``ours``) and the main.py flags it runs with."""
    data: str
    mixed_precision: str
    attention_dropout: str
    fused_adamw: str
    bf16_full_eval: str
    keep_freed_memory: str


PATHS = {
    "starter": Recipe("starter", "no", "model", "no", "no", "no"),
    "fp32": Recipe("ours", "no", "model", "no", "no", "no"),
    "default": Recipe("ours", "auto", "auto", "auto", "auto", "auto"),
}


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model(),
                        help="model to fine-tune (default: the all-MiniLM-L6-v2 stand-in if installed)")
    parser.add_argument("--dataset", default=str(SHARED_DATA / "imdb"),
                        help="hub name or local folder with train/test parquet files")
    parser.add_argument("--max_length", type=int, default=512, help="truncation length (the starter pads to it)")
    # Length grouping needs enough reviews to find similar lengths: transformers' rule makes mega-batches of
    # min(50, n / (4 x batch)) batches, so 64 reviews group in 16s, far coarser than the 400s of a 25k-review run.
    parser.add_argument("--train_samples", type=int, default=256, help="training reviews (one epoch)")
    parser.add_argument("--eval_samples", type=int, default=512, help="test reviews")
    parser.add_argument("--batch_size", type=int, default=8, help="training batch size (the starter's default)")
    parser.add_argument("--eval_batch_size", type=int, default=32, help="evaluation batch size")
    parser.add_argument("--seed", type=int, default=42, help="seed for subsets, initialisation and batch order")
    parser.add_argument("--paths", nargs="+", choices=list(PATHS), default=list(PATHS), help="paths to run")
    parser.add_argument("--rounds", type=int, default=1,
                        help="times each path runs, the paths taking turns; figures are the medians (a shared "
                             "machine's speed changes over minutes: 3 rounds for figures to commit)")
    parser.add_argument("--results", default="benchmarks/results/throughput.json",
                        help="where the JSON figures go (relative: to the project folder)")
    parser.add_argument("--one_path", default=None, help=argparse.SUPPRESS)  # internal: run one path, print JSON
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if min(options.rounds, options.train_samples, options.eval_samples, options.batch_size) <= 0:
        parser.error("--rounds, sample counts and batch sizes must be positive")
    return options


def train_config(args, path: str) -> main.TrainConfig:
    return main.TrainConfig(model_name=args.model_name, dataset=args.dataset, max_length=args.max_length,
                            batch_size=args.batch_size, num_epochs=1, seed=args.seed,
                            attention_dropout=PATHS[path].attention_dropout, fused_adamw=PATHS[path].fused_adamw)


def starter_dataloaders(train, test, tokenizer, args):
    """Padding to max_length at tokenization, shuffled batches, no sorting (the starter's DataLoaders)."""
    collator = Collator(tokenizer, padding="max_length", max_length=args.max_length)
    generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(train, batch_size=args.batch_size, shuffle=True, collate_fn=collator,
                              generator=generator)
    test_loader = DataLoader(test, batch_size=args.eval_batch_size, collate_fn=collator)
    return train_loader, test_loader


def tokenized_data(args):
    """Tokenizer, tokenized training and test subsets, and the tokenization time per review (ms)."""
    data = load_imdb(args.dataset)
    tokenizer, _ = load_pretrained(args.model_name, max_length=args.max_length)
    train, test = subset(data["train"], args.train_samples, args.seed), subset(data["test"], args.eval_samples, args.seed)
    datasets.disable_caching()  # time the tokenization, not a read of an earlier run's cached result
    start = time.perf_counter()
    train = main.tokenize(train, tokenizer, args.max_length)
    test = main.tokenize(test, tokenizer, args.max_length, with_idx=True)
    return tokenizer, train, test, 1000 * (time.perf_counter() - start) / (len(train) + len(test))


def run_one_path(args) -> dict:
    """One path in this process: train from the seeded initial weights, evaluate; cross-evaluate the starter model."""
    path, work = args.one_path, Path(args.work)
    config = train_config(args, path)
    tokenizer, train, test, _ = tokenized_data(args)
    recipe = PATHS[path]
    accelerator = runtime.make_accelerator(recipe.mixed_precision)
    kept = keep_freed_memory_if(recipe.keep_freed_memory, accelerator.device.type)
    if recipe.data == "starter":
        train_loader, test_loader = starter_dataloaders(train, test, tokenizer, args)
    else:
        on_cuda = accelerator.device.type == "cuda"  # main.py's device settings: pinned memory, async copies
        train_loader = train_dataloader(train, tokenizer, args.batch_size, args.seed, on_cuda)
        test_loader = eval_dataloader(test, tokenizer, args.eval_batch_size, on_cuda)
    torch.manual_seed(args.seed)  # identical initial classifier head for every path
    _, model = main.load_model(config, accelerator)
    load = os.getloadavg()
    data = augmentation.TrainingSet(train_loader.dataset).record()
    faults = minor_page_faults()
    info = main.do_train(config, model, train_loader, data, work / path, accelerator, tokenizer)
    train_faults, faults = minor_page_faults() - faults, minor_page_faults()
    score = main.do_eval(test_loader, str(work / path), work / f"{path}.txt", accelerator, recipe.bf16_full_eval)
    eval_faults = minor_page_faults() - faults
    result = {
        "mixed_precision": info["mixed_precision"],
        "attention_dropout": info["attention_dropout_value"],
        "fp32_attention": info["fp32_attention"],
        "fused_adamw": info["fused_adamw_used"],
        "bf16_full_eval": score["bf16_full_eval"],
        "keep_freed_memory": kept,
        "cudnn_attention": cudnn_attention_enabled(accelerator.device.type),  # this path's process (None off CUDA)
        "train_ms_per_example": round(1000 / info["train_examples_per_second"], 1),
        "eval_ms_per_example": round(1000 / score["eval_examples_per_second"], 2),
        "train_seconds": info["train_seconds"],
        "eval_seconds": score["eval_seconds"],
        # this process's minor page faults (getrusage) while training (saving included) and evaluating (loading
        # included), per review
        "train_page_faults_per_example": round(train_faults / len(train_loader.dataset)),
        "eval_page_faults_per_example": round(eval_faults / len(test_loader.dataset)),
        "accuracy": score["accuracy"],
        "loadavg_before": [round(x, 2) for x in load],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    if path != "starter" and (work / "starter").is_dir():
        main.do_eval(test_loader, str(work / "starter"), work / f"starter_by_{path}.txt", accelerator,
                     recipe.bf16_full_eval)
        mine, _ = read_predictions(work / f"starter_by_{path}.txt")
        theirs, _ = read_predictions(work / "starter.txt")
        result["starter_model_agreement"] = sum(a == b for a, b in zip(mine, theirs)) / len(theirs)
    return result


# ----------------------------------------------------------------------------------------------------------------
# The limit: FLOPs / the GEMM rate this device (CPU, or the GPU the paths ran on) reaches
# ----------------------------------------------------------------------------------------------------------------

def encoder_shape(config) -> tuple[int, int, int]:
    """(hidden size, feed-forward size, layers) of a BERT-family or DistilBERT configuration."""
    hidden = getattr(config, "hidden_size", None) or config.dim
    ffn = getattr(config, "intermediate_size", None) or config.hidden_dim
    layers = getattr(config, "num_hidden_layers", None) or config.n_layers
    return hidden, ffn, layers


def forward_flops(config, tokens: int) -> float:
    """Multiply-adds x 2 of one review's forward pass: the encoder's linear layers and the two attention products."""
    hidden, ffn, layers = encoder_shape(config)
    linear = 2 * tokens * (4 * hidden * hidden + 2 * hidden * ffn)
    attention = 2 * 2 * tokens * tokens * hidden  # Q K^T and P V
    return layers * (linear + attention)


def gemm_rate(dtype: torch.dtype, hidden: int, ffn: int, device: torch.device, tokens: int = 4096,
              repeats: int = 7) -> float:
    """FLOP/s of ``device`` on the model's largest matrix product (tokens x hidden @ hidden x ffn), median of
    repeats."""
    a = torch.randn(tokens, hidden, dtype=dtype, device=device)
    b = torch.randn(hidden, ffn, dtype=dtype, device=device)
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)  # GPU kernels run async
    a @ b
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(5):
            a @ b
        synchronize()
        times.append((time.perf_counter() - start) / 5)
    return 2 * tokens * hidden * ffn / statistics.median(times)


def benchmark_device() -> torch.device:
    """Where the paths run: Accelerate takes the GPU when there is one."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def limit_estimate(args, train_lengths: list[int], test_lengths: list[int]) -> dict:
    from transformers import AutoConfig

    from pipeline.data import resolve_model

    config = AutoConfig.from_pretrained(resolve_model(args.model_name))
    hidden, ffn, _ = encoder_shape(config)
    train_flops = statistics.mean(3 * forward_flops(config, n) for n in train_lengths)  # forward + 2x backward
    eval_flops = statistics.mean(forward_flops(config, n) for n in test_lengths)
    device = benchmark_device()
    rates = {name: gemm_rate(dtype, hidden, ffn, device) for name, dtype in (("bf16", torch.bfloat16),
                                                                             ("fp32", torch.float32))}
    return {
        "train_gflop_per_review": round(train_flops / 1e9, 2),
        "eval_gflop_per_review": round(eval_flops / 1e9, 2),
        "gemm_tflops": {k: round(v / 1e12, 3) for k, v in rates.items()},
        # the limit is the faster precision's: bf16 on AMX or a GPU, fp32 where bf16 is emulated (AVX2 only: ~100x
        # slower)
        "fastest": max(rates, key=rates.get),
        "threads": torch.get_num_threads(),
        # three significant figures: a tiny test model's limit is a fraction of a millisecond, not 0
        "train_limit_ms_per_example": {k: float(f"{1000 * train_flops / v:.3g}") for k, v in rates.items()},
        "eval_limit_ms_per_example": {k: float(f"{1000 * eval_flops / v:.3g}") for k, v in rates.items()},
    }


# The full assignment (25k train / 25k test, 1 epoch): --train --eval; --eval_transformed;
# --train_augmented --eval_transformed; --eval --model_dir out_augmented.
ASSIGNMENT = {"trained": 25_000 + 30_000, "evaluated": 4 * 25_000, "tokenized": 55_000 + 4 * 25_000,
              "transformed": 25_000 + 5_000 + 25_000}


def assignment_estimate(figures: dict, tokenize_ms: float) -> dict:
    """Minutes of the full assignment from measured per-review rates (transformations: benchmarks/transforms.py)."""
    transforms = PROJECT_DIR / "benchmarks" / "results" / "transforms.json"
    transform_ms = None
    if transforms.is_file():
        full = json.loads(transforms.read_text())["full_test_set"]
        transform_ms = 1000 * full["seconds"] / full["reviews"]
    parts = {
        "training": ASSIGNMENT["trained"] * figures["train_ms_per_example"],
        "evaluation": ASSIGNMENT["evaluated"] * figures["eval_ms_per_example"],
        "tokenization": ASSIGNMENT["tokenized"] * tokenize_ms,
        "transformations": ASSIGNMENT["transformed"] * (transform_ms or 0.0),
    }
    return {"reviews": ASSIGNMENT, "minutes": {k: round(v / 60_000, 1) for k, v in parts.items()},
            "total_minutes": round(sum(parts.values()) / 60_000, 1),
            "tokenize_ms_per_review": round(tokenize_ms, 2), "transform_ms_per_review": transform_ms}


def median_figures(rounds: list[dict]) -> dict:
    """One path's figures over the rounds: the median ms/example (and seconds, and page faults), the first round's
    other fields, and every round's record."""
    measured = ("train_ms_per_example", "eval_ms_per_example", "train_seconds", "eval_seconds",
                "train_page_faults_per_example", "eval_page_faults_per_example")
    return {**rounds[0], **{key: statistics.median(r[key] for r in rounds) for key in measured}, "rounds": rounds}


def main_benchmark(argv=None) -> dict:
    args = parse_options(argv)
    if args.one_path:
        print("RESULT " + json.dumps(run_one_path(args)))
        return {}
    require_writable(project_path(args.results).parent, "--results")
    _, train, test, tokenize_ms = tokenized_data(args)
    rounds = {path: [] for path in args.paths}
    env = {**os.environ, "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1")}
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(args.rounds):  # the paths take turns, so a change in the machine's speed hits all
            work = Path(tmp) / f"round{round_index}"
            for path in args.paths:
                command = [sys.executable, __file__, *(argv if argv is not None else sys.argv[1:]),
                           "--one_path", path, "--work", str(work)]
                done = subprocess.run(command, env=env, capture_output=True, text=True)
                lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
                if done.returncode != 0 or not lines:
                    raise RuntimeError(f"path {path} failed:\n{done.stderr[-3000:]}")
                figures = json.loads(lines[-1][len("RESULT "):])
                rounds[path].append(figures)
                print(f"round {round_index + 1}, {path}: train {figures['train_ms_per_example']} ms/example, eval "
                      f"{figures['eval_ms_per_example']} ms/example, accuracy {figures['accuracy']:.4f}", flush=True)
    paths = {path: median_figures(figures) for path, figures in rounds.items()}
    limit = limit_estimate(args, train["length"], test["length"])
    base = paths.get("starter")
    fastest = limit["fastest"]
    ratios = {}
    for name, figures in paths.items():
        ratios[name] = {
            "train_vs_starter": round(base["train_ms_per_example"] / figures["train_ms_per_example"], 2) if base else None,
            "eval_vs_starter": round(base["eval_ms_per_example"] / figures["eval_ms_per_example"], 2) if base else None,
            # each round's ratio: the spread the machine's changing speed gives
            "train_vs_starter_by_round": [round(b["train_ms_per_example"] / f["train_ms_per_example"], 2)
                                          for b, f in zip(rounds["starter"], rounds[name])] if base else None,
            "eval_vs_starter_by_round": [round(b["eval_ms_per_example"] / f["eval_ms_per_example"], 2)
                                         for b, f in zip(rounds["starter"], rounds[name])] if base else None,
            "train_vs_limit": round(figures["train_ms_per_example"] / limit["train_limit_ms_per_example"][fastest], 1),
            "eval_vs_limit": round(figures["eval_ms_per_example"] / limit["eval_limit_ms_per_example"][fastest], 1),
        }
    result = {
        "model_name": args.model_name,
        "dataset": args.dataset,
        "max_length": args.max_length,
        "train_samples": args.train_samples,
        "eval_samples": args.eval_samples,
        "batch_size": args.batch_size,
        "eval_batch_size": args.eval_batch_size,
        "mean_train_tokens": round(statistics.mean(train["length"]), 1),
        "mean_test_tokens": round(statistics.mean(test["length"]), 1),
        "paths": {name: {"data": PATHS[name].data,
                         **{f"{flag}_flag": value for flag, value in PATHS[name]._asdict().items() if flag != "data"},
                         **figures}
                  for name, figures in paths.items()},
        "ratios": ratios,
        "limit": limit,
        "full_assignment_estimate": {name: assignment_estimate(figures, tokenize_ms) for name, figures in paths.items()},
        "provenance": provenance(benchmark_device()),
        "cpu_native_bf16": cpu_has_native_bf16(),
    }
    write_json(project_path(args.results), result)
    for name, ratio in ratios.items():
        print(f"{name}: x{ratio['train_vs_starter']} training, x{ratio['eval_vs_starter']} evaluation vs the "
              f"starter; {ratio['train_vs_limit']}x / {ratio['eval_vs_limit']}x the {fastest} limit")
    for name, estimate in result["full_assignment_estimate"].items():
        print(f"full assignment, {name} path: {estimate['total_minutes']} minutes ({estimate['minutes']})")
    print(f"limit ({fastest} GEMM {limit['gemm_tflops'][fastest]} TFLOP/s, the faster precision here): training "
          f"{limit['train_limit_ms_per_example'][fastest]} ms/review, evaluation "
          f"{limit['eval_limit_ms_per_example'][fastest]} ms/review")
    return result


if __name__ == "__main__":
    main_benchmark()
