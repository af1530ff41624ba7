"""CPU runs: keep freed memory in the process instead of handing it back to the operating system after every batch.

glibc's ``malloc`` (the C library of most Linux systems, which PyTorch's CPU tensors are allocated with) serves a
block above its mmap threshold (128 KiB at first, rising with use to at most 32 MiB on 64-bit systems) with a fresh
``mmap`` and unmaps it when it is freed; and it returns the top of its heap to the system once more than its trim
threshold lies free there. A forward pass allocates and frees activations of up to tens of MB per layer (a batch of
32 reviews × 512 tokens × 1,536 bf16 values is 50 MB), so every batch maps fresh pages again, and the kernel zeroes
and maps each 4 KiB page on first touch: about 1,800 page faults per review evaluated with the MiniLM stand-in
(``benchmarks/page_faults.py`` measures them and what they cost). ``keep_freed_memory``
raises both thresholds (``mallopt``), so that blocks of up to 1 GiB come from the heap and freed ones stay there for
the next batch: the same computation, no page faults once the first batch has run. The price is that memory freed
by a run stays with its process until it ends (its peak, which it needed anyway).

PyTorch's GPU memory has its own caching allocator, so this is for CPU runs (``resolve_keep_freed_memory``).
"""

from __future__ import annotations

import ctypes
import platform
import sys

KEEP_FREED_MEMORY_CHOICES = ("auto", "no")

# mallopt(3) parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 1 << 30  # blocks up to 1 GiB from the heap
TRIM_THRESHOLD = (1 << 31) - 1  # never trim (mallopt takes an int)

_keeping = False


def resolve_keep_freed_memory(choice: str, device_type: str) -> bool:
    """``--keep_freed_memory``: ``auto`` keeps freed memory in runs on a CPU, ``no`` never."""
    return choice == "auto" and device_type == "cpu"


def glibc() -> bool:
    return sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed blocks of up to 1 GiB for reuse in this process; whether it now does (False
    where the C library is not glibc: other allocators keep their own policy)."""
    global _keeping
    if not _keeping and glibc():
        libc = ctypes.CDLL(None)
        _keeping = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _keeping


def keep_freed_memory_if(choice: str, device_type: str) -> bool:
    """``--keep_freed_memory`` applied: ``keep_freed_memory()`` where ``choice`` resolves to it on ``device_type``;
    whether memory is now kept."""
    return resolve_keep_freed_memory(choice, device_type) and keep_freed_memory()


def minor_page_faults() -> int:
    """This process's minor page faults so far (``getrusage``; Unix), for the benchmarks that count them."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def keeping_freed_memory() -> bool:
    """Whether ``keep_freed_memory`` took effect in this process (for the results' provenance)."""
    return _keeping
