"""Attention-probability dropout per device (``--attention_dropout``).

Dropout on the attention probabilities pushes PyTorch's ``scaled_dot_product_attention`` off its fused CPU kernel
onto the reference ("math") path, which materialises the attention matrix several times. ``auto`` sets it to 0 on
CPU, keeping the hidden-state and classifier dropout; ``results/cpu_recipe_parity/`` compares the accuracy with the
old recipe's (``benchmarks/cpu_recipe_parity.py``). On a GPU the fused kernels support dropout, so ``auto`` keeps
the model's own value there.
"""

from __future__ import annotations

from pipeline.errors import UsageError

# The configuration key of attention-probability dropout, by architecture (BERT family, DistilBERT).
ATTENTION_DROPOUT_KEYS = ("attention_probs_dropout_prob", "attention_dropout")

ATTENTION_DROPOUT_CHOICES = ("auto (0 on CPU, where it costs about half the training step; the model's own on GPU), "
                             "model (the model's own), or a number in [0, 1)")


def check_attention_dropout(choice: str) -> None:
    """Raise ``UsageError`` unless ``choice`` is auto, model or a number in [0, 1)."""
    if choice in ("auto", "model"):
        return
    try:
        value = float(choice)
    except (TypeError, ValueError):
        value = -1.0
    if not 0 <= value < 1:
        raise UsageError(f"--attention_dropout must be {ATTENTION_DROPOUT_CHOICES} (got {choice!r})")


def resolve_attention_dropout(choice: str, device_type: str) -> float | None:
    """The attention-probability dropout for ``--attention_dropout``; ``None`` keeps the model's own value."""
    if choice == "model":
        return None
    if choice == "auto":
        return 0.0 if device_type == "cpu" else None
    return float(choice)


def attention_dropout_overrides(config, attention_dropout: float | None) -> dict:
    """``from_pretrained`` keyword arguments that set the attention dropout of ``config``'s architecture."""
    if attention_dropout is None:
        return {}
    keys = [key for key in ATTENTION_DROPOUT_KEYS if hasattr(config, key)]
    if not keys:
        raise ValueError(f"{type(config).__name__} has no attention-dropout setting ({', '.join(ATTENTION_DROPOUT_KEYS)})")
    return {key: attention_dropout for key in keys}


def attention_dropout_of(config) -> float | None:
    """The attention-probability dropout a model configuration uses (for training_info.json)."""
    for key in ATTENTION_DROPOUT_KEYS:
        if hasattr(config, key):
            return float(getattr(config, key))
    return None
