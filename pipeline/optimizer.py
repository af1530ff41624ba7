"""The AdamW implementation per device.

torch's default AdamW on CPU updates the parameters one tensor at a time (6% to 16% of a training step in the
profile); its fused kernel does the same update in one pass over all of them. ``resolve_fused_adamw`` uses it on CPU
and CUDA, except under fp16's loss scaler (there fused AdamW hides a skipped step from Accelerate).
"""

from __future__ import annotations

from pipeline.errors import check_choice

FUSED_ADAMW_CHOICES = ("auto", "no")
FUSED_ADAMW_DEVICES = ("cpu", "cuda")


def check_fused_adamw(choice: str) -> None:
    check_choice("--fused_adamw", choice, FUSED_ADAMW_CHOICES)


def resolve_fused_adamw(choice: str, device_type: str, mixed_precision: str) -> bool | None:
    """AdamW's ``fused`` argument for ``--fused_adamw`` (``None``: torch's default implementation).

    The fused kernel computes the same update as torch's default (to float rounding) in one pass over all
    parameters. ``auto`` uses it on CPU and CUDA, but not with fp16: its loss scaler skips an overflowing step inside
    the fused kernel, which Accelerate cannot see (huggingface/accelerate#4242).
    """
    check_fused_adamw(choice)
    if choice == "no" or device_type not in FUSED_ADAMW_DEVICES or mixed_precision == "fp16":
        return None
    return True
