"""SQLite's write transactions run their statements on the loop's thread, and wait only off it."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from registry import Unavailable
from registry.storage import Database
from registry.storage import _sqlite_inline as inline
from registry.storage import database as storage_module

from .sqlite_locks import locked_elsewhere, loop_ticks


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "inline.db"


@pytest.fixture
async def db(path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{path}")
    async with database.write() as session:
        await session.execute(text("CREATE TABLE log (n INTEGER PRIMARY KEY, note TEXT)"))
    yield database
    await database.dispose()


def _stored(path: Path) -> list[int]:
    with closing(sqlite3.connect(path)) as connection:
        return [n for (n,) in connection.execute("SELECT n FROM log ORDER BY n")]


async def _traced(session: AsyncSession) -> list[tuple[str, int]]:
    """(statement, thread id) of each statement the session's driver connection runs from now."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert isinstance(raw, sqlite3.Connection)
    seen: list[tuple[str, int]] = []
    raw.set_trace_callback(lambda statement: seen.append((statement, threading.get_ident())))
    return seen


async def test_a_write_is_durable_once_the_block_ends(db: Database, path: Path):
    async with db.write() as session:
        await session.execute(text("INSERT INTO log VALUES (1, 'a'), (2, 'b')"))
    await db.dispose()
    assert _stored(path) == [1, 2]  # a fresh connection, after the engine is gone


async def test_a_write_that_raises_stores_nothing(db: Database, path: Path):
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            await session.execute(text("INSERT INTO log VALUES (1, 'a')"))
            raise RuntimeError("the caller fails after the insert")
    with pytest.raises(Exception, match="UNIQUE"):
        async with db.write() as session:
            await session.execute(text("INSERT INTO log VALUES (2, 'b')"))
            await session.execute(text("INSERT INTO log VALUES (2, 'again')"))
    async with db.write() as session:  # the connection is usable again
        await session.execute(text("INSERT INTO log VALUES (3, 'c')"))
    assert _stored(path) == [3]


async def test_statements_run_on_the_loop_thread_and_the_commit_off_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(inline, "INLINE_BUDGET", 3600.0)  # however slow the machine is today
    loop_thread = threading.get_ident()
    async with db.write() as session:
        seen = await _traced(session)
        await session.execute(text("INSERT INTO log VALUES (1, 'a')"))
        await session.execute(text("SELECT count(*) FROM log"))
    statements = {statement.split()[0]: thread for statement, thread in seen}
    assert statements["INSERT"] == loop_thread
    assert statements["SELECT"] == loop_thread
    assert statements["COMMIT"] != loop_thread


