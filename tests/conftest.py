"""Shared fixtures: a migrated database on each backend, and a running node on it."""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx._transports.default
import pytest
from pydantic import SecretStr

from node import Settings, create_app
from registry.storage import Database

from .browsing import launch_browser
from .databases import BACKENDS, MigratedDatabases, fresh_database, migrate
from .servers import ThreadedServer

ADMIN_TOKEN = "test-admin-token"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` run first, so parallel workers (``make test``) finish together."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _own_key_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Signing keys, the top-level's root CA and import jobs live in the test's directory, never
    in ./var."""
    monkeypatch.setenv("IDNODE_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("IDNODE_IMPORTS_DIR", str(tmp_path / "imports"))
    monkeypatch.setenv("IDNODE_TOPLEVEL_ROOT_DIR", str(tmp_path / "root"))


@pytest.fixture(autouse=True, scope="session")
def _native_protocol_off() -> Iterator[None]:
    """The native Handle protocol stays off unless a test gives it a free port of its own.

    For the whole session, so a node a module- or session-scoped fixture starts does not bind the
    default port 2641 either (two workers would take turns failing on it, and so would a
    ``make run`` beside the suite).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IDNODE_HANDLE_PORT", "0")
        yield


@pytest.fixture(autouse=True, scope="session")
def _one_tls_context() -> Iterator[None]:
    """One default TLS context for every httpx client the tests make.

    httpx parses the whole CA bundle again for each client (a tenth of a second on a busy
    machine), and the tests make thousands of clients that never use TLS. A context serves any
    number of clients (httpx's own advice), so the default one is built once per session.
    """
    build = httpx._transports.default.create_ssl_context
    default = functools.cache(build)

    def shared(
        verify: ssl.SSLContext | str | bool = True, cert: object = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is True and cert is None:
            return default(True, None, trust_env)
        return build(verify, cert, trust_env)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx._transports.default, "create_ssl_context", shared)
        yield


@pytest.fixture(scope="session")
def _migrated_databases() -> Iterator[MigratedDatabases]:
    """Each backend migrated once per session (see ``MigratedDatabases``)."""
    databases = MigratedDatabases()
    yield databases
    asyncio.run(databases.close())


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite``, and in a second run of the test, ``postgresql``."""
    return request.param


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on SQLite and, in a second run of the test, on PostgreSQL."""
    async with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
async def _migrated_copy(
    backend: str, tmp_path: Path, _migrated_databases: MigratedDatabases
) -> str:
    return await _migrated_databases.get(backend, tmp_path)


@pytest.fixture
async def _database_url_migrated(database_url: str) -> str:
    return await migrate(database_url)


@pytest.fixture
def migrated_url(request: pytest.FixtureRequest, backend: str) -> str:
    """A database of the test's own with the schema of the real Alembic history, and no rows."""
    if "database_url" in request.fixturenames:
        # The test holds the empty database too: migrate that one, so both name the same.
        return request.getfixturevalue("_database_url_migrated")
    return request.getfixturevalue("_migrated_copy")


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


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Debian chromium under Playwright's sync API, for synchronous tests.

    Name it last among a test's fixtures: Playwright runs its event loop in this thread while
    the browser is open, so async fixtures (the databases) must be set up before it and torn
    down after it.
    """
    with launch_browser() as browser:
        yield browser
