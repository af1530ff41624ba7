"""Numeric precision per device: mixed precision, attention in fp32 under CPU autocast, bf16 weights for evaluation.

On a CPU, these settings decide much of a training step's time (``benchmarks/README.md`` has the profile):

- bf16 autocast runs the matrix products on AMX tiles at several times the fp32 rate. AVX512_BF16's dot products
  alone can be slower than fp32 (0.11-0.14 against 0.17-0.22 TFLOP/s on one such Xeon), and without either bf16 is
  emulated and slower still, so ``auto`` uses bf16 on AMX, measures where there is AVX512_BF16 only
  (``cpu_bf16_autocast``), and keeps fp32 elsewhere.
- Under bf16 autocast, the fused CPU attention kernel's backward pass is slower in bf16 than in fp32 (×1.6 to
  several times in the profiles), which ate part of the gain of the bf16 matrix products. ``use_fp32_attention``
  runs attention (a small share of the FLOPs) in fp32 while the linear layers run in bf16.
- Evaluation has no backward pass, so that reason does not hold there; and autocast casts weights and activations
  to bf16 and results back to fp32 in every layer. ``resolve_bf16_full_eval`` evaluates with the model's weights
  in bf16 instead (the name is HF Trainer's ``bf16_full_eval``), attention in bf16 on the fused kernel, on CPUs
  where bf16 autocast is the rule; ``benchmarks/results/bf16_full_eval.json``
  compares its predictions with autocast's on the 25,000 test reviews.
- On a GPU, ``no_cudnn_attention`` turns off cuDNN's kernel for ``scaled_dot_product_attention``: it builds an
  execution plan for every new input shape, and batches padded per batch bring a new length almost every batch. On
  an H200, bf16 training steps of new lengths took 392 ms with it and 35 ms without
  (``benchmarks/results/gpu/attention_log.txt``); flash and memory-efficient attention need no plan.
"""

from __future__ import annotations

import functools
import time

import torch

from pipeline.errors import check_choice

# The probe's matrix product: 2,048 tokens through DistilBERT's feed-forward layer (768 -> 3,072)
PROBE_SHAPE = (2048, 768, 3072)
PROBE_SECONDS = 0.5  # per precision

FP32_ATTENTION = "sdpa_fp32"  # the attention implementation registered by use_fp32_attention


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively (AMX-BF16 or AVX512_BF16).

    ``torch.cpu.get_capabilities()`` reports what PyTorch's cpuinfo detected, including the operating system's
    support for the AMX tile state, which ``/proc/cpuinfo`` flags alone do not guarantee.
    """
    capabilities = torch.cpu.get_capabilities()
    return bool(capabilities.get("amx_bf16") or capabilities.get("avx512_bf16"))


def matmul_tflops(dtype: torch.dtype, shape: tuple[int, int, int] = PROBE_SHAPE,
                  seconds: float = PROBE_SECONDS) -> float:
    """The rate of ``shape``'s matrix product in ``dtype`` on this CPU, in TFLOP/s, over about ``seconds``."""
    tokens, width, out = shape
    a, b = torch.randn(tokens, width, dtype=dtype), torch.randn(width, out, dtype=dtype)
    a @ b  # the first product sets up the kernel
    products, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        a @ b
        products += 1
    return 2 * tokens * width * out * products / elapsed / 1e12


@functools.cache
def bf16_probe() -> tuple[float, float]:
    """(bf16, fp32) matrix-product rates in TFLOP/s: measured once per process, about a second."""
    return matmul_tflops(torch.bfloat16), matmul_tflops(torch.float32)


def cpu_bf16_autocast() -> dict:
    """Whether bf16 autocast is faster than fp32 on this CPU, and why: ``{"faster": bool, "why": str}`` (the rule of
    ``--mixed_precision auto``, recorded in every results file's provenance)."""
    capabilities = torch.cpu.get_capabilities()
    if capabilities.get("amx_bf16"):
        return {"faster": True, "why": "AMX-BF16"}
    if not capabilities.get("avx512_bf16"):
        return {"faster": False, "why": "no native bf16 (AMX or AVX512_BF16): emulated"}
    bf16, fp32 = bf16_probe()
    return {"faster": bf16 > fp32,
            "why": f"AVX512_BF16 without AMX, measured: bf16 {bf16:.3f}, fp32 {fp32:.3f} TFLOP/s"}


def resolve_mixed_precision(choice: str, device_type: str) -> str:
    """Accelerate's ``mixed_precision`` for ``--mixed_precision`` on a device of ``device_type``."""
    if choice != "auto":
        return choice
    if device_type == "cuda":
        # Native bf16 only (Ampere and newer): a V100 "supports" bf16 by slow emulation, so it gets fp16.
        return "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
    if device_type == "cpu":
        return "bf16" if cpu_bf16_autocast()["faster"] else "no"
    return "no"


def no_cudnn_attention(device_type: str) -> bool:
    """On CUDA, take cuDNN's attention kernel out of SDPA's choices (see the module's docstring); says whether it did.

    A process-wide switch, made once per process by ``runtime.make_accelerator``; elsewhere nothing changes.
    """
    if device_type != "cuda":
        return False
    torch.backends.cuda.enable_cudnn_sdp(False)
    return True


def cudnn_attention_enabled(device_type: str) -> bool | None:
    """Whether SDPA may choose cuDNN's kernel in this process; None off CUDA, where there is none."""
    return torch.backends.cuda.cudnn_sdp_enabled() if device_type == "cuda" else None


BF16_FULL_EVAL_CHOICES = ("auto", "no")


def resolve_bf16_full_eval(choice: str, device_type: str, mixed_precision: str) -> bool:
    """Whether evaluation runs the model with bf16 weights: ``auto`` where bf16 autocast runs on a CPU.

    On a GPU ``auto`` keeps autocast (fp32 weights): this project has measured the gain on CPU only.
    """
    check_choice("--bf16_full_eval", choice, BF16_FULL_EVAL_CHOICES)
    return choice == "auto" and mixed_precision == "bf16" and device_type == "cpu"


def fp32_sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs):
    """transformers' SDPA attention computed in fp32 (outside autocast), returned in the caller's dtype."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    dtype = query.dtype
    with torch.autocast(query.device.type, enabled=False):
        output, weights = sdpa_attention_forward(module, query.float(), key.float(), value.float(), attention_mask,
                                                 **kwargs)
    return output.to(dtype), weights


def use_fp32_attention(model) -> bool:
    """Switch ``model`` from SDPA to SDPA-in-fp32 attention (for bf16 autocast on CPU); False if it does not use SDPA.

    Registered under transformers' documented ``AttentionInterface``; ``restore_attention`` undoes it before saving,
    so a saved model loads anywhere with plain SDPA.
    """
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    if model.config._attn_implementation != "sdpa":
        return False
    AttentionInterface.register(FP32_ATTENTION, fp32_sdpa_attention_forward)
    AttentionMaskInterface.register(FP32_ATTENTION, sdpa_mask)
    model.set_attn_implementation(FP32_ATTENTION)
    return True


def fp32_attention_if_cpu_bf16(model, mixed_precision: str, device_type: str) -> bool:
    """``use_fp32_attention`` where it pays: bf16 autocast on a CPU."""
    return mixed_precision == "bf16" and device_type == "cpu" and use_fp32_attention(model)


def restore_attention(model) -> None:
    if model.config._attn_implementation == FP32_ATTENTION:
        model.set_attn_implementation("sdpa")
