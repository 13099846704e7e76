"""The resolution read on PostgreSQL without SQLAlchemy: same answers as the ORM path, one
statement for many, a dropped connection replaced once, an unreachable server ``Unavailable``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from registry import ADMIN, Handle, HandleValue, RecordService, Unavailable
from registry.storage import Database
from registry.storage.point_reads import PgPointReads

from ..databases import fresh_database, migrate
from ..servers import free_port

HANDLE = Handle.parse("88.118.8/POINT-1")


@pytest.fixture
async def pg(tmp_path: Path) -> AsyncIterator[Database]:
    async with fresh_database("postgresql", tmp_path) as url:
        db = Database(await migrate(url))
        try:
            yield db
        finally:
            await db.dispose()


async def test_reads_what_was_written_and_nothing_for_a_missing_handle(pg: Database) -> None:
    records = RecordService(pg)
    await records.put(ADMIN, HANDLE, [HandleValue(1, "URL", "string", "https://e.example/")])
    record = await records.get(HANDLE)
    assert record is not None and record.values[0].value == "https://e.example/"
    assert await records.get(Handle.parse("88.118.8/NOPE")) is None
    many = await records.get_many([HANDLE, Handle.parse("88.118.8/NOPE")])
    assert list(many) == [str(HANDLE)]
    assert pg._points is not None  # the PostgreSQL path was the one taken


async def test_a_connection_the_server_dropped_is_replaced_and_the_read_retried(
    pg: Database,
) -> None:
    records = RecordService(pg)
    await records.put(ADMIN, HANDLE, [HandleValue(1, "URL", "string", "https://e.example/")])
    assert await records.get(HANDLE) is not None
    points = pg._points
    assert points is not None
    admin = await asyncpg.connect(points.dsn)
    try:
        # Every idle pooled connection of the lookup pool killed, as a server restart would.
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert await records.get(HANDLE) is not None


async def test_an_unreachable_server_is_unavailable() -> None:
    points = PgPointReads(
        f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/none", connect_timeout=1
    )
    try:
        with pytest.raises(Unavailable, match="storage is unavailable"):
            await points.values_text("88.118.8/X")
    finally:
        await points.close()
