"""What else could make the CPU training step or evaluation faster, measured against today's defaults (issue 10).

Three candidates that the profile (``profile_step.py``) points at, each timed in interleaved rounds on the same
inputs and weights, none of them adopted by main.py (``benchmarks/README.md`` says why):

- **attention**: PyTorch's fused ("flash") CPU attention kernel with the boolean (batch, 1, L, L) padding mask that
  transformers gives it, as the defaults run, against the same kernel with a compact additive (batch, 1, 1, L) mask
  and against the unfused form (two batched matrix products and a softmax) in fp32 and bf16, at the model's shapes:
  evaluation (forward, batch ``--eval_batch_size``) and training (forward and backward, batch ``--batch_size``); each
  output's largest difference from the default's on the real (unpadded) rows.
- **torch_compile**: the default training step (forward and backward under the CPU's default precision, attention in
  fp32, no attention dropout) eager against ``torch.compile(dynamic=True)``; the first call at each length is timed
  apart (compiling and recompiling).
- **dropout**: the same step with torch's ``nn.Dropout`` against a mask made from 16 random bits per element (two per
  draw of torch's generator; ``threshold_dropout``), which draws half as many random numbers; the rate it drops.

    python benchmarks/cpu_alternatives.py          # MiniLM stand-in, 256/384/512 tokens, 2 threads, 7 rounds, ~15 min
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
import types
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from transformers import AutoConfig  # noqa: E402

from profile_step import random_batch, step, training_model  # noqa: E402  (benchmarks/, the script's own folder)
from pipeline.data import project_path, resolve_model, stand_in_model  # noqa: E402
from pipeline.precision import resolve_mixed_precision  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402

PARTS = ("attention", "torch_compile", "dropout")


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model(), help="model whose shapes and weights are timed")
    parser.add_argument("--batch_size", type=int, default=8, help="training batch (the CLI's default)")
    parser.add_argument("--eval_batch_size", type=int, default=32, help="evaluation batch (the CLI's default)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 384, 512],
                        help="batch lengths in tokens; every round runs each variant once at each length")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (each runs every variant at every length)")
    parser.add_argument("--threads", type=int, default=2, help="torch's CPU threads")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which comparisons to run")
    parser.add_argument("--results", default="benchmarks/results/cpu_alternatives.json")
    options = parser.parse_args(argv)
    for name in ("batch_size", "eval_batch_size", "rounds", "threads"):
        if getattr(options, name) <= 0:
            parser.error(f"--{name} must be positive (got {getattr(options, name)})")
    if min(options.lengths) < 4:
        parser.error(f"--lengths must be at least 4 tokens (got {options.lengths})")
    return options


def interleaved(variants: dict, lengths: list[int], rounds: int, per_call: int) -> dict:
    """Median and per-round ms per example of each ``variants[name](length)``, taking turns within every round, and
    its time over the first variant's in the same round (this host's speed drifts between rounds more than the
    variants differ: the per-round ratio compares them at the same moment)."""
    times = {name: [] for name in variants}
    loads = []
    for _ in range(rounds):
        for name, run in variants.items():
            start = time.perf_counter()
            for length in lengths:
                run(length)
            times[name].append(1000 * (time.perf_counter() - start) / (per_call * len(lengths)))
        loads.append(round(os.getloadavg()[0], 2))
    first = next(iter(times.values()))
    variants = {}
    for name, t in times.items():
        ratios = [x / y for x, y in zip(t, first)]  # to the first variant (the default) of the same round
        variants[name] = {"ms_per_example": round(statistics.median(t), 2), "all_rounds": [round(x, 2) for x in t],
                          "ratio_to_default": round(statistics.median(ratios), 3),
                          "ratio_to_default_by_round": [round(r, 3) for r in ratios]}
    return {"loadavg_1min_per_round": loads, "variants": variants}


# --- attention ------------------------------------------------------------------------------------------------------

def unfused_attention(query, key, value, mask, softmax_dtype=None):
    """softmax(Q K^T / sqrt(d) + mask) V as two batched matrix products, the softmax in ``softmax_dtype``."""
    scores = torch.matmul(query, key.transpose(-1, -2)) * query.shape[-1] ** -0.5 + mask
    return torch.matmul(torch.softmax(scores, dim=-1, dtype=softmax_dtype).to(query.dtype), value)


def fused_attention(query, key, value, mask, softmax_dtype=None):
    return F.scaled_dot_product_attention(query, key, value, attn_mask=mask)


BOOLEAN_MASK = "transformers' boolean (batch, 1, L, L) mask"
ADDITIVE_MASK = "additive (batch, 1, 1, L) mask"
# name -> (dtype, implementation, softmax dtype, mask); the first of each is what the defaults run
EVAL_ATTENTION = {
    f"bf16, fused, {BOOLEAN_MASK} (the default evaluation)": (torch.bfloat16, fused_attention, None, BOOLEAN_MASK),
    f"bf16, fused, {ADDITIVE_MASK}": (torch.bfloat16, fused_attention, None, ADDITIVE_MASK),
    "bf16, unfused, softmax in fp32": (torch.bfloat16, unfused_attention, torch.float32, ADDITIVE_MASK),
    "bf16, unfused, softmax in bf16": (torch.bfloat16, unfused_attention, None, ADDITIVE_MASK),
}
TRAIN_ATTENTION = {
    f"fp32, fused, {BOOLEAN_MASK} (the default training)": (torch.float32, fused_attention, None, BOOLEAN_MASK),
    f"fp32, fused, {ADDITIVE_MASK}": (torch.float32, fused_attention, None, ADDITIVE_MASK),
    "bf16, fused": (torch.bfloat16, fused_attention, None, BOOLEAN_MASK),
    "bf16, unfused, softmax in fp32": (torch.bfloat16, unfused_attention, torch.float32, ADDITIVE_MASK),
    "fp32, unfused": (torch.float32, unfused_attention, None, ADDITIVE_MASK),
}


def attention_inputs(batch_size: int, heads: int, head_size: int, length: int):
    """Seeded fp32 query, key and value; the padding of a length-grouped batch (first review 3/4 long) as the
    boolean mask transformers passes to SDPA and as an additive one; and which query rows are real tokens."""
    generator = torch.Generator().manual_seed(length)
    qkv = [torch.randn(batch_size, heads, length, head_size, generator=generator) for _ in range(3)]
    real = torch.ones(batch_size, length, dtype=torch.bool)
    real[0, length * 3 // 4:] = False
    masks = {BOOLEAN_MASK: real[:, None, None, :].expand(batch_size, 1, length, length).contiguous(),
             ADDITIVE_MASK: torch.zeros(batch_size, 1, 1, length).masked_fill(~real[:, None, None, :], -math.inf)}
    return qkv, masks, real[:, None, :, None]


def compare_attention(config, options) -> dict:
    heads = config.num_attention_heads
    head_size = config.hidden_size // heads
    layers = config.num_hidden_layers
    result = {"heads": heads, "head_size": head_size, "layers": layers,
              "ms_per_example": "all the model's layers, one call per layer"}
    for mode, table, batch_size in (("evaluation", EVAL_ATTENTION, options.eval_batch_size),
                                    ("training", TRAIN_ATTENTION, options.batch_size)):
        inputs = {length: attention_inputs(batch_size, heads, head_size, length) for length in options.lengths}
        training = mode == "training"

        def call(name, length):
            dtype, implementation, softmax_dtype, mask = table[name]
            qkv, masks, _ = inputs[length]
            tensors = [t.to(dtype).requires_grad_(training) for t in qkv]
            mask = masks[mask] if mask == BOOLEAN_MASK else masks[mask].to(dtype)
            with torch.set_grad_enabled(training):
                output = implementation(*tensors, mask, softmax_dtype)
                if training:
                    output.float().sum().backward()
            return output.detach()

        longest = max(options.lengths)
        real = inputs[longest][2]
        reference = call(next(iter(table)), longest).float()
        differences = {name: (call(name, longest).float() - reference).abs().masked_fill(~real, 0).max().item()
                       for name in table}
        variants = {name: (lambda length, name=name: [call(name, length) for _ in range(layers)]) for name in table}
        figures = interleaved(variants, options.lengths, options.rounds, batch_size)
        for name, entry in figures["variants"].items():
            entry["max_abs_difference_from_fused"] = differences[name]
            print(f"attention, {mode:10s} {entry['ms_per_example']:8.2f} ms/example  {name}", flush=True)
        result[mode] = {"batch_size": batch_size, **figures}
    return result


# --- the training step: torch.compile, and dropout -------------------------------------------------------------------

def default_model(model_name: str, bf16: bool):
    """The CLI's default CPU training model: no attention-probability dropout, attention in fp32 under bf16."""
    return training_model(model_name, attention_dropout=0.0, fp32_attention=bf16)


