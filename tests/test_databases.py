"""The suite's migrated databases: each test's starts with no rows, and fresh sequences."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from registry.storage import Database

from .databases import BACKENDS, MigratedDatabases


async def _add_enterprise(url: str) -> int:
    db = Database(url)
    try:
        async with db.write() as session:
            result = await session.execute(
                text(
                    "INSERT INTO enterprises (name, created_at) VALUES ('Acme', CURRENT_TIMESTAMP)"
                    " RETURNING id"
                )
            )
            return result.scalar_one()
    finally:
        await db.dispose()


async def _count(url: str, table: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            return (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    finally:
        await db.dispose()


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_test_never_sees_the_rows_of_the_one_before(
    kind: str, tmp_path: Path, _migrated_databases: MigratedDatabases
) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = await _migrated_databases.get(kind, tmp_path / "first")
    assert await _add_enterprise(first) == 1
    assert await _add_enterprise(first) == 2

    second = await _migrated_databases.get(kind, tmp_path / "second")
    assert await _count(second, "enterprises") == 0
    assert await _add_enterprise(second) == 1  # the sequence starts again too


async def test_a_changed_postgresql_schema_is_cloned_anew(
    tmp_path: Path, _migrated_databases: MigratedDatabases
) -> None:
    url = await _migrated_databases.get("postgresql", tmp_path)
    db = Database(url)
    try:
        async with db.write() as session:
            await session.execute(text("DROP TABLE outbox"))
    finally:
        await db.dispose()

    again = await _migrated_databases.get("postgresql", tmp_path)
    assert await _count(again, "outbox") == 0


@pytest.mark.parametrize("kind", BACKENDS)
async def test_two_sessions_never_share_a_database(kind: str, tmp_path: Path) -> None:
    # `make test` runs several pytest-xdist workers at once, each a session of its own.
    sessions = (MigratedDatabases(), MigratedDatabases())
    try:
        (tmp_path / "first").mkdir()
        (tmp_path / "second").mkdir()
        first = await sessions[0].get(kind, tmp_path / "first")
        second = await sessions[1].get(kind, tmp_path / "second")
        assert first != second
        assert await _add_enterprise(first) == 1
        assert await _count(second, "enterprises") == 0
    finally:
        for session in sessions:
            await session.close()
