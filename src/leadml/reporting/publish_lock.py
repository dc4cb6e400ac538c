"""One publisher at a time: an exclusive, non-blocking lock beside an output file.

Two nightly jobs that publish the same export would interleave their files; the second one fails
at once with a clear message instead. The kernel drops the lock when its process dies, so a killed
run never leaves a stale lock behind. A run killed outright (SIGKILL) cannot remove its temporary files;
the next run of the same output removes them once it holds the lock, when no one else can be writing them.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class BusyError(RuntimeError):
    """Raised when another run holds the lock of the same output."""


@contextmanager
def exclusive(output: Path) -> Iterator[None]:
    """Hold the lock ``.<name>.lock`` beside ``output`` for the duration of the block."""
    output.parent.mkdir(parents=True, exist_ok=True)
    lock = output.with_name(f".{output.name}.lock")
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BusyError(f"another leadml run is publishing {output} (lock {lock}); "
                            "nothing done, try again when it has finished") from None
        for leftover in output.parent.glob(f".{output.stem}*.tmp.*"):  # what a killed run of this output left
            leftover.unlink(missing_ok=True)
        yield
    finally:
        os.close(descriptor)
