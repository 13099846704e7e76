"""Process-wide interpreter tuning for a running node."""

from __future__ import annotations

import gc

__all__ = ["tune_gc"]


def tune_gc(threshold: int) -> None:
    """Run the cyclic garbage collector's youngest generation every ``threshold`` allocations."""
    # A 2,000-item batch allocates tens of thousands of containers that live until the
    # response: at Python's default (700) the collector re-scans them dozens of times a request.
    # The node frees almost everything by reference counting, so memory stays flat. 0 keeps
    # the interpreter's default.
    if threshold > 0:
        _, middle, oldest = gc.get_threshold()
        gc.set_threshold(threshold, middle, oldest)
