"""Secrets at rest: the sync token is sealed in the database, data files are the owner's alone."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text

from node import Settings, create_app
from registry.storage import Database, SyncStore
from registry.storage.models import SyncStateRow
from registry.trust import SecretBox
from toplevel import TopLevelStore, create_toplevel_app

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise
from .syncing import OPERATOR, OPS, wait_until_synced

BOOTSTRAP = "at-rest-bootstrap"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def _stored_token(db: Database) -> str | None:
    async with db.read() as session:
        statement = select(SyncStateRow.value).where(SyncStateRow.name == "toplevel_token")
        return (await session.execute(statement)).scalar_one_or_none()


@pytest.fixture
def toplevel_url(tmp_path: Path) -> Iterator[str]:
    app = create_toplevel_app(
        f"sqlite+aiosqlite:///{tmp_path / 'toplevel.db'}", BOOTSTRAP, operator_token=OPERATOR
    )
    with ThreadedServer(app) as server:
        yield server.url


async def test_the_database_holds_no_usable_sync_token(
    settings: Settings, db: Database, toplevel_url: str
) -> None:
    wired = settings.model_copy(
        update={
            "toplevel_url": toplevel_url,
            "toplevel_bootstrap_token": SecretStr(BOOTSTRAP),
            "sync_idle_seconds": 0.1,
        }
    )
    with ThreadedServer(create_app(wired)) as node:
        credential = create_enterprise(node.url, "Acme", "88.118.8")
        body = {"values": [{"index": 1, "type": "URL", "data": "https://e.com/"}]}
        put = httpx.put(
            f"{node.url}/api/handles/88.118.8/A", json=body, auth=basic_auth(credential)
        )
        assert put.status_code == 201, put.text
        wait_until_synced(node, timeout=120)
        stored = await _stored_token(db)
        assert stored is not None
        # What a copy of the database gives away does not work against the top-level node.
        for candidate in (stored, stored.partition("$")[2]):
            stolen = {"Authorization": f"Bearer {candidate}"}
            assert httpx.get(f"{toplevel_url}/nodes/88.118", headers=stolen).status_code == 401
        copy = httpx.get(f"{toplevel_url}/copies/88.118.8/A", headers=OPS)
        assert copy.status_code == 200


async def test_a_token_stored_in_the_clear_still_works_and_is_sealed(
    db: Database, tmp_path: Path
) -> None:
    box = SecretBox.at(tmp_path / "keys" / "secrets.key")
    assert _mode(tmp_path / "keys" / "secrets.key") == 0o600
    store = SyncStore(db, box)
    await store.put("toplevel_token", "token-of-an-older-version")
    assert await store.token() == "token-of-an-older-version"
    sealed = await _stored_token(db)
    assert sealed is not None and "token-of-an-older-version" not in sealed
    assert await store.token() == "token-of-an-older-version"
    # Under another key (the key file was lost) it is unknown: the node onboards again.
    assert await SyncStore(db, SecretBox.at(tmp_path / "other.key")).token() is None
    await store.set_token("new-token")
    assert await store.token() == "new-token" and "new-token" not in (await _stored_token(db))


async def test_sqlite_files_are_created_private_and_narrowed(tmp_path: Path) -> None:
    older = tmp_path / "older.db"
    older.touch(mode=0o644)
    older.chmod(0o644)
    for path in (tmp_path / "var" / "node.db", tmp_path / "tl" / "toplevel.db", older):
        if path.name == "toplevel.db":
            store = TopLevelStore(f"sqlite+aiosqlite:///{path}")
            await store.open()
            database = store.db
        else:
            database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            async with database.write() as session:
                await session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
                await session.execute(text("INSERT INTO t VALUES (1)"))
            if path is not older:
                assert _mode(path.parent) == 0o700
            for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                assert _mode(each) == 0o600, each
        finally:
            await database.dispose()


def test_idnode_writes_var_for_its_owner_only(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "IDNODE_DATABASE_URL": "sqlite+aiosqlite:///./var/idnode.db",
        "IDNODE_KEYS_DIR": "./var/keys",
    }
    for command in (["migrate"], ["keys", "generate"]):
        subprocess.run(
            [sys.executable, "-m", "node", *command],
            env=env,
            cwd=tmp_path,
            check=True,
            capture_output=True,
            timeout=120,
        )
    var = tmp_path / "var"
    assert _mode(var) == 0o700 and _mode(var / "keys") == 0o700
    assert _mode(var / "idnode.db") == 0o600
    assert {_mode(path) for path in (var / "keys").iterdir()} == {0o600}
