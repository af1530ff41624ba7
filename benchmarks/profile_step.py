"""Where a CPU training step's time goes: fp32 vs bf16 autocast, attention-probability dropout on/off, SDPA kernel.

One process, one batch of random token ids (a length-grouped batch: one review shorter, so a padding mask), the
same model weights for every variant. Each variant's step (forward under autocast as Accelerate applies it, then
backward) is timed in rounds that interleave the variants (median ms/example), then profiled once with
torch.profiler: the top operators by self CPU time and the attention kernel SDPA chose. The optimizer step that
follows (AdamW over all the model's parameters, whose cost does not depend on the batch) is timed the same way for
torch's default AdamW and the fused kernel (--fused_adamw). Writes --results (JSON).

    python benchmarks/profile_step.py                      # batch 8, 256 and 512 tokens, 1 thread
    python benchmarks/profile_step.py --threads 2 --lengths 256
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from pipeline.data import load_pretrained, project_path, stand_in_model  # noqa: E402
from pipeline.precision import use_fp32_attention  # noqa: E402
from pipeline.results import provenance, write_json  # noqa: E402

# name -> (bf16 autocast, attention-probability dropout (None: the model's own), attention in fp32)
VARIANTS = {
    "fp32, model dropout (before: --mixed_precision no)": (False, None, False),
    "bf16, model dropout (before: --mixed_precision bf16)": (True, None, False),
    "fp32, attention dropout 0": (False, 0.0, False),
    "bf16, attention dropout 0, bf16 attention": (True, 0.0, False),
    "bf16, attention dropout 0, fp32 attention (new default)": (True, 0.0, True),
}


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_name", default=stand_in_model())
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--lengths", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (each runs every variant once)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--top", type=int, default=8, help="operators listed per variant")
    parser.add_argument("--results", default="benchmarks/results/profile_step.json")
    return parser.parse_args(argv)


def training_model(model_name: str, attention_dropout: float | None, fp32_attention: bool):
    """The model in train mode, from seed 0 (the same classifier head every time), with a recipe's attention."""
    torch.manual_seed(0)
    _, model = load_pretrained(model_name, attention_dropout=attention_dropout)
    if fp32_attention:
        use_fp32_attention(model)
    return model.train()


def make_models(model_name: str) -> dict:
    return {name: training_model(model_name, attention_dropout, fp32_attention)
            for name, (_, attention_dropout, fp32_attention) in VARIANTS.items()}


def step(model, batch: dict, bf16: bool) -> None:
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = model(**batch).loss
    loss.backward()
    model.zero_grad(set_to_none=True)


def profiled(run, top: int) -> tuple[list, list[dict]]:
    """torch.profiler's operator events of ``run()``, most self CPU time first, and the ``top`` of them with shares."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    return events, [{"op": e.key, "share": round(e.self_cpu_time_total / total, 3), "calls": e.count}
                    for e in events[:top]]


def profile_variant(model, batch: dict, bf16: bool, top: int) -> dict:
    events, top_ops = profiled(lambda: step(model, batch, bf16), top)
    kernels = sorted({e.key for e in events if e.key.startswith("aten::_scaled_dot_product")})
    return {"sdpa_kernels": kernels, "top_ops": top_ops}


def random_batch(vocab_size: int, batch_size: int, length: int) -> dict:
    """A seeded training batch of random token ids; its first review is 3/4 of ``length`` (a padding mask)."""
    generator = torch.Generator().manual_seed(0)
    mask = torch.ones(batch_size, length, dtype=torch.long)
    mask[0, length * 3 // 4:] = 0
    ids = torch.randint(min(1000, vocab_size // 2), min(20000, vocab_size), (batch_size, length), generator=generator)
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.randint(0, 2, (batch_size,), generator=generator)}


def measure(models: dict, batch_size: int, length: int, rounds: int, top: int) -> dict:
    batch = random_batch(next(iter(models.values())).config.vocab_size, batch_size, length)
    for name, model in models.items():
        step(model, batch, VARIANTS[name][0])  # warm-up
    times = {name: [] for name in models}
    loads = []
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            step(model, batch, VARIANTS[name][0])
            times[name].append(1000 * (time.perf_counter() - start) / batch_size)
        loads.append(round(os.getloadavg()[0], 2))
    result = {"loadavg_1min_per_round": loads, "variants": {}}
    for name, model in models.items():
        result["variants"][name] = {"ms_per_example": round(statistics.median(times[name]), 1),
                                    "all_rounds": [round(t, 1) for t in times[name]],
                                    **profile_variant(model, batch, VARIANTS[name][0], top)}
    return result


OPTIMIZERS = {"torch's default AdamW (before: --fused_adamw no)": None, "fused AdamW (--fused_adamw auto)": True}


def measure_optimizers(model, rounds: int, top: int) -> dict:
    """ms per AdamW step over ``model``'s parameters (gradients set), by implementation; interleaved rounds."""
    generator = torch.Generator().manual_seed(0)
    for parameter in model.parameters():
        parameter.grad = 1e-3 * torch.randn(parameter.shape, generator=generator)
    optimizers = {name: torch.optim.AdamW(model.parameters(), lr=1e-5, fused=fused) for name, fused in OPTIMIZERS.items()}
    for optimizer in optimizers.values():
        optimizer.step()  # creates the moment buffers
    times = {name: [] for name in optimizers}
    for _ in range(rounds):
        for name, optimizer in optimizers.items():
            start = time.perf_counter()
            optimizer.step()
            times[name].append(1000 * (time.perf_counter() - start))
    result = {"parameters": sum(p.numel() for p in model.parameters()), "variants": {}}
    for name, optimizer in optimizers.items():
        result["variants"][name] = {
            "ms_per_step": round(statistics.median(times[name]), 1), "all_rounds": [round(t, 1) for t in times[name]],
            "top_ops": profiled(optimizer.step, top)[1]}
    return result


def main(argv=None) -> dict:
    options = parse_options(argv)
    torch.set_num_threads(options.threads)
    models = make_models(options.model_name)
    result = {"model_name": options.model_name, "batch_size": options.batch_size, "threads": options.threads,
              "padding": "one review of the batch is 3/4 of the length (a padding mask, as in length-grouped batches)",
              "lengths": {}}
    for length in options.lengths:
        result["lengths"][str(length)] = measure(models, options.batch_size, length, options.rounds, options.top)
        for name, figures in result["lengths"][str(length)]["variants"].items():
            print(f"{length} tokens  {figures['ms_per_example']:7.1f} ms/example  {name}  "
                  f"[{', '.join(k.removeprefix('aten::') for k in figures['sdpa_kernels'])}]", flush=True)
    model = next(iter(models.values()))
    result["optimizer_step"] = measure_optimizers(model, max(options.rounds, 5), options.top)
    for name, figures in result["optimizer_step"]["variants"].items():
        print(f"optimizer step  {figures['ms_per_step']:7.1f} ms ({figures['ms_per_step'] / options.batch_size:.1f} "
              f"ms/example at batch {options.batch_size})  {name}", flush=True)
    result["provenance"] = provenance(torch.device("cpu"))
    write_json(project_path(options.results), result)
    return result


if __name__ == "__main__":
    main()