def compare_compile(model_name: str, bf16: bool, options) -> dict:
    models = {"eager (the default)": default_model(model_name, bf16)}
    models["torch.compile(dynamic=True)"] = torch.compile(default_model(model_name, bf16), dynamic=True)
    vocab = models["eager (the default)"].config.vocab_size
    batches = {length: random_batch(vocab, options.batch_size, length) for length in options.lengths}
    first_call = {}
    for name, model in models.items():
        first_call[name] = {}
        for length in options.lengths:
            start = time.perf_counter()
            step(model, batches[length], bf16)
            first_call[name][str(length)] = round(time.perf_counter() - start, 1)
    figures = interleaved({name: (lambda length, model=model: step(model, batches[length], bf16))
                           for name, model in models.items()}, options.lengths, options.rounds, options.batch_size)
    for name, entry in figures["variants"].items():
        entry["first_call_seconds_by_length"] = first_call[name]
        print(f"training step {entry['ms_per_example']:8.2f} ms/example  {name}  (first calls, s: "
              f"{first_call[name]})", flush=True)
    return {"batch_size": options.batch_size, **figures}


def threshold_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted dropout whose mask comes from 16 random bits per element, two per 32-bit draw of torch's generator.

    An element is dropped when its 16 bits, read as a number in [0, 65536), fall below round(p * 65536): with
    probability round(p * 65536) / 65536 (within 2**-17 of p); kept elements are scaled so that the expected output
    is ``x``, as ``F.dropout``'s are.
    """
    threshold = round(p * 65536)
    bits = torch.empty((x.numel() + 1) // 2, dtype=torch.int32, device=x.device).random_(-2**31, 2**31)
    keep = bits.view(torch.int16)[:x.numel()].view(x.shape) >= threshold - 32768
    return x * keep * (65536 / (65536 - threshold))


def threshold_dropout_forward(module, x):
    return threshold_dropout(x, module.p) if module.training and module.p > 0 else x


def compare_dropout(model_name: str, bf16: bool, options) -> dict:
    model = default_model(model_name, bf16)
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout) and m.p > 0]
    batches = {length: random_batch(model.config.vocab_size, options.batch_size, length) for length in options.lengths}

    def run(threshold: bool, length: int) -> None:
        for module in dropouts:
            if threshold:
                module.forward = types.MethodType(threshold_dropout_forward, module)
            else:
                module.__dict__.pop("forward", None)
        step(model, batches[length], bf16)

    for length in options.lengths:  # warm-up
        run(False, length)
        run(True, length)
    figures = interleaved({"torch's nn.Dropout (the default)": lambda length: run(False, length),
                           "16-bit threshold mask": lambda length: run(True, length)},
                          options.lengths, options.rounds, options.batch_size)
    run(False, options.lengths[0])  # leaves the model as it was
    sample = threshold_dropout(torch.ones(1_000_000), 0.1)
    for name, entry in figures["variants"].items():
        print(f"training step {entry['ms_per_example']:8.2f} ms/example  {name}", flush=True)
    return {"batch_size": options.batch_size, "dropout_modules": len(dropouts),
            "rates": sorted({m.p for m in dropouts}),
            "threshold_mask_drop_rate_at_0.1_of_1e6": (sample == 0).float().mean().item(),
            "threshold_mask_mean_at_0.1_of_1e6": sample.mean().item(), **figures}


def main(argv=None) -> dict:
    options = parse_options(argv)
    torch.set_num_threads(options.threads)
    bf16 = resolve_mixed_precision("auto", "cpu") == "bf16"
    config = AutoConfig.from_pretrained(resolve_model(options.model_name))  # shapes only: no weights loaded here
    result = {"model_name": options.model_name, "threads": options.threads, "lengths": options.lengths,
              "rounds": options.rounds, "training_precision": "bf16 autocast" if bf16 else "fp32",
              "padding": "the first review of each batch is 3/4 of the length (a padding mask)"}
    if "attention" in options.parts:
        result["attention"] = compare_attention(config, options)
    if "torch_compile" in options.parts:
        result["torch_compile"] = compare_compile(options.model_name, bf16, options)
    if "dropout" in options.parts:
        result["dropout"] = compare_dropout(options.model_name, bf16, options)
    result["provenance"] = provenance(torch.device("cpu"))
    write_json(project_path(options.results), result)
    return result


if __name__ == "__main__":
    main()
