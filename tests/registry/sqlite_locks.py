"""SQLite's write lock held by another connection, and the loop's ticks while a test waits."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path


@contextmanager
def locked_elsewhere(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection (another process, as far as SQLite can tell) holds the write lock."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("ROLLBACK")
        other.close()


@asynccontextmanager
async def loop_ticks() -> AsyncIterator[list[float]]:
    """The loop's time every 10 ms while the block runs: a blocked loop leaves gaps."""
    ticks: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            ticks.append(loop.time())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        yield ticks
    finally:
        stop.set()
        await ticker
