"""Writes of the same moment in one statement: a lone write is a statement of one, a crowd
shares few, the same key never twice in one, each item its own outcome, a statement's own
failure shared, a bounded number running at once."""

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
            await self.gate.wait()
            if self.broken:
                raise ConnectionError("storage went away")
            return [ValueError(f"{item} refused") if item in self.refuse else item.upper()
                    for item in items]  # fmt: skip
        finally:
            self.running -= 1


def _batcher(store: Store, **limits: int) -> StatementBatcher[str, str]:
    return StatementBatcher(store.run_many, lambda item: item.split("#")[0], **limits)


async def test_a_lone_write_is_a_statement_of_one() -> None:
    store = Store()
    assert await _batcher(store).submit("a") == "A"
    assert store.statements == [["a"]]


async def test_writes_of_one_moment_share_a_statement_and_each_gets_its_own_result() -> None:
    store = Store()
    batcher = _batcher(store)
    items = [f"h{i}" for i in range(20)]
    assert await asyncio.gather(*(batcher.submit(item) for item in items)) == [
        item.upper() for item in items
    ]
    assert store.statements == [items]
    assert batcher.statements == 1


async def test_the_same_key_waits_for_the_next_statement() -> None:
    store = Store()
    batcher = _batcher(store)
    results = await asyncio.gather(*(batcher.submit(item) for item in ("a#1", "b", "a#2", "a#3")))
    assert results == ["A#1", "B", "A#2", "A#3"]
    assert store.statements == [["a#1", "b"], ["a#2"], ["a#3"]]


async def test_an_item_refused_fails_alone_and_a_broken_statement_fails_all() -> None:
    store = Store()
    batcher = _batcher(store)
    store.refuse = {"bad"}
    results = await asyncio.gather(
        *(batcher.submit(item) for item in ("ok1", "bad", "ok2")), return_exceptions=True
    )
    assert results[0] == "OK1" and results[2] == "OK2"
    assert isinstance(results[1], ValueError) and "bad refused" in str(results[1])
    store.broken = True
    results = await asyncio.gather(
        *(batcher.submit(item) for item in ("x", "y")), return_exceptions=True
    )
    assert all(isinstance(result, ConnectionError) for result in results)
    # Not stuck: the next write goes through.
    store.broken = False
    assert await batcher.submit("z") == "Z"


async def test_statements_running_at_once_are_bounded_and_the_rest_gather() -> None:
    store = Store()
    batcher = _batcher(store, max_running=2, max_batch=4)
    store.gate.clear()
    first = [asyncio.ensure_future(batcher.submit(f"a{i}")) for i in range(3)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    second = [asyncio.ensure_future(batcher.submit(f"b{i}")) for i in range(3)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    # Both slots taken: these wait, together, for a statement to end.
    waiting = [asyncio.ensure_future(batcher.submit(f"c{i}")) for i in range(6)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.statements == [["a0", "a1", "a2"], ["b0", "b1", "b2"]]
    store.gate.set()
    await asyncio.gather(*first, *second, *waiting)
    assert store.most_running == 2
    assert store.statements[2:] == [["c0", "c1", "c2", "c3"], ["c4", "c5"]]


async def test_a_writer_that_goes_away_leaves_the_others_their_results() -> None:
    store = Store()
    batcher = _batcher(store)
    store.gate.clear()
    gone = asyncio.ensure_future(batcher.submit("gone"))
    stays = asyncio.ensure_future(batcher.submit("stays"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    gone.cancel()
    store.gate.set()
    assert await stays == "STAYS"
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_a_statement_that_stalls_stops_holding_up_the_writes_behind_it() -> None:
    store = Store()
    batcher = _batcher(store, stall_after=0.05)
    started: dict[str, float] = {}
    run_many = store.run_many

    async def timed(items: Sequence[str]) -> list[str | BaseException]:
        started[items[0]] = asyncio.get_running_loop().time()
        return await run_many(items)

    batcher.run_many = timed
    store.gate.clear()
    stuck = asyncio.ensure_future(batcher.submit("stuck"))
    await asyncio.sleep(0)
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
