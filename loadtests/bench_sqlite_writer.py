"""One SQLite write transaction, in process: the inline writer against aiosqlite's thread.

Each write is what a single registration stores: BEGIN IMMEDIATE, a lookup of the handle, the
record, its outbox row, COMMIT (WAL, ``synchronous=FULL``). Alternates the two paths in rounds on
the same database and prints, per write: wall p50, CPU of the whole process (all threads), CPU of
the event loop's thread, and how many times the loop woke from its selector (each a thread hop).
CPU and wake-ups resist a busy machine better than wall time. Then one bulk transaction on each
path, with the longest time the event loop went without a turn meanwhile (``INLINE_BUDGET``).

    .venv/bin/python -m loadtests.bench_sqlite_writer --writes 300
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from registry.storage import Database

_SCHEMA = (
    "CREATE TABLE records (handle TEXT PRIMARY KEY, prefix TEXT, data TEXT, updated TEXT)",
    "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, kind TEXT, subject TEXT, payload TEXT)",
)
_DATA = '[{"index": 1, "type": "URL", "data": "https://example.org/%d"}]' * 4


def _aiosqlite_writer(db: Database) -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
    """The writer as it was: aiosqlite's thread for every statement."""
    engine = db.engine.execution_options(sqlite_begin="IMMEDIATE")

    @asynccontextmanager
    async def write() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(engine) as session, session.begin():
            yield session

    return write


async def _one(write: Callable[[], AbstractAsyncContextManager[AsyncSession]], n: int) -> None:
    handle = f"21.T1/{n}"
    async with write() as session:
        await session.execute(text("SELECT handle FROM records WHERE handle = :h"), {"h": handle})
        await session.execute(
            text("INSERT INTO records VALUES (:h, '21.T1', :d, 'now')"), {"h": handle, "d": _DATA}
        )
        await session.execute(
            text("INSERT INTO outbox (kind, subject, payload) VALUES ('upsert', :h, :p)"),
            {"h": handle, "p": f'{{"handle": "{handle}"}}'},
        )


async def main(writes: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        db = Database(f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}")
        async with db.write() as session:
            for statement in _SCHEMA:
                await session.execute(text(statement))
        loop = asyncio.get_running_loop()
        selector = loop._selector  # type: ignore[attr-defined]
        wakes = [0]
        select = selector.select

        def counted(timeout: float | None = None) -> Any:
            events = select(timeout)
            wakes[0] += bool(events)
            return events

        selector.select = counted
        paths = {"aiosqlite": _aiosqlite_writer(db), "inline": db.write}
        results: dict[str, dict[str, list[float]]] = {
            name: {"wall": [], "cpu": [], "loop": [], "wakes": []} for name in paths
        }
        n = 0
        for _ in range(rounds):
            for name, write in paths.items():
                for _ in range(writes // rounds):
                    n += 1
                    w0, c0, l0, k0 = (
                        time.perf_counter(),
                        time.process_time(),
                        time.thread_time(),
                        wakes[0],
                    )
                    await _one(write, n)
                    got = results[name]
                    got["wall"].append(time.perf_counter() - w0)
                    got["cpu"].append(time.process_time() - c0)
                    got["loop"].append(time.thread_time() - l0)
                    got["wakes"].append(wakes[0] - k0)
        selector.select = select
        print(
            f"{'path':<10} {'writes':>6} {'wall p50 ms':>11} {'cpu ms':>7} {'loop cpu ms':>11} "
            f"{'wakes':>5}"
        )
        for name, got in results.items():
            print(
                f"{name:<10} {len(got['wall']):>6} {statistics.median(got['wall']) * 1e3:>11.3f} "
                f"{statistics.fmean(got['cpu']) * 1e3:>7.3f} "
                f"{statistics.fmean(got['loop']) * 1e3:>11.3f} "
                f"{statistics.fmean(got['wakes']):>5.2f}"
            )
        print(
            f"\n{'path':<10} {'one transaction of':<30} {'total ms':>8} {'longest loop stall ms':>21}"
        )
        for name, write in paths.items():
            for shape, rows in (
                ("2,000 single-row INSERTs", 2000),
                ("an executemany of 5,000", 5000),
            ):
                total, stall = await _bulk(write, rows, single=rows == 2000)
                print(f"{name:<10} {shape:<30} {total * 1e3:>8.1f} {stall * 1e3:>21.2f}")
        await db.dispose()


async def _bulk(
    write: Callable[[], AbstractAsyncContextManager[AsyncSession]], rows: int, *, single: bool
) -> tuple[float, float]:
    """Wall time of one big write transaction, and the longest the loop went without a turn."""
    stop, gaps = asyncio.Event(), [0.0]

    async def ticker() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.0005)
            now = time.perf_counter()
            gaps[0], last = max(gaps[0], now - last), now

    ticking = asyncio.create_task(ticker())
    started = time.perf_counter()
    insert = text("INSERT INTO outbox (kind, subject, payload) VALUES ('bulk', :s, :p)")
    async with write() as session:
        if single:
            for n in range(rows):
                await session.execute(insert, {"s": f"s{n}", "p": _DATA})
        else:
            await session.execute(insert, [{"s": f"s{n}", "p": _DATA} for n in range(rows)])
    total = time.perf_counter() - started
    stop.set()
    await ticking
    return total, gaps[0]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=400, help="writes per path")
    parser.add_argument("--rounds", type=int, default=8, help="alternations of the two paths")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.writes, arguments.rounds))
