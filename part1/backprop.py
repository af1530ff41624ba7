#!/usr/bin/env python3
"""Part 1: forward pass, hand-derived backpropagation and one gradient step.

Network (one row of X per item, t items in the batch)::

    K = X H + b_h        X: (t, f)   H: (f, d)   b_h: (d,)
    S = ReLU(K)          S: (t, d)
    Z = S U + b_u        U: (d, m)   b_u: (m,)
    O = softmax(Z)       row-wise, O: (t, m)
    L_i = -log O[i, y_i] cross-entropy of item i against the one-hot row Y[i]

The batch objective is ``J = mean_i L_i`` (``reduction="mean"``, the default,
as in ``torch.nn.CrossEntropyLoss``) or ``J = sum_i L_i`` (``reduction="sum"``).
Gradients are of J with respect to H, b_h, U and b_u.

Everything here is numpy only; the notebook ``part1.ipynb`` and the PDF
builder import these functions so that the math is written once.

Command line::

    python part1/backprop.py [--values FILE] [--reduction mean|sum]

prints one JSON object with the keys ``loss_before`` (list, one per item),
``grads`` (``H``, ``b_h``, ``U``, ``b_u``), ``params_after`` (same keys),
``loss_after`` (list), plus ``reduction`` and ``lr`` for the record.
Biases are always written as flat lists (shape ``(d,)`` and ``(m,)``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Mapping

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_VALUES = HERE / "values.json"

PARAM_KEYS = ("H", "b_h", "U", "b_u")
REQUIRED_KEYS = ("X", "Y", "H", "b_h", "U", "b_u", "lr")
REDUCTIONS = ("mean", "sum")

# Which entry of which array fixes each dimension: (key, axis, noun).
# t and f are fixed by the input X; d and m are decided by majority of the
# three parameters that carry them, so the odd one out is the one reported.
_DIM_SOURCES = {
    "t": (("X", 0, "rows"), ("Y", 0, "rows")),
    "f": (("X", 1, "columns"), ("H", 0, "rows")),
    "d": (("H", 1, "columns"), ("b_h", -1, "entries"), ("U", 0, "rows")),
    "m": (("U", 1, "columns"), ("b_u", -1, "entries"), ("Y", 1, "columns")),
}
# Expected shape of every array in terms of the named dimensions.
_LAYOUT = {
    "X": ("t", "f"),
    "Y": ("t", "m"),
    "H": ("f", "d"),
    "b_h": ("d",),
    "U": ("d", "m"),
    "b_u": ("m",),
}
_AUTHORITY = {"t": "X", "f": "X"}


class ValuesError(ValueError):
    """A values file (or dict) that cannot be used: the message says why."""


# --------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------

def _is_number(x: Any) -> bool:
    """True for JSON numbers (int/float), False for bools, strings, None..."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _nested_shape(key: str, value: Any, where: str = "") -> tuple[int, ...]:
    """Shape of a nested list of numbers; raise ValuesError if ragged or non-numeric."""
    if _is_number(value):
        if not math.isfinite(float(value)):
            raise ValuesError(f"{key}{where} is {value!r}: all entries must be finite numbers")
        return ()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise ValuesError(
            f"{key}{where} is {value!r} ({type(value).__name__}): "
            "expected a number or a list of numbers")
    if len(value) == 0:
        raise ValuesError(f"{key}{where} is an empty list: every dimension must be at least 1")
    shapes = [_nested_shape(key, v, f"{where}[{i}]") for i, v in enumerate(value)]
    for i, s in enumerate(shapes):
        if s != shapes[0]:
            raise ValuesError(
                f"{key} is ragged: {key}{where}[0] has shape {shapes[0]} but "
                f"{key}{where}[{i}] has shape {s}; every row must have the same length")
    return (len(value),) + shapes[0]


def to_array(key: str, value: Any) -> np.ndarray:
    """Convert a (nested) list of numbers to a float64 array, with clear errors."""
    _nested_shape(key, value)
    return np.array(value, dtype=np.float64)


