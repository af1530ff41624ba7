#!/usr/bin/env python3
"""Draw the computation graph of Problem 1 with matplotlib.

One node per variable (X, Y, H, b_h, K, S, U, b_u, Z, O, L) showing its
dimensions and defining equation; an arc u -> v whenever v is computed
directly from u. Used by the notebook (inline figure) and by build_pdf.py
(vector PDF)::

    python part1/graph.py --out graph.pdf
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

# name -> (x, y, mathtext label, shape, equation or role)
NODES = {
    "X":   (0.0, 2.0, r"$X$",     r"$t\times f$", "input"),
    "H":   (0.0, 1.0, r"$H$",     r"$f\times d$", "weights"),
    "b_h": (0.0, 0.0, r"$b_h$",   r"$1\times d$", "bias"),
    "K":   (1.75, 1.0, r"$K$",     r"$t\times d$", r"$K = XH + b_h$"),
    "S":   (3.5, 1.0, r"$S$",     r"$t\times d$", r"$S = \mathrm{ReLU}(K)$"),
    "U":   (3.5, 2.0, r"$U$",     r"$d\times m$", "weights"),
    "b_u": (3.5, 0.0, r"$b_u$",   r"$1\times m$", "bias"),
    "Z":   (5.25, 1.0, r"$Z$",     r"$t\times m$", r"$Z = SU + b_u$"),
    "O":   (7.0, 1.0, r"$O$",     r"$t\times m$", r"$O = \mathrm{softmax}(Z)$"),
    "Y":   (7.0, 2.0, r"$Y$",     r"$t\times m$", "one-hot target"),
    "L":   (8.75, 1.0, r"$L$",     r"$t\times 1$", r"$L_i = -\sum_j Y_{ij}\log O_{ij}$"),
}

EDGES = [
    ("X", "K"), ("H", "K"), ("b_h", "K"),
    ("K", "S"),
    ("S", "Z"), ("U", "Z"), ("b_u", "Z"),
    ("Z", "O"),
    ("O", "L"), ("Y", "L"),
]

_W, _H = 1.42, 0.66  # node box size (data units)
_COLORS = {"input": "#dbe9f6", "weights": "#fde2c8", "bias": "#fde2c8",
           "one-hot target": "#dbe9f6"}


def draw_graph(ax=None):
    """Draw the graph on `ax` (a new figure if None) and return the figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(10.5, 3.5))
    else:
        fig = ax.figure
    for name, (x, y, label, shape, eq) in NODES.items():
        color = _COLORS.get(eq, "#e4f2dc")
        ax.add_patch(FancyBboxPatch((x - _W / 2, y - _H / 2), _W, _H,
                                    boxstyle="round,pad=0.02,rounding_size=0.08",
                                    fc=color, ec="0.25", lw=1.0, zorder=2))
        ax.text(x, y + 0.15, f"{label}   ({shape})", ha="center", va="center",
                fontsize=12.5, zorder=3)
        ax.text(x, y - 0.14, eq, ha="center", va="center", fontsize=11, zorder=3,
                style="italic" if eq in _COLORS else "normal")
    for u, v in EDGES:
        (x0, y0), (x1, y1) = NODES[u][:2], NODES[v][:2]
        ax.add_patch(FancyArrowPatch(
            _border(x0, y0, x1, y1), _border(x1, y1, x0, y0),
            arrowstyle="-|>", mutation_scale=13, lw=1.1, color="0.2", zorder=1))
    xs = [p[0] for p in NODES.values()]
    ys = [p[1] for p in NODES.values()]
    ax.set_xlim(min(xs) - _W / 2 - 0.1, max(xs) + _W / 2 + 0.1)
    ax.set_ylim(min(ys) - _H / 2 - 0.1, max(ys) + _H / 2 + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout(pad=0.1)
    return fig


def _border(x0, y0, x1, y1):
    """Point where the segment from (x0, y0) towards (x1, y1) leaves the box at (x0, y0)."""
    dx, dy = x1 - x0, y1 - y0
    sx = (_W / 2 + 0.03) / abs(dx) if dx else float("inf")
    sy = (_H / 2 + 0.03) / abs(dy) if dy else float("inf")
    s = min(sx, sy)
    return (x0 + s * dx, y0 + s * dy)


def save_graph(path: str | Path) -> Path:
    """Save the graph as a vector figure (format from the suffix, e.g. .pdf)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with plt.rc_context({"pdf.fonttype": 42, "mathtext.fontset": "stix",
                         "font.family": "STIXGeneral"}):
        fig = draw_graph()
        fig.savefig(path, bbox_inches="tight", metadata={"CreationDate": None}
                    if path.suffix == ".pdf" else None)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: write the graph figure to --out."""
    parser = argparse.ArgumentParser(description="Draw the Part 1 computation graph.")
    parser.add_argument("--out", type=Path, default=Path("graph.pdf"),
                        help="output file; the suffix picks the format (default graph.pdf)")
    args = parser.parse_args(argv)
    print(save_graph(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
