"""On a GPU: what a batch with a new sequence length costs, by precision and SDPA attention kernel (cuDNN or not).

Why the CLI turns off cuDNN's attention kernel on CUDA (``pipeline/precision.py``'s ``no_cudnn_attention``). Reads a
kit made by ``benchmarks/device_kit.py`` (the model folder and the test reviews), sorts ``--samples`` test reviews
by length and cuts them into batches padded to their longest review, as main.py's length-grouped batches are: almost
every batch has a length not seen before. Each way runs in a process of its own (the kernels' plans and caches are
per process), twice over the same batches: the first pass meets every length for the first time, the second finds
them seen. Ways: fp32, TF32, bf16 autocast, bf16 weights; cuDNN attention on (PyTorch's default) or off; lengths
padded to a multiple of 64 or not.

- evaluation: batches of 32, ``torch.no_grad()``, ms per review;
- training: ``--train_batches`` batches of 8 spread over the lengths, forward, backward, clipping and a fused AdamW
  step, ms per step (mean and median).

    python benchmarks/gpu_attention.py --kit .device --results "$OUT/gpu_attention.json"   # on the GPU machine

The run committed in ``results/gpu/`` was made by this measurement as a script in the kit (``attention_log.txt``:
one line per way, the way's process's time after it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

WAYS = [
    {"prec": "fp32"},
    {"prec": "tf32"},
    {"prec": "autocast"},
    {"prec": "autocast", "nocudnn": True},
    {"prec": "autocast", "mult": 64},
    {"prec": "autocast", "mult": 64, "nocudnn": True},
    {"prec": "bf16full", "train": False},
    {"prec": "bf16full", "nocudnn": True, "train": False},
]


def parse_options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kit", default=".device", help="a folder made by benchmarks/device_kit.py")
    parser.add_argument("--samples", type=int, default=2000, help="test reviews (the kit's first ones)")
    parser.add_argument("--train_batches", type=int, default=48, help="training steps per pass")
    parser.add_argument("--results", default="benchmarks/results/gpu/attention.json", help="where the figures go")
    parser.add_argument("--one_way", default=None, help=argparse.SUPPRESS)  # internal: run one way, print JSON
    options = parser.parse_args(argv)
    if min(options.samples, options.train_batches) <= 0:
        parser.error("--samples and --train_batches must be positive")
    return options


def run_one_way(way: dict, kit: Path, samples: int, train_batches: int) -> dict:
    import pandas as pd
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if way.get("nocudnn") and device.type == "cuda":
        torch.backends.cuda.enable_cudnn_sdp(False)
    if way["prec"] == "tf32":
        torch.set_float32_matmul_precision("high")
    tokenizer = AutoTokenizer.from_pretrained(kit / "model")
    texts = pd.read_parquet(kit / "imdb" / "test.parquet")["text"].tolist()[:samples]
    encoded = sorted((tokenizer(t, truncation=True, max_length=512)["input_ids"] for t in texts), key=len)

    def batches(size):
        out = []
        for start in range(0, len(encoded), size):
            part = encoded[start:start + size]
            length = max(map(len, part))
            if way.get("mult"):
                length = -(-length // way["mult"]) * way["mult"]
            ids = torch.zeros(len(part), length, dtype=torch.long)
            mask = torch.zeros(len(part), length, dtype=torch.long)
            for row, review in enumerate(part):
                ids[row, :len(review)] = torch.tensor(review)
                mask[row, :len(review)] = 1
            out.append((ids.to(device), mask.to(device)))
        return out

    result = {"way": way}
    model = AutoModelForSequenceClassification.from_pretrained(kit / "model", attn_implementation="sdpa").to(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=way["prec"] == "autocast")
    if way.get("eval", True):
        evaluated = model.to(torch.bfloat16) if way["prec"] == "bf16full" else model
        evaluated.eval()
        eval_batches = batches(32)
        for number in (1, 2):
            times = []
            for ids, mask in eval_batches:
                sync()
                start = time.perf_counter()
                with torch.no_grad(), autocast:
                    evaluated(input_ids=ids, attention_mask=mask).logits.argmax(-1)
                sync()
                times.append(time.perf_counter() - start)
            result[f"eval_pass{number}_ms_per_review"] = round(1000 * sum(times) / len(encoded), 3)
            result[f"eval_pass{number}_first_batch_ms"] = round(1000 * times[0], 1)
    if way.get("train", True):
        model = AutoModelForSequenceClassification.from_pretrained(kit / "model", attn_implementation="sdpa").to(device)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")
        every = batches(8)
        steps = every[::max(1, len(every) // train_batches)][:train_batches]  # spread over the lengths
        labels = torch.zeros(8, dtype=torch.long, device=device)
        for number in (1, 2):
            times = []
            for ids, mask in steps:
                sync()
                start = time.perf_counter()
                with autocast:
                    loss = model(input_ids=ids, attention_mask=mask, labels=labels[:ids.shape[0]]).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                sync()
                times.append(time.perf_counter() - start)
            result[f"train_pass{number}_ms_per_step"] = round(1000 * sum(times) / len(times), 2)
            result[f"train_pass{number}_first_step_ms"] = round(1000 * times[0], 1)
            result[f"train_pass{number}_median_step_ms"] = round(1000 * sorted(times)[len(times) // 2], 2)
    return result


def main_benchmark(argv=None) -> dict:
    options = parse_options(argv)
    from pipeline.data import project_path

    kit = project_path(options.kit)
    if options.one_way:
        print("RESULT " + json.dumps(run_one_way(json.loads(options.one_way), kit, options.samples,
                                                 options.train_batches)), flush=True)
        return {}
    import torch

    from pipeline.data import require_writable
    from pipeline.errors import UsageError
    from pipeline.results import provenance, write_json

    if not (kit / "model").is_dir() or not (kit / "imdb" / "test.parquet").is_file():
        raise UsageError(f"--kit {kit} is not a kit: make one with python benchmarks/device_kit.py")
    results = project_path(options.results)
    require_writable(results.parent, "--results")
    print("torch", torch.__version__, "cudnn_sdp default", torch.backends.cuda.cudnn_sdp_enabled(), flush=True)
    ways = []
    for way in WAYS:
        start = time.perf_counter()
        command = [sys.executable, __file__, "--kit", str(kit), "--samples", str(options.samples),
                   "--train_batches", str(options.train_batches), "--one_way", json.dumps(way)]
        done = subprocess.run(command, capture_output=True, text=True)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(f"way {way} failed:\n{done.stderr[-3000:]}")
        figures = {**json.loads(lines[-1][len("RESULT "):]), "process_seconds": round(time.perf_counter() - start)}
        ways.append(figures)
        print(json.dumps(figures), flush=True)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    record = {"kit": str(kit), "samples": options.samples, "train_batches": options.train_batches, "ways": ways,
              "provenance": provenance(device)}
    kit_record = kit / "kit.json"
    if kit_record.is_file():
        record["kit_made_at"] = json.loads(kit_record.read_text())
    write_json(results, record)
    return record


if __name__ == "__main__":
    from pipeline.errors import exit_code

    sys.exit(exit_code(main_benchmark))