def _resolve_dims(arrays: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Decide t, f, d, m from the arrays, reporting which array disagrees."""
    dims: dict[str, int] = {}
    for name, sources in _DIM_SOURCES.items():
        claims = [(k, ax, noun, arrays[k].shape[ax]) for k, ax, noun in sources]
        if name in _AUTHORITY:
            dims[name] = next(c[3] for c in claims if c[0] == _AUTHORITY[name])
            continue
        values = [c[3] for c in claims]
        best = max(set(values), key=values.count)
        if values.count(best) == 1:  # all three disagree: nobody to trust
            said = ", ".join(f"{k} has {v} {noun}" for k, _, noun, v in claims)
            raise ValuesError(
                f"cannot determine {name}: {said}; they must agree "
                f"(shapes: X (t, f), Y (t, m), H (f, d), b_h (d,), U (d, m), b_u (m,))")
        dims[name] = best
    return dims


def _evidence(key: str, dims: Mapping[str, int], arrays: Mapping[str, np.ndarray]) -> str:
    """Human-readable list of the other arrays that fixed the dimensions of `key`."""
    parts = []
    for name in _LAYOUT[key]:
        for k, ax, noun in _DIM_SOURCES[name]:
            if k != key and arrays[k].shape[ax] == dims[name]:
                part = f"{k} has {dims[name]} {noun}"
                if part not in parts:
                    parts.append(part)
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]


def _check_shapes(arrays: Mapping[str, np.ndarray]) -> dict[str, int]:
    """Validate ranks and mutual consistency of shapes; return the dimensions."""
    for key in ("X", "Y", "H", "U"):
        if arrays[key].ndim != 2:
            names = ", ".join(_LAYOUT[key])
            raise ValuesError(
                f"{key} has shape {arrays[key].shape}: {key} must be a 2-D list "
                f"(a list of rows) of shape ({names})")
    for key in ("b_h", "b_u"):
        a = arrays[key]
        (n,) = _LAYOUT[key]
        if not (a.ndim == 1 or (a.ndim == 2 and a.shape[0] == 1)):
            raise ValuesError(
                f"{key} has shape {a.shape}: {key} must be a vector of length {n}, "
                f"written as a flat list (shape ({n},)) or a single row (shape (1, {n}))")
    dims = _resolve_dims(arrays)
    for key in ("Y", "H", "b_h", "U", "b_u"):
        names = _LAYOUT[key]
        expected = tuple(dims[n] for n in names)
        actual = arrays[key].shape
        got = actual[-1:] if key in ("b_h", "b_u") else actual
        if got != expected:
            names_s = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
            raise ValuesError(
                f"{key} has shape {actual} but {_evidence(key, dims, arrays)}: "
                f"{key} must be {names_s} = {expected}")
    return dims


def _check_one_hot(Y: np.ndarray) -> None:
    """Each row of Y must contain exactly one 1 and zeros elsewhere."""
    for i, row in enumerate(Y):
        if not (np.all((row == 0) | (row == 1)) and row.sum() == 1):
            raise ValuesError(
                f"Y row {i} is {row.tolist()}: each row of Y must be one-hot "
                "(exactly one entry equal to 1, all others 0)")


def validate_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Check a values mapping and return float64 arrays (biases flattened) and lr.

    Accepts the keys X, Y, H, b_h, U, b_u, lr (keys starting with "_" are
    comments and ignored). b_h and b_u may be given as (d,) or (1, d); they
    are returned as 1-D arrays. Raises ValuesError with a message naming the
    offending key and the expected shape.
    """
    if not isinstance(raw, Mapping):
        raise ValuesError(
            f"the values must be a JSON object with keys {', '.join(REQUIRED_KEYS)}, "
            f"not a {type(raw).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise ValuesError(
            f"missing key(s) {', '.join(missing)}: the values must have the keys "
            f"{', '.join(REQUIRED_KEYS)}")
    unknown = [k for k in raw if k not in REQUIRED_KEYS and not str(k).startswith("_")]
    if unknown:
        raise ValuesError(
            f"unknown key(s) {', '.join(map(str, unknown))}: expected only "
            f"{', '.join(REQUIRED_KEYS)} (prefix a key with '_' for a comment)")
    arrays = {k: to_array(k, raw[k]) for k in _LAYOUT}
    _check_shapes(arrays)
    _check_one_hot(arrays["Y"])
    lr = raw["lr"]
    if not _is_number(lr) or not math.isfinite(float(lr)) or float(lr) <= 0:
        raise ValuesError(f"lr is {lr!r}: lr must be a positive number")
    out: dict[str, Any] = {k: arrays[k] for k in ("X", "Y", "H", "U")}
    out["b_h"] = arrays["b_h"].reshape(-1)
    out["b_u"] = arrays["b_u"].reshape(-1)
    out["lr"] = float(lr)
    return out


def load_values(path: str | Path = DEFAULT_VALUES) -> dict[str, Any]:
    """Read and validate a values JSON file (see `validate_values`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValuesError(f"cannot read values file {path}: {exc.strerror or exc}") from exc
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValuesError(
            f"values file {path} is not valid JSON: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno})") from exc
    try:
        return validate_values(raw)
    except ValuesError as exc:
        raise ValuesError(f"values file {path}: {exc}") from exc


def params_of(values: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The trainable parameters (H, b_h, U, b_u) of a values dict."""
    return {k: values[k] for k in PARAM_KEYS}


# --------------------------------------------------------------------------
# Math
# --------------------------------------------------------------------------

def relu(K: np.ndarray) -> np.ndarray:
    """Element-wise max(0, K)."""
    return np.maximum(K, 0.0)


def relu_grad(K: np.ndarray) -> np.ndarray:
    """ReLU'(K): 1 where K > 0, else 0 (the value 0 at K = 0, as in PyTorch)."""
    return (K > 0).astype(K.dtype)


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, shifted by the row maximum for numerical stability."""
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def forward(X: np.ndarray, params: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Forward pass; returns the intermediate values K, S, Z, O."""
    K = X @ params["H"] + params["b_h"]
    S = relu(K)
    Z = S @ params["U"] + params["b_u"]
    O = softmax(Z)
    return {"K": K, "S": S, "Z": Z, "O": O}


def item_losses(Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per-item cross-entropy L_i = -log softmax(Z_i)[y_i] (computed via log-sum-exp)."""
    zmax = Z.max(axis=1, keepdims=True)
    logsumexp = (zmax + np.log(np.exp(Z - zmax).sum(axis=1, keepdims=True)))[:, 0]
    return logsumexp - (Z * Y).sum(axis=1)


def objective(losses: np.ndarray, reduction: str = "mean") -> float:
    """Batch objective J: mean or sum of the per-item losses."""
    _check_reduction(reduction)
    return float(losses.mean() if reduction == "mean" else losses.sum())


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")


def backward(X: np.ndarray, Y: np.ndarray, params: Mapping[str, np.ndarray],
             cache: Mapping[str, np.ndarray], reduction: str = "mean") -> dict[str, np.ndarray]:
    """Gradients of J with respect to H, b_h, U, b_u (and the intermediate dJ/dZ, dJ/dS, dJ/dK).

    dJ/dZ = (O - Y) / t (mean) or O - Y (sum); dJ/dU = S^T dJ/dZ;
    dJ/db_u = column sums of dJ/dZ; dJ/dS = dJ/dZ U^T; dJ/dK = dJ/dS * ReLU'(K);
    dJ/dH = X^T dJ/dK; dJ/db_h = column sums of dJ/dK.
    """
    _check_reduction(reduction)
    t = X.shape[0]
    dZ = cache["O"] - Y
    if reduction == "mean":
        dZ = dZ / t
    dU = cache["S"].T @ dZ
    db_u = dZ.sum(axis=0)
    dS = dZ @ params["U"].T
    dK = dS * relu_grad(cache["K"])
    dH = X.T @ dK
    db_h = dK.sum(axis=0)
    return {"H": dH, "b_h": db_h, "U": dU, "b_u": db_u, "Z": dZ, "S": dS, "K": dK}


def step(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
         lr: float) -> dict[str, np.ndarray]:
    """One gradient-descent step: p <- p - lr * dJ/dp for every parameter."""
    return {k: params[k] - lr * grads[k] for k in PARAM_KEYS}


def compute(values: Mapping[str, Any], reduction: str = "mean") -> dict[str, Any]:
    """Whole Problem 4: losses, gradients, one step, losses again (numpy arrays)."""
    X, Y = values["X"], values["Y"]
    params = params_of(values)
    cache = forward(X, params)
    loss_before = item_losses(cache["Z"], Y)
    grads = backward(X, Y, params, cache, reduction)
    after = step(params, grads, values["lr"])
    cache_after = forward(X, after)
    loss_after = item_losses(cache_after["Z"], Y)
    return {
        "reduction": reduction,
        "lr": values["lr"],
        "forward_before": cache,
        "loss_before": loss_before,
        "grads": grads,
        "params_after": after,
        "forward_after": cache_after,
        "loss_after": loss_after,
    }


def to_json_dict(result: Mapping[str, Any]) -> dict[str, Any]:
    """The documented JSON output of the CLI, built from `compute`'s result."""
    return {
        "reduction": result["reduction"],
        "lr": result["lr"],
        "loss_before": result["loss_before"].tolist(),
        "grads": {k: result["grads"][k].tolist() for k in PARAM_KEYS},
        "params_after": {k: result["params_after"][k].tolist() for k in PARAM_KEYS},
        "loss_after": result["loss_after"].tolist(),
    }


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Argument parser of the command-line interface."""
    parser = argparse.ArgumentParser(
        description="Forward pass, backprop and one gradient step for the Part 1 network; "
                    "prints a JSON object.")
    parser.add_argument(
        "--values", type=Path, default=DEFAULT_VALUES,
        help="JSON file with keys X, Y (one-hot), H, b_h, U, b_u, lr "
             "(default: values.json next to this script)")
    parser.add_argument(
        "--reduction", choices=REDUCTIONS, default="mean",
        help="how item losses are combined before differentiating: mean (default, "
             "as torch.nn.CrossEntropyLoss) or sum")
    parser.add_argument(
        "--indent", type=int, default=2,
        help="JSON indentation (default 2; use 0 for one line)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: load, compute, print JSON. Exit status 2 on a bad values file."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        values = load_values(args.values)
    except ValuesError as exc:
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    result = compute(values, args.reduction)
    print(json.dumps(to_json_dict(result), indent=args.indent or None))
    return 0


if __name__ == "__main__":
    sys.exit(main())
