"""A benchmark phase with a time bound: one that gets stuck fails by name, showing where.

A phase run in the benchmark's own event loop (a storage floor, the resolver without HTTP) has
no subprocess timeout to stop it. ``within`` gives it one: past ``seconds`` it prints the stack
of every task of the loop and raises ``PhaseTimeout`` naming the phase, and should the loop
itself be blocked (no task can run, so no timeout fires), ``faulthandler`` prints every
thread's stack a little later.
"""

from __future__ import annotations

import asyncio
import faulthandler
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["PHASE_GRACE", "PhaseTimeout", "within"]

T = TypeVar("T")
# What a benchmark gives a phase beyond its measured seconds (start-up, warm-up, closing).
PHASE_GRACE = 30.0
# How long after the bound a blocked loop is reported (its threads' stacks).
_BLOCKED_GRACE = 10.0


class PhaseTimeout(RuntimeError):
    """A benchmark phase ran past its bound."""


async def within(seconds: float, name: str, awaitable: Coroutine[Any, Any, T]) -> T:
    """``await awaitable``, for at most ``seconds``; past that, every task's stack on stderr
    (taken before the phase is cancelled, to show what it waits for) and ``PhaseTimeout``."""
    # To the process's own stderr: a blocked loop is reported by a thread of faulthandler's.
    faulthandler.dump_traceback_later(seconds + _BLOCKED_GRACE, exit=False, file=sys.__stderr__)
    phase = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait({phase}, timeout=seconds)
    finally:
        faulthandler.cancel_dump_traceback_later()
    if done:
        return phase.result()
    _print_tasks(name)
    phase.cancel()
    # Its cleanup may be what is stuck: given a little while, then left behind.
    await asyncio.wait({phase}, timeout=_BLOCKED_GRACE)
    raise PhaseTimeout(f"{name} did not finish within {seconds:g} s")


def _print_tasks(name: str) -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    print(f"\n{name}: stuck; {len(tasks)} other task(s) of the loop:", file=sys.stderr)
    for task in tasks:
        task.print_stack(file=sys.stderr)
