"""``idnode backup`` and ``idnode restore``: back up, wipe, restore into an empty node, resolve."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from node import Settings, create_app
from node.context import NodeContext
from node.trust import publish_keys, verify_handle
from registry.trust import KeyStore, cipher_password
from registry.trust.cipher import CHINA_TIME
from toplevel import RootAuthority

from ..commands import idnode
from ..conftest import ADMIN_TOKEN
from ..databases import fresh_database
from ..servers import ThreadedServer
from .helpers import PRODUCT_TEMPLATE, basic_auth, create_enterprise

HANDLE = "88.118.8/JXDY2106023"


@pytest.fixture(autouse=True)
def _no_ambient_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """``make test`` exports the demo's IDNODE_CREDENTIAL_KEY; these nodes keep theirs on disk."""
    for name in ("IDNODE_CREDENTIAL_KEY", "IDNODE_KEY_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)


def _node(url: str, keys: Path) -> Settings:
    # No IDNODE_CREDENTIAL_KEY: the node keeps credential.key in its keys directory.
    return Settings(
        database_url=url, node_code="88.118", admin_token=SecretStr(ADMIN_TOKEN), keys_dir=str(keys)
    )


def _cli(settings: Settings, *args: str):
    env = {"IDNODE_DATABASE_URL": settings.database_url, "IDNODE_KEYS_DIR": settings.keys_dir}
    return idnode(env, *args)


def _cipher_login(url: str, credential: dict) -> str:
    today = datetime.now(UTC).astimezone(CHINA_TIME).date()
    response = httpx.post(
        f"{url}/identity/token/v1",
        json={
            "username": credential["username"],
            "password": cipher_password(credential["password"], today),
        },
    )
    assert response.json()["status"] == 1, response.text
    return response.json()["data"]["token"]


async def _populate(settings: Settings, root: RootAuthority) -> dict:
    """A node with a certified key, an enterprise, a signed record and a template."""
    store = KeyStore(settings.keys_dir)
    info = store.generate()
    active = store.active()
    assert active is not None
    store.set_certificate(info.kid, root.certify_node("88.118", active.public_jwk(), info.index))
    async with NodeContext(settings) as context:
        await publish_keys(context.records, settings)
    with ThreadedServer(create_app(settings)) as server:
        credential = create_enterprise(server.url, "Acme", "88.118.8")
        put = httpx.put(
            f"{server.url}/api/handles/{quote(HANDLE)}",
            json={"values": [{"index": 1, "type": "URL", "data": "https://acme.example/1"}]},
            auth=basic_auth(credential),
        )
        assert put.status_code == 201, put.text
        token = _cipher_login(server.url, credential)
        created = httpx.post(
            f"{server.url}/snms/api/v5/template",
            json=PRODUCT_TEMPLATE,
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.json()["status"] == 1, created.text
        verdict = await verify_handle(HANDLE, root.root_certificate(), url=server.url)
        assert verdict.trusted, verdict.problems
    return credential


async def test_back_up_wipe_and_restore_into_an_empty_node_that_resolves_and_verifies(
    backend: str, migrated_url: str, tmp_path: Path
):
    root = RootAuthority.open(tmp_path / "root")
    source = _node(migrated_url, tmp_path / "keys")
    credential = await _populate(source, root)
    archive = tmp_path / "node.idbackup"

    backed_up = _cli(source, "backup", str(archive), "--json")
    assert backed_up.returncode == 0, backed_up.stderr
    summary = json.loads(backed_up.stdout)
    assert summary["tables"]["records"] >= 2  # the record and the node's keys at 0.NA/88.118
    assert summary["tables"]["templates"] == 1 and summary["tables"]["credentials"] == 1
    assert {"keys.json", "credential.key"} <= set(summary["keyFiles"])
    assert archive.stat().st_mode & 0o077 == 0  # it holds private keys

    # Wiped: a new database and an empty keys directory, as on a machine rebuilt.
    async with fresh_database(backend, tmp_path / "wiped") as empty_url:
        restored = _node(empty_url, tmp_path / "wiped" / "keys")
        result = _cli(restored, "restore", str(archive))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("restored ")
        assert sorted(p.name for p in Path(restored.keys_dir).iterdir()) == sorted(
            summary["keyFiles"]
        )
        with ThreadedServer(create_app(restored)) as server:
            answer = httpx.get(f"{server.url}/api/handles/{quote(HANDLE)}")
            assert answer.status_code == 200, answer.text
            urls = [v["data"]["value"] for v in answer.json()["values"] if v["type"] == "URL"]
            assert urls == ["https://acme.example/1"]
            verdict = await verify_handle(HANDLE, root.root_certificate(), url=server.url)
            assert verdict.trusted, verdict.problems
            # The credential key came back: the cipher login's sealed verifier opens.
            token = _cipher_login(server.url, credential)
            templates = httpx.get(
                f"{server.url}/snms/api/v5/template?prefix=88.118.8",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert [t["version"] for t in templates.json()["data"]] == ["1.0"]
            # Ids continue past the restored ones (PostgreSQL sequences moved on).
            other = create_enterprise(server.url, "Other", "88.118.9")
            assert other["username"] != credential["username"]
            rewritten = httpx.put(
                f"{server.url}/api/handles/{quote(HANDLE)}",
                json={"values": [{"index": 1, "type": "URL", "data": "https://acme.example/2"}]},
                auth=basic_auth(credential),
            )
            assert rewritten.status_code in (200, 201), rewritten.text

        again = _cli(restored, "restore", str(archive))
        assert again.returncode == 1
        assert "the node is not empty" in again.stderr and "--force" in again.stderr
        forced = _cli(restored, "restore", str(archive), "--force")
        assert forced.returncode == 0, forced.stderr
        with ThreadedServer(create_app(restored)) as server:
            answer = httpx.get(f"{server.url}/api/handles/{quote(HANDLE)}")
            urls = [v["data"]["value"] for v in answer.json()["values"] if v["type"] == "URL"]
            assert urls == ["https://acme.example/1"]  # the backup's, not the later write


@pytest.fixture
def sqlite_node(tmp_path: Path) -> Settings:
    url = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    node = _node(url, tmp_path / "keys")
    assert _cli(node, "migrate").returncode == 0
    assert _cli(node, "keys", "generate").returncode == 0
    assert _cli(node, "demo").returncode == 0
    return node


def _empty(tmp_path: Path, name: str) -> Settings:
    return _node(f"sqlite+aiosqlite:///{tmp_path / name}.db", tmp_path / f"{name}-keys")


def test_a_damaged_or_foreign_archive_is_refused_before_anything_is_written(
    sqlite_node: Settings, tmp_path: Path
):
    archive = tmp_path / "node.zip"
    assert _cli(sqlite_node, "backup", str(archive)).returncode == 0
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(damaged, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            copy.writestr(item, data + b"\n" if item.filename == "db/records.jsonl" else data)
    missing = tmp_path / "missing.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(missing, "w") as copy:
        for item in source.infolist():
            if item.filename != "keys/keys.json":
                copy.writestr(item, source.read(item))
    (tmp_path / "text.zip").write_text("not a zip")
    cases = {
        str(damaged): "db/records.jsonl fails its checksum",
        str(missing): "keys/keys.json is missing",
        str(tmp_path / "text.zip"): "is not an idnode backup (not a zip archive)",
        str(tmp_path / "absent.zip"): "no backup at",
    }
    for path, message in cases.items():
        target = _empty(tmp_path, Path(path).stem)
        result = _cli(target, "restore", path)
        assert result.returncode == 1, (path, result.stdout)
        assert message in result.stderr, result.stderr
        assert not Path(target.keys_dir).exists()
        assert not Path(target.database_url.split("///")[1]).exists()

    # A node migrated but empty, as after `idnode migrate` on a new machine, takes it.
    migrated = _empty(tmp_path, "migrated")
    assert _cli(migrated, "migrate").returncode == 0
    restored = _cli(migrated, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert _cli(migrated, "restore", str(archive)).returncode == 1  # not empty any more

    refused = _cli(sqlite_node, "backup", str(archive))
    assert refused.returncode == 1 and "--overwrite" in refused.stderr
    assert _cli(sqlite_node, "backup", str(archive), "--overwrite").returncode == 0


def test_a_table_a_later_migration_adds_is_backed_up_without_a_change(
    sqlite_node: Settings, tmp_path: Path
):
    path = sqlite_node.database_url.split("///")[1]
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE later_table (id INTEGER PRIMARY KEY, action TEXT, at BLOB)"
        )
        connection.execute("INSERT INTO later_table VALUES (1, 'later-row', x'00ff')")
    archive = tmp_path / "node.zip"
    result = _cli(sqlite_node, "backup", str(archive), "--json")
    assert json.loads(result.stdout)["tables"]["later_table"] == 1
    with zipfile.ZipFile(archive) as backup:
        assert backup.read("db/later_table.jsonl") == b'[1, "later-row", {"$bytes": "AP8="}]\n'
    # This idnode's migrations make no such table: the restore says so, and writes no keys.
    target = _empty(tmp_path, "target")
    refused = _cli(target, "restore", str(archive))
    assert refused.returncode == 1
    assert "the database has no table later_table" in refused.stderr
    assert not Path(target.keys_dir).exists()
