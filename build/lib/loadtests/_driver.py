"""The open-loop driver: requests leave on a fixed schedule whether or not earlier ones returned.

Each latency is measured from the moment the request was *due*, not from when it was sent, so a
stalled node (or a full connection pool) cannot hide its stall by slowing the load down — the
coordinated-omission correction. The service time (sent → answered) is kept beside it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tqdm import tqdm

from ._http import error_kind
from ._latency import IntervalRow, LatencyRecorder, Timeline

__all__ = ["Outcome", "RunResult", "run_open_loop"]


@dataclass(frozen=True)
class Outcome:
    """How one request went: ``kind`` is ``"ok"`` or the error kind; ``items`` it carried."""

    ok: bool
    kind: str = "ok"
    items: int = 1


OK = Outcome(True)

Call = Callable[[int], Awaitable[Outcome]]


@dataclass
class RunResult:
    """Everything a run measured."""

    rate: float
    duration: float
    scheduled: int = 0
    completed: int = 0
    succeeded: int = 0
    items_ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: LatencyRecorder = field(default_factory=LatencyRecorder)
    service: LatencyRecorder = field(default_factory=LatencyRecorder)
    timeline: list[IntervalRow] = field(default_factory=list)
    lag: LatencyRecorder = field(default_factory=LatencyRecorder)
    elapsed: float = 0.0
    max_lag: float = 0.0
    warmup: float = 0.0
    warmup_errors: int = 0
    interrupted: bool = False
    started_at: float = 0.0


async def run_open_loop(
    call: Call,
    *,
    rate: float,
    duration: float,
    progress: bool = True,
    label: str = "requests",
    warmup: float = 0.0,
) -> RunResult:
    """Call ``call(i)`` for i = 0, 1, … at ``rate`` per second for ``duration`` seconds.

    The first ``warmup`` seconds run at the same rate but are not measured (connections opened,
    caches filled); request numbers carry on across the boundary.
    """
    if rate <= 0 or duration <= 0 or warmup < 0:
        raise ValueError("rate and duration must be positive, warmup not negative")
    loop = asyncio.get_running_loop()
    warm = round(rate * warmup)
    total = max(1, round(rate * duration))
    result = RunResult(
        rate=rate, duration=duration, scheduled=total, started_at=time.time(), warmup=warmup
    )
    timeline = Timeline()
    bar = tqdm(total=warm + total, unit="req", desc=label, disable=not progress, leave=True)
    start = loop.time() + 0.05
    measured_from = start + warm / rate

    async def one(i: int, due: float) -> None:
        sent = loop.time()
        try:
            outcome = await call(i)
        except Exception as exc:  # any failure of one request is data, not a crash of the run
            outcome = Outcome(False, error_kind(exc), 0)
        done = loop.time()
        if i < warm:
            result.warmup_errors += not outcome.ok
            bar.update(1)
            return
        result.latency.record(done - due)
        result.service.record(done - sent)
        timeline.record(done - measured_from, done - due, outcome.ok)
        result.completed += 1
        if outcome.ok:
            result.succeeded += 1
            result.items_ok += outcome.items
        else:
            result.errors[outcome.kind] += 1
        bar.update(1)
        if result.errors and result.completed % 50 == 0:
            bar.set_postfix(errors=sum(result.errors.values()), refresh=False)

    tasks: set[asyncio.Task[None]] = set()
    try:
        for i in range(warm + total):
            due = start + i / rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            # How late the generator itself is: if this grows, the driver is the bottleneck.
            lag = loop.time() - due
            result.max_lag = max(result.max_lag, lag)
            if i >= warm:
                result.lag.record(max(lag, 0.0))
            task = asyncio.create_task(one(i, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks:
            await asyncio.gather(*tasks)
    except asyncio.CancelledError:
        # Ctrl-C: keep what was measured so the caller can still write a report.
        result.interrupted = True
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        result.scheduled = result.completed
    bar.close()
    elapsed = loop.time() - measured_from
    result.elapsed = elapsed if result.interrupted else max(elapsed, duration)
    result.timeline = timeline.finish()
    return result
