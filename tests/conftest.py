"""Shared fixtures: a migrated database on each backend, and a running node on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from node import Settings, create_app
from registry import Database

from .databases import BACKENDS, fresh_database, migrate
from .servers import ThreadedServer

ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(autouse=True)
def _own_key_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing keys and the top-level's root CA live in the test's directory, never in ./var."""
    monkeypatch.setenv("IDNODE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("IDNODE_TOPLEVEL_ROOT_DIR", str(tmp_path / "root"))


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on SQLite and, in a second run of the test, on PostgreSQL."""
    async with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    """A database with the schema applied by the real Alembic history."""
    return await migrate(database_url)


@pytest.fixture
async def db(migrated_url: str) -> AsyncIterator[Database]:
    database = Database(migrated_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(migrated_url: str) -> Settings:
    return Settings(
        database_url=migrated_url,
        node_code="88.118",
        admin_token=SecretStr(ADMIN_TOKEN),
        credential_key=SecretStr("test-credential-key"),
    )


@pytest.fixture
def node_server(settings: Settings) -> Iterator[ThreadedServer]:
    """The node's app served by uvicorn on a free loopback port."""
    with ThreadedServer(create_app(settings)) as server:
        yield server