async def test_statements_past_the_budget_go_to_the_worker_until_the_loop_has_a_turn(
    db: Database, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(inline, "INLINE_BUDGET", 1e-9)  # spent by the first statement
    loop_thread = threading.get_ident()
    async with db.write() as session:
        seen = await _traced(session)
        await asyncio.sleep(0)  # a turn for the loop after the BEGIN
        await session.execute(text("INSERT INTO log VALUES (1, 'a')"))
        await session.execute(text("INSERT INTO log VALUES (2, 'b')"))
        many = [{"n": n, "note": "x"} for n in range(10, 10 + inline.INLINE_MANY + 1)]
        await session.execute(text("INSERT INTO log VALUES (:n, :note)"), many)
        await asyncio.sleep(0)  # the loop has a turn: the budget starts again
        await session.execute(text("INSERT INTO log VALUES (3, 'c')"))
    threads = [thread for statement, thread in seen if statement.startswith("INSERT")]
    assert threads[0] == loop_thread
    assert loop_thread not in threads[1:-1]  # the second, and each row of the executemany
    assert threads[-1] == loop_thread
    async with db.read() as session:
        assert (await session.execute(text("SELECT count(*) FROM log"))).scalar() == 20


async def test_savepoints_keep_or_undo_their_part_of_the_write(db: Database, path: Path):
    async with db.write() as session:
        await session.execute(text("INSERT INTO log VALUES (1, 'outer')"))
        async with session.begin_nested():
            await session.execute(text("INSERT INTO log VALUES (2, 'kept')"))
        with pytest.raises(Exception, match="UNIQUE"):
            async with session.begin_nested():
                await session.execute(text("INSERT INTO log VALUES (3, 'undone')"))
                await session.execute(text("INSERT INTO log VALUES (1, 'clash')"))
        await session.execute(text("INSERT INTO log VALUES (4, 'after')"))
    assert _stored(path) == [1, 2, 4]


async def test_a_write_waits_for_another_connections_lock_without_blocking_the_loop(
    db: Database, path: Path
):
    async with loop_ticks() as ticks:
        with locked_elsewhere(path) as other:

            async def write() -> None:
                async with db.write() as session:
                    await session.execute(text("INSERT INTO log VALUES (1, 'after the lock')"))

            writing = asyncio.create_task(write())
            await asyncio.sleep(0.3)
            assert not writing.done()
            before = len(ticks)
            other.execute("COMMIT")  # the lock is free: the waiting write proceeds
            await asyncio.wait_for(writing, 10)
    assert before >= 5  # the loop kept ticking (every 10 ms) while the write waited
    assert _stored(path) == [1]


async def test_a_write_locked_out_past_the_busy_timeout_is_unavailable(
    path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(storage_module, "SQLITE_BUSY_SECONDS", 0.3)
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.write() as session:
            await session.execute(text("CREATE TABLE log (n INTEGER PRIMARY KEY, note TEXT)"))
        async with loop_ticks() as ticks:
            with locked_elsewhere(path), pytest.raises(Unavailable):
                async with database.write() as session:
                    await session.execute(text("INSERT INTO log VALUES (1, 'never')"))
        assert len(ticks) >= 5
        async with database.write() as session:  # free again: the next write goes through
            await session.execute(text("INSERT INTO log VALUES (2, 'later')"))
    finally:
        await database.dispose()
    assert _stored(path) == [2]


async def test_reads_still_run_on_aiosqlite(db: Database):
    async with db.read() as session:
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        assert not isinstance(raw.driver_connection, sqlite3.Connection)


def test_an_in_memory_database_keeps_one_engine():
    database = Database("sqlite+aiosqlite:///:memory:")
    assert database._inline is None
    asyncio.run(database.dispose())


async def test_a_write_cancelled_while_it_waits_for_the_lock_leaves_the_writer_usable(
    db: Database, path: Path
):
    async with loop_ticks() as ticks:
        with locked_elsewhere(path) as other:

            async def write() -> None:
                async with db.write() as session:
                    await session.execute(text("INSERT INTO log VALUES (1, 'cancelled')"))

            writing = asyncio.create_task(write())
            await asyncio.sleep(0.2)
            writing.cancel()
            await asyncio.sleep(0.2)
            other.execute("COMMIT")
            with pytest.raises(asyncio.CancelledError):
                await asyncio.wait_for(writing, 10)
        async with db.write() as session:
            await session.execute(text("INSERT INTO log VALUES (2, 'next')"))
    assert len(ticks) >= 5
    assert _stored(path) == [2]


_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("INSERT INTO log VALUES (1, 'the other process')")
print("holding", flush=True)
sys.stdin.readline()
connection.execute("COMMIT")
"""


async def test_a_write_waits_for_another_process_without_blocking_the_loop(
    db: Database, path: Path
):
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        str(path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert await asyncio.wait_for(holder.stdout.readline(), 10) == b"holding\n"
        async with loop_ticks() as ticks:

            async def write() -> None:
                async with db.write() as session:
                    await session.execute(text("INSERT INTO log VALUES (2, 'this process')"))

            writing = asyncio.create_task(write())
            await asyncio.sleep(0.3)
            assert not writing.done()
            holder.stdin.write(b"\n")  # the other process commits and lets go
            await asyncio.wait_for(writing, 10)
        assert len(ticks) >= 5
    finally:
        if holder.returncode is None:
            holder.stdin.close()
            await holder.wait()
    assert _stored(path) == [1, 2]


async def test_the_writer_keeps_wal_full_sync_and_foreign_keys(db: Database):
    async with db.write() as session:
        pragmas = {
            name: (await session.execute(text(f"PRAGMA {name}"))).scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys")
        }
    assert pragmas == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}


async def test_a_database_that_cannot_be_opened_is_unavailable(path: Path):
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        path.unlink()
        path.mkdir()  # where the file was, something SQLite cannot open
        with pytest.raises(Unavailable):
            async with database.write() as session:
                await session.execute(text("SELECT 1"))
    finally:
        await database.dispose()
