"""A lone new record on a SQLite file goes straight through sqlite3 (``SqliteDirect``): record
and outbox row or nothing, stored as the write engine stores them, only while no other writer
of the process is at work, waiting for another connection's lock off the loop, and durable
through a cancelled caller."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from registry import (
    ADMIN,
    Handle,
    HandleValue,
    RecordService,
    Unavailable,
)
from registry.storage import Database
from registry.storage import database as storage_module
from registry.storage.models import RecordRow

from ..databases import fresh_database, migrate
from .single_writes import new_record, quota_node
from .sqlite_locks import locked_elsewhere, loop_ticks

URL = HandleValue(1, "URL", "string", "https://example.com/")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_database("sqlite", tmp_path) as url:
        database = Database(await migrate(url))
        try:
            yield database
        finally:
            await database.dispose()


def _path(db: Database) -> Path:
    return Path(db.url.split("///", 1)[1])


def _rows(db: Database) -> tuple[list[str], list[str]]:
    with closing(sqlite3.connect(_path(db))) as connection:
        records = [h for (h,) in connection.execute("SELECT handle FROM records ORDER BY handle")]
        outbox = [s for (s,) in connection.execute("SELECT subject FROM outbox ORDER BY seq")]
    return records, outbox


async def test_a_new_record_and_its_outbox_row_or_nothing(db: Database) -> None:
    now = datetime(2026, 12, 4, 8, 30, 15, 123456, tzinfo=UTC)
    assert await db.insert_alone(new_record("88.118.8/D1", now=now)) == (True, False)
    # The same handle again: nothing written, nothing raised.
    assert await db.insert_alone(new_record("88.118.8/D1")) == (False, False)
    # Guarded by a template that is not stored as that text: nothing either.
    guarded = new_record("88.118.8/T1", template_version="1.0", template_body="{}")
    assert await db.insert_alone(guarded) == (False, False)
    assert _rows(db) == (["88.118.8/D1"], ["88.118.8/D1"])
    # Stored as the write engine stores a moment: it reads back the same.
    async with db.read() as session:
        row = (await session.execute(select(RecordRow))).scalar_one()
    assert row.created_at.replace(tzinfo=row.created_at.tzinfo or UTC) == now
    assert row.updated_at == row.created_at


async def test_a_quota_that_may_apply_leaves_the_write_to_a_transaction(db: Database) -> None:
    records, quotas, acme = await quota_node(db)
    before = _rows(db)
    await quotas.set(acme, {"identifiers": 10})
    assert await db.insert_alone(new_record("88.118.9/Q1")) == (False, True)
    assert _rows(db) == before
    # Through the registry the same write goes through a transaction that checks the quota.
    assert await records.put(ADMIN, Handle.parse("88.118.9/Q1"), [URL]) is True
    assert "88.118.9/Q1" in _rows(db)[0]


async def test_only_a_lone_write_goes_direct_concurrent_ones_share_a_commit(
    db: Database,
) -> None:
    records = RecordService(db)
    commits: list[int] = []

    def on_commit(_connection: Any) -> None:
        commits.append(1)

    event.listen(db.write_engine.sync_engine, "commit", on_commit)
    try:
        assert await records.put(ADMIN, Handle.parse("88.118.8/LONE"), [URL]) is True
        assert commits == []  # straight through sqlite3: no transaction of the engine's
        handles = [Handle.parse(f"88.118.8/C{n}") for n in range(8)]
        assert await asyncio.gather(*(records.put(ADMIN, h, [URL]) for h in handles)) == [True] * 8
    finally:
        event.remove(db.write_engine.sync_engine, "commit", on_commit)
    # The first went direct; the seven that found it at work shared one group commit.
    assert len(commits) == 1
    stored, outboxed = _rows(db)
    assert stored == sorted(["88.118.8/LONE", *map(str, handles)])
    assert sorted(outboxed) == stored


async def test_a_lone_write_waits_for_another_connections_lock_off_the_loop(
    db: Database,
) -> None:
    async with loop_ticks() as ticks:
        with locked_elsewhere(_path(db)) as other:
            writing = asyncio.create_task(db.insert_alone(new_record("88.118.8/W1")))
            await asyncio.sleep(0.3)
            assert not writing.done()
            before = len(ticks)
            other.execute("COMMIT")
            assert await asyncio.wait_for(writing, 10) == (True, False)
    assert before >= 5  # the loop kept ticking while the write waited
    assert _rows(db) == (["88.118.8/W1"], ["88.118.8/W1"])


async def test_a_lone_write_locked_out_past_the_busy_timeout_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_module, "SQLITE_BUSY_SECONDS", 0.3)
    async with fresh_database("sqlite", tmp_path) as url:
        db = Database(await migrate(url))
        try:
            with locked_elsewhere(_path(db)), pytest.raises(Unavailable):
                await db.insert_alone(new_record("88.118.8/NEVER"))
            # Free again: the next write goes through.
            assert await db.insert_alone(new_record("88.118.8/LATER")) == (True, False)
            assert _rows(db) == (["88.118.8/LATER"], ["88.118.8/LATER"])
        finally:
            await db.dispose()


async def test_a_caller_cancelled_while_it_waits_leaves_the_writer_usable(db: Database) -> None:
    with locked_elsewhere(_path(db)) as other:
        writing = asyncio.create_task(db.insert_alone(new_record("88.118.8/CANCELLED")))
        await asyncio.sleep(0.2)
        writing.cancel()
        await asyncio.sleep(0.1)
        other.execute("COMMIT")
        with pytest.raises(asyncio.CancelledError):
            await writing
    # Its BEGIN went through on the worker after it left; it was rolled back there.
    assert await db.insert_alone(new_record("88.118.8/NEXT")) == (True, False)
    assert _rows(db) == (["88.118.8/NEXT"], ["88.118.8/NEXT"])
    # And the write engine's own writers are not locked out by it.
    assert await RecordService(db).put(ADMIN, Handle.parse("88.118.8/AFTER"), [URL]) is True
