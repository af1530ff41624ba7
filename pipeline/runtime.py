"""What a run runs on: its Accelerator (one process per device under ``accelerate launch``, a single process under
plain ``python``) with the precision ``pipeline/precision.py``'s rules choose, the notes on a precision that would
otherwise pass silently, and the end of the process group on every way out."""

from __future__ import annotations

import atexit
import os
import sys

import torch
from accelerate import Accelerator, PartialState
from accelerate.utils import DataLoaderConfiguration, parse_flag_from_env

from pipeline.precision import cpu_has_native_bf16, no_cudnn_attention, resolve_mixed_precision
from pipeline.results import cpu_model_name


def end_process_group() -> None:
    """Destroy the default process group of a multi-process run, if there is one (a no-op otherwise)."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def make_accelerator(mixed_precision: str) -> Accelerator:
    """One process per device under ``accelerate launch``, a single process under plain ``python``."""
    precision = mixed_precision
    if precision == "auto":
        # The device this process will use, not merely one that exists (ACCELERATE_USE_CPU=1 runs on the CPU of a
        # GPU machine); the Accelerator made below reads the same flag and shares this state.
        device_type = PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU")).device.type
        precision = resolve_mixed_precision(precision, device_type)  # pipeline/precision.py: GPU and CPU rules
    # non_blocking: batches (in pinned memory on CUDA, see pipeline/batching.py) are copied to the GPU asynchronously
    accelerator = Accelerator(mixed_precision=precision, dataloader_config=DataLoaderConfiguration(non_blocking=True))
    if accelerator.device.type == "cuda" and accelerator.mixed_precision == "no":
        torch.set_float32_matmul_precision("high")  # fp32 matrix products on TF32 tensor cores (Ampere and newer)
    no_cudnn_attention(accelerator.device.type)  # batches of ever-new lengths: no per-shape cuDNN attention plans
    # The process group ends before the interpreter does, on every way out (errors too): left to the interpreter's
    # teardown, gloo's worker threads can abort the process ("terminate called without an active exception").
    atexit.unregister(end_process_group)
    atexit.register(end_process_group)
    if not accelerator.is_local_main_process:  # one set of progress bars and warnings, from the main process
        import datasets
        import transformers

        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
    return accelerator


def warn_launcher_precision(accelerator: Accelerator, requested: str) -> None:
    """``accelerate launch --mixed_precision X`` (or an ``accelerate config`` file) does not set the precision: this
    script's --mixed_precision does. Say so rather than let X be ignored silently."""
    launcher = os.environ.get("ACCELERATE_MIXED_PRECISION", "no")
    if accelerator.is_main_process and launcher not in ("no", accelerator.mixed_precision):
        print(f"note: accelerate's mixed precision {launcher} is not used: main.py's --mixed_precision {requested} "
              f"chose {accelerator.mixed_precision}; pass --mixed_precision {launcher} to main.py to train in "
              f"{launcher}", file=sys.stderr)


def warn_emulated_bf16(accelerator: Accelerator) -> None:
    """``--mixed_precision bf16`` on a CPU without native bf16 (no AMX or AVX512_BF16, e.g. an AVX2-only CPU) runs,
    but its bf16 matrix products are emulated there, several times slower than fp32: say so, with what to use."""
    if (accelerator.is_main_process and accelerator.device.type == "cpu" and accelerator.mixed_precision == "bf16"
            and not cpu_has_native_bf16()):
        print(f"note: this CPU ({cpu_model_name()}) has no native bf16 (AMX or AVX512_BF16): --mixed_precision bf16 "
              "emulates it, several times slower than fp32 (benchmarks/README.md, 'On a CPU without native bf16'); "
              "--mixed_precision auto (the default) or no trains and evaluates in fp32", file=sys.stderr)
