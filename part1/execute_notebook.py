#!/usr/bin/env python3
"""Execute part1.ipynb top to bottom (kernel python3, cwd = part1/) and save its outputs.

    python part1/execute_notebook.py              # rewrites part1/part1.ipynb with outputs
    python part1/execute_notebook.py --output x.ipynb
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
NOTEBOOK = HERE / "part1.ipynb"


def execute(path: Path = NOTEBOOK, cwd: Path = HERE, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell of the notebook at `path` with working directory `cwd`; return it."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # no timing metadata: keeps re-runs diff-free
        cell.metadata.pop("execution", None)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    """Command line: execute the notebook and write it with its outputs."""
    parser = argparse.ArgumentParser(description="Execute part1.ipynb and save the outputs.")
    parser.add_argument("--notebook", type=Path, default=NOTEBOOK,
                        help="notebook to run (default: part1.ipynb next to this script)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the executed notebook (default: in place)")
    parser.add_argument("--timeout", type=int, default=120,
                        help="per-cell timeout in seconds (default 120)")
    args = parser.parse_args(argv)
    nb = execute(args.notebook, HERE, args.timeout)
    out = args.output or args.notebook
    nbformat.write(nb, out)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
