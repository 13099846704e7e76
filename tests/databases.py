"""Test databases: a fresh one per test, or a migrated one that costs no migration.

PostgreSQL comes from ``IDNODE_TEST_POSTGRES_URL`` (default: the local server CI provides). Outside
CI an unreachable server skips the PostgreSQL leg; under ``CI=true`` it fails the test instead.

``fresh_database`` creates an empty database (and drops it after): what a test of the migrations
themselves needs. ``MigratedDatabases`` runs the real Alembic history once per session and backend
and hands each test a migrated database of its own for a few milliseconds: on SQLite a copy of the
migrated file, on PostgreSQL one database cloned from a migrated template and emptied (rows
deleted, past the audit log's append-only triggers; sequences restarted) before each test; cloned again whenever a test left its schema
changed or its rows locked. (``CREATE``/``DROP DATABASE`` cost a second each on PostgreSQL.)
Each pytest-xdist worker (``make test``) is a session of its own, with its own template, database
and files: their names carry a random session id.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from migrations.runner import upgrade
from registry.storage import Base, Database

__all__ = [
    "BACKENDS",
    "MigratedDatabases",
    "fresh_database",
    "migrate",
    "postgres_url",
]

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
_SQLITE_NAME = "idnode.db"

# What a test could change besides rows: tables, columns, indexes and the Alembic revision.
_SCHEMA_FINGERPRINT = """
SELECT md5(
  (SELECT coalesce(string_agg(table_name || '.' || column_name || ':' || data_type || ':'
                              || is_nullable || ':' || coalesce(column_default, ''), ','
                              ORDER BY table_name, column_name), '')
     FROM information_schema.columns WHERE table_schema = 'public')
  || '|' || (SELECT coalesce(string_agg(indexdef, ',' ORDER BY indexdef), '')
               FROM pg_indexes WHERE schemaname = 'public')
  || '|' || (SELECT coalesce(string_agg(version_num, ','), '') FROM alembic_version)
)
"""


def postgres_url() -> str:
    return os.environ.get("IDNODE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_database(name: str) -> str:
    return make_url(postgres_url()).set(database=name).render_as_string(hide_password=False)


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(_asyncpg_dsn(postgres_url()), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {postgres_url()} is unreachable: {exc!r}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the PostgreSQL leg must run)")
        pytest.skip(message)


async def _admin(*statements: str) -> None:
    admin = await _admin_connection()
    try:
        for statement in statements:
            await admin.execute(statement)
    finally:
        await admin.close()


@asynccontextmanager
async def fresh_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database of ``backend``, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / _SQLITE_NAME}"
        return
    name = f"idnode_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _postgres_database(name)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def lock_waiters(connection: asyncpg.Connection, query_like: str = "%") -> list[int]:
    """The backends of ``connection``'s database whose statement (``LIKE query_like``) waits
    on a lock."""
    rows = await connection.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock' AND query LIKE $1",
        query_like,
    )
    return [row[0] for row in rows]


async def migrate(url: str) -> str:
    """Apply the real Alembic history to the database at ``url``; returns ``url``."""
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()
    return url


class MigratedDatabases:
    """Per session: each backend migrated once; ``await get(backend, tmp_path)`` per test."""

    def __init__(self) -> None:
        self._session = uuid.uuid4().hex[:12]
        self._sqlite_template: Path | None = None
        self._postgres_template: str | None = None
        self._postgres_fingerprint = ""
        self._postgres_current: str | None = None

    async def get(self, backend: str, tmp_path: Path) -> str:
        """The URL of a migrated database with no rows, for this test alone."""
        if backend == "sqlite":
            return await self._sqlite(tmp_path)
        return await self._postgres()

    async def _sqlite(self, tmp_path: Path) -> str:
        if self._sqlite_template is None:
            template = Path(tempfile.mkdtemp(prefix="idnode-template-")) / _SQLITE_NAME
            await migrate(f"sqlite+aiosqlite:///{template}")
            # The engine is disposed: the write-ahead log was folded into the file and removed.
            assert not template.with_name(_SQLITE_NAME + "-wal").exists()
            self._sqlite_template = template
        target = tmp_path / _SQLITE_NAME
        shutil.copyfile(self._sqlite_template, target)
        return f"sqlite+aiosqlite:///{target}"

    async def _postgres(self) -> str:
        if self._postgres_template is None:
            name = f"idnode_template_{self._session}"
            await _admin(f'CREATE DATABASE "{name}"')
            self._postgres_template = name
            await migrate(_postgres_database(name))
            connection = await asyncpg.connect(_asyncpg_dsn(_postgres_database(name)), timeout=5)
            try:
                self._postgres_fingerprint = await connection.fetchval(_SCHEMA_FINGERPRINT)
                tables = await connection.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            finally:
                await connection.close()
            # Emptying deletes the models' tables: the history must create no others.
            assert {row[0] for row in tables} == {*Base.metadata.tables, "alembic_version"}
        if self._postgres_current is None or not await self._emptied(self._postgres_current):
            await self._clone()
        assert self._postgres_current is not None
        return _postgres_database(self._postgres_current)

    async def _clone(self) -> None:
        name = f"idnode_test_{self._session}"
        await _admin(
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}" TEMPLATE "{self._postgres_template}"',
        )
        self._postgres_current = name

    async def _emptied(self, name: str) -> bool:
        """Delete every row and restart every sequence; False when that cannot make it fresh."""
        try:
            connection = await asyncpg.connect(_asyncpg_dsn(_postgres_database(name)), timeout=5)
        except (OSError, asyncpg.PostgresError):
            return False
        try:
            if await connection.fetchval(_SCHEMA_FINGERPRINT) != self._postgres_fingerprint:
                return False
            async with connection.transaction():
                # A process a test left running would hold its locks: clone anew rather than wait.
                await connection.execute("SET LOCAL lock_timeout = '2s'")
                # The audit log's triggers refuse DELETE (it is append-only); as a replica,
                # this session fires no triggers.
                await connection.execute("SET LOCAL session_replication_role = replica")
                for table in reversed(Base.metadata.sorted_tables):
                    await connection.execute(f'DELETE FROM "{table.name}"')
                await connection.execute(
                    "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
                    " FROM pg_sequences WHERE schemaname = 'public'"
                )
        except asyncpg.PostgresError:
            return False
        finally:
            await connection.close()
        return True

    async def close(self) -> None:
        """Drop what the session created."""
        if self._sqlite_template is not None:
            shutil.rmtree(self._sqlite_template.parent, ignore_errors=True)
        names = [n for n in (self._postgres_current, self._postgres_template) if n is not None]
        if names:
            await _admin(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names))
