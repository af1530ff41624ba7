"""Writing results: the starter's prediction files and a JSON record with provenance beside each.

torch is imported only where a device is described, so readers of results files (report/make_assets.py) need not
load it."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.data import PROJECT_DIR
from pipeline.memory import keeping_freed_memory

if TYPE_CHECKING:
    import torch


# Where the project's own runs write the results it commits: rewriting them is a run's output, not a change to the code
# that ran, so the commit is not marked dirty for them (else every evaluation in a clone marks its own record dirty,
# having rewritten out/out_original.txt just before).
RESULT_FOLDERS = ("out", "results", "benchmarks/results", "report/generated")


def git_commit(project: Path = PROJECT_DIR) -> str:
    """The project's current commit, with ``-dirty`` when tracked files outside ``RESULT_FOLDERS`` have uncommitted
    changes, or ``unknown`` outside a git checkout."""
    excluded = [f":(exclude){folder}" for folder in RESULT_FOLDERS]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded],
            cwd=project, capture_output=True, text=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def device_description(device: torch.device) -> str:
    import torch

    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)} x{torch.cuda.device_count()}"
    return f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def cpu_model_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name as the kernel reports it ('AMD EPYC', 'Intel(R) Xeon(R) Platinum 8488C'), or, where there
    is no /proc/cpuinfo (macOS, Windows), what ``platform`` says."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_description() -> dict:
    """What decides this CPU's speed and main.py's CPU defaults: its model, the widest vector instructions PyTorch
    uses on it (AVX2, AVX512, ...), whether it computes bf16 natively, and whether bf16 autocast is faster than fp32
    on it, and why (``--mixed_precision auto``'s rule)."""
    import torch

    from pipeline.precision import cpu_bf16_autocast, cpu_has_native_bf16

    return {"model": cpu_model_name(), "vector_isa": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": cpu_has_native_bf16(), "bf16_autocast": cpu_bf16_autocast()}


def provenance(device: torch.device) -> dict:
    import torch

    from pipeline.precision import cudnn_attention_enabled

    return {
        "git_commit": git_commit(),
        "device": device_description(device),
        "cpu": cpu_description(),  # two CPUs of one description ('x86_64, 2 cores') can differ severalfold in speed
        "hostname": platform.node(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "malloc_keeps_freed_memory": keeping_freed_memory(),  # pipeline/memory.py
        # pipeline/precision.py's no_cudnn_attention, in the process that calls this (main.py's runs: the one that
        # ran the model)
        "cudnn_attention": cudnn_attention_enabled(device.type),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def default_file_mode() -> int:
    """The mode ``open()`` gives a new file under this process's umask (0o644 under the usual 022)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see either the old or the complete new content, never half of it; with the
    permissions a plain write would give it (a temporary file is created private: 0o600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        temporary = Path(handle.name)
        try:
            handle.write(text)
            handle.flush()  # a full disk fails here, inside the try, not when the file is closed
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    os.chmod(temporary, default_file_mode())
    os.replace(temporary, path)


def write_predictions(path: Path, predictions, labels) -> None:
    """The starter's format: for each example, its predicted label on one line and its gold label on the next."""
    lines = [f"{int(p)}\n{int(y)}\n" for p, y in zip(predictions, labels, strict=True)]
    atomic_write_text(path, "".join(lines))


def write_json(path: Path, record: dict) -> None:
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=False) + "\n")


def recorded_examples(record_file: Path) -> int | None:
    """How many test reviews the evaluation recorded in ``record_file`` covered (None: no readable record)."""
    try:
        return int(json.loads(record_file.read_text())["examples"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_predictions(path: Path) -> tuple[list[int], list[int]]:
    """Inverse of ``write_predictions``: (predictions, labels)."""
    values = [int(line) for line in Path(path).read_text().split()]
    if len(values) % 2:
        raise ValueError(f"{path}: odd number of lines; expected a prediction line then a label line per example")
    return values[0::2], values[1::2]
