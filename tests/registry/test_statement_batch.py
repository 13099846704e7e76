"""Writes of the same moment in one statement: a write with slots free runs at once and alone,
a crowd beyond them shares few statements, the same key never twice in one, each item its own
outcome, a statement's own failure shared, a bounded number running at once, a stalled one
not holding up the rest."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from registry.storage._statement_batch import StatementBatcher


class Store:
    """A fake ``run_many``: records each statement's items; ``refuse`` fails an item alone,
    ``broken`` the whole statement; ``gate`` holds statements until set."""

    def __init__(self) -> None:
        self.statements: list[list[str]] = []
        self.running = 0
        self.most_running = 0
        self.refuse: set[str] = set()
        self.broken = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def run_many(self, items: Sequence[str]) -> list[str | BaseException]:
        self.statements.append(list(items))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            await asyncio.sleep(0)  # a round trip: the caller waits at least a turn
            await self.gate.wait()
            if self.broken:
                raise ConnectionError("storage went away")
            return [ValueError(f"{item} refused") if item in self.refuse else item.upper()
                    for item in items]  # fmt: skip
        finally:
            self.running -= 1


def _batcher(
    store: Store, *, max_running: int = 4, max_batch: int = 64, stall_after: float = 60.0
) -> StatementBatcher[str, str]:
    # No stall unless a test asks for one: a loaded machine's pause must not start one.
    return StatementBatcher(
        store.run_many,
        lambda item: item.split("#")[0],
        max_batch=max_batch,
        max_running=max_running,
        stall_after=stall_after,
    )


async def test_a_write_with_a_slot_free_runs_at_once_and_alone() -> None:
    store = Store()
    batcher = _batcher(store)
    assert await batcher.submit("a") == "A"
    # Up to max_running writes at once: each a statement of its own, none waiting.
    assert await asyncio.gather(*(batcher.submit(item) for item in "bcde")) == list("BCDE")
    assert store.statements == [["a"], ["b"], ["c"], ["d"], ["e"]]


async def test_writes_beyond_the_running_share_a_statement_each_with_its_own_result() -> None:
    store = Store()
    batcher = _batcher(store, max_running=1)
    items = [f"h{i}" for i in range(20)]
    assert await asyncio.gather(*(batcher.submit(item) for item in items)) == [
        item.upper() for item in items
    ]
    # The first ran at once; the others, queued behind it, went in together.
    assert store.statements == [items[:1], items[1:]]
    assert (batcher.statements, batcher.items) == (2, 20)


async def test_the_same_key_waits_for_another_statement() -> None:
    store = Store()
    batcher = _batcher(store, max_running=1)
    items = ("a#1", "b", "a#2", "c", "a#3")
    assert await asyncio.gather(*(batcher.submit(item) for item in items)) == [
        item.upper() for item in items
    ]
    assert store.statements == [["a#1"], ["b", "a#2", "c"], ["a#3"]]


async def test_an_item_refused_fails_alone_and_a_broken_statement_fails_all() -> None:
    store = Store()
    batcher = _batcher(store, max_running=1)
    store.refuse = {"bad"}
    results = await asyncio.gather(
        *(batcher.submit(item) for item in ("first", "ok1", "bad", "ok2")),
        return_exceptions=True,
    )
    assert store.statements[-1] == ["ok1", "bad", "ok2"]
    assert results[0] == "FIRST" and results[1] == "OK1" and results[3] == "OK2"
    assert isinstance(results[2], ValueError) and "bad refused" in str(results[2])
    store.broken = True
    results = await asyncio.gather(
        *(batcher.submit(item) for item in ("x", "y", "z")), return_exceptions=True
    )
    assert all(isinstance(result, ConnectionError) for result in results)
    # Not stuck: the next write goes through.
    store.broken = False
    assert await batcher.submit("w") == "W"


async def test_statements_running_at_once_are_bounded_and_the_rest_gather() -> None:
    store = Store()
    batcher = _batcher(store, max_running=2, max_batch=4)
    store.gate.clear()
    items = [f"i{n}" for n in range(10)]
    pending = [asyncio.ensure_future(batcher.submit(item)) for item in items]
    for _ in range(5):
        await asyncio.sleep(0)
    # Two ran at once; the others wait, together, for a statement to end.
    assert store.statements == [["i0"], ["i1"]]
    store.gate.set()
    assert await asyncio.gather(*pending) == [item.upper() for item in items]
    assert store.most_running == 2
    assert store.statements[2:] == [["i2", "i3", "i4", "i5"], ["i6", "i7", "i8", "i9"]]


async def test_a_writer_that_goes_away_leaves_the_others_their_results() -> None:
    store = Store()
    batcher = _batcher(store, max_running=1)
    store.gate.clear()
    first = asyncio.ensure_future(batcher.submit("first"))
    gone = asyncio.ensure_future(batcher.submit("gone"))
    stays = asyncio.ensure_future(batcher.submit("stays"))
    for _ in range(3):
        await asyncio.sleep(0)
    gone.cancel()
    store.gate.set()
    assert await first == "FIRST"
    assert await stays == "STAYS"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert store.statements == [["first"], ["gone", "stays"]]


async def test_a_statement_that_stalls_stops_holding_up_the_writes_behind_it() -> None:
    store = Store()
    batcher = _batcher(store, max_running=1, stall_after=0.05)
    started: dict[str, float] = {}
    run_many = store.run_many

    async def timed(items: Sequence[str]) -> list[str | BaseException]:
        started[items[0]] = asyncio.get_running_loop().time()
        return await run_many(items)

    batcher.run_many = timed
    store.gate.clear()
    stuck = asyncio.ensure_future(batcher.submit("stuck"))
    await asyncio.sleep(0)
    behind = asyncio.ensure_future(batcher.submit("behind"))
    async with asyncio.timeout(5):
        while "behind" not in started:
            await asyncio.sleep(0.01)
    # One statement at a time: "behind" started only once "stuck" had run for stall_after.
    assert started["behind"] - started["stuck"] >= 0.045
    assert store.statements == [["stuck"], ["behind"]]
    assert batcher.stalls >= 1
    store.gate.set()
    assert await asyncio.gather(stuck, behind) == ["STUCK", "BEHIND"]
    # Each statement stopped counting once: none is counted as running now.
    assert batcher._running == 0
