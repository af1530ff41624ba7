"""Errors a user can fix, and how the command-line entry points report them."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path


class UsageError(Exception):
    """Bad input or a missing prerequisite; the message says what to do. main() turns it into exit code 2."""


def check_choice(flag: str, choice: str, choices) -> None:
    """Raise ``UsageError`` unless ``choice`` is one of ``choices`` (for flags also checked outside argparse)."""
    if choice not in choices:
        raise UsageError(f"{flag} must be one of {', '.join(choices)} (got {choice!r})")


def exit_code(run, *args) -> int:
    """Run a command-line entry point: 0 on success, a one-line message and 2 on a UsageError."""
    try:
        run(*args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        report_to_launcher(f"error: {error}")
        return 2
    return 0


def report_to_launcher(message: str) -> None:
    """Under ``accelerate launch`` (torchrun), hand the message to the launcher, whose failure report ends the
    output: there it is the last thing read, not a line buried above the launcher's traceback."""
    error_file = os.environ.get("TORCHELASTIC_ERROR_FILE")  # torch.distributed.elastic's per-process error file
    if error_file:
        with contextlib.suppress(OSError):
            Path(error_file).write_text(json.dumps({"message": message, "timestamp": int(time.time())}))
