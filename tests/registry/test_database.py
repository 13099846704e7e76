"""Write transactions: SQLite's writers in one process take turns on a queue, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from registry import Unavailable
from registry.storage import Database
from registry.storage import database as storage_module

from .. import databases


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    async with database.write() as session:
        await session.execute(text("CREATE TABLE log (n INTEGER)"))
    yield database
    await database.dispose()


async def _hold(
    database: Database,
    entered: asyncio.Event,
    release: asyncio.Event,
    statement: str = "INSERT INTO log VALUES (0)",
) -> None:
    """Run ``statement`` in a write transaction and keep it open until ``release``."""
    async with database.write() as session:
        await session.execute(text(statement))
        entered.set()
        await release.wait()


async def test_sqlite_writers_take_turns_in_the_order_they_came(sqlite: Database):
    entered, release = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold(sqlite, entered, release))
    await entered.wait()

    async def write(n: int) -> None:
        async with sqlite.write() as session:
            await session.execute(text("INSERT INTO log VALUES (:n)"), {"n": n})

    waiting = []
    for n in range(1, 9):
        waiting.append(asyncio.create_task(write(n)))
        await asyncio.sleep(0)  # each one queued before the next comes
    release.set()
    await asyncio.gather(holder, *waiting)
    async with sqlite.read() as session:
        order = list((await session.execute(text("SELECT n FROM log ORDER BY rowid"))).scalars())
    # SQLite's busy handler wakes waiting writers by polling, in no particular order.
    assert order == list(range(9))


async def test_a_writer_that_gets_no_turn_in_time_is_told_storage_is_busy(
    sqlite: Database, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(storage_module, "SQLITE_BUSY_SECONDS", 0.2)
    entered, release = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold(sqlite, entered, release))
    await entered.wait()
    with pytest.raises(Unavailable, match=r"storage is busy: no write turn within 0\.2 s"):
        async with sqlite.write():
            pass
    release.set()
    await holder
    async with sqlite.write() as session:  # the queue is free again
        await session.execute(text("INSERT INTO log VALUES (1)"))


def test_one_database_serves_writers_on_successive_event_loops(tmp_path: Path):
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}")

    async def write(statement: str) -> None:
        async with database.write() as session:
            await session.execute(text(statement))

    asyncio.run(write("CREATE TABLE t (n INTEGER)"))
    asyncio.run(write("INSERT INTO t VALUES (1)"))
    asyncio.run(database.dispose())


async def test_postgresql_writers_are_not_queued_by_the_node(tmp_path: Path):
    async with databases.fresh_database("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            entered, release = asyncio.Event(), asyncio.Event()
            holder = asyncio.create_task(_hold(database, entered, release, "SELECT 1"))
            await entered.wait()
            async with database.write() as session:  # another transaction, at the same time
                assert (await session.execute(text("SELECT 1"))).scalar() == 1
            release.set()
            await holder
        finally:
            await database.dispose()


async def test_postgresql_pre_ping_replaces_a_dead_connection_in_one_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(storage_module, "RECENT_SECONDS", 0.0)  # every checkout pings
    async with databases.fresh_database("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            async with database.write() as session:
                await session.execute(text("CREATE TABLE t (n INTEGER)"))
            async with database.write() as session:  # pooled again: the ping alone, no BEGIN
                pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar()
            # The server ends the pooled connection (a restart, an administrator, a proxy).
            killer = await asyncpg.connect(
                make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            )
            try:
                assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
            finally:
                await killer.close()
            for _ in range(3):  # every pooled connection meets the ping; none fails a write
                async with database.write() as session:
                    await session.execute(text("INSERT INTO t VALUES (1)"))
            async with database.read() as session:
                assert (await session.execute(text("SELECT count(*) FROM t"))).scalar() == 3
        finally:
            await database.dispose()


async def test_the_pre_ping_is_one_statement_outside_any_transaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(storage_module, "RECENT_SECONDS", 0.0)  # every checkout pings
    async with databases.fresh_database("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            async with database.read() as session:  # a pooled connection to ping next time
                await session.execute(text("SELECT 1"))
            sent: list[str] = []
            for name in ("execute", "fetchrow"):  # BEGIN/ROLLBACK go through execute
                original = getattr(asyncpg.Connection, name)

                async def recorded(self, query, *args, _original=original, **kwargs):
                    sent.append(query.strip())
                    return await _original(self, query, *args, **kwargs)

                monkeypatch.setattr(asyncpg.Connection, name, recorded)
            async with database.read() as session:
                await session.execute(text("SELECT 1"))
            assert sent[0] == ";"
            assert not any(query.upper().startswith("ROLLBACK") for query in sent[:2])
        finally:
            await database.dispose()


def _record_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []
    for name in ("execute", "fetchrow", "_execute"):
        original = getattr(asyncpg.Connection, name)

        async def recorded(self, query, *args, _original=original, **kwargs):
            sent.append(query.strip())
            return await _original(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, name, recorded)
    return sent


async def test_a_connection_back_in_the_pool_a_moment_ago_is_not_pinged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(storage_module, "RECENT_SECONDS", 60.0)
    async with databases.fresh_database("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            async with database.read() as session:
                await session.execute(text("SELECT 1"))
            sent = _record_queries(monkeypatch)
            async with database.read() as session:
                await session.execute(text("SELECT 1"))
            assert sent and ";" not in sent
        finally:
            await database.dispose()


async def test_a_connection_killed_a_moment_after_its_use_fails_no_write_with_a_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Within ``RECENT_SECONDS`` the ping is skipped: a write on a connection the server ended
    succeeds (asyncpg saw it closed: pinged, replaced) or fails as ``Unavailable``; the next
    ones succeed on a new connection."""
    monkeypatch.setattr(storage_module, "RECENT_SECONDS", 60.0)
    async with databases.fresh_database("postgresql", tmp_path) as url:
        database = Database(url)
        try:
            async with database.write() as session:
                await session.execute(text("CREATE TABLE t (n INTEGER)"))
            failed = 0
            for settle in (False, True):
                async with database.write() as session:
                    pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar()
                killer = await asyncpg.connect(
                    make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
                )
                try:
                    assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
                finally:
                    await killer.close()
                if settle:  # the server's goodbye reached asyncpg: the checkout sees it closed
                    await asyncio.sleep(0.2)
                outcomes = []
                for _ in range(3):
                    try:
                        async with database.write() as session:
                            await session.execute(text("INSERT INTO t VALUES (1)"))
                    except Unavailable:
                        outcomes.append("unavailable")
                    else:
                        outcomes.append("ok")
                assert outcomes[1:] == ["ok", "ok"], outcomes
                if settle:
                    assert outcomes == ["ok", "ok", "ok"]
                failed += outcomes.count("unavailable")
            async with database.read() as session:
                count = (await session.execute(text("SELECT count(*) FROM t"))).scalar()
            assert count == 6 - failed
        finally:
            await database.dispose()
