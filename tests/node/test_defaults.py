"""A node started with defaults works or says why not: the credential key, the schema check."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from node import Settings, create_app
from registry.trust import CREDENTIAL_KEY_FILE, cipher_password, ensure_credential_key
from registry.trust.cipher import CHINA_TIME

from ..databases import migrate
from ..servers import NodeProcess, ThreadedServer


def idnode(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "node", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_cipher_login_works_on_a_node_started_with_migrate_and_serve_alone(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IDNODE_CREDENTIAL_KEY", raising=False)
    keys = tmp_path / "keys"
    env = {"IDNODE_DATABASE_URL": database_url, "IDNODE_KEYS_DIR": str(keys)}
    idnode(env, "migrate")
    with NodeProcess(env) as node:
        # Issued by another process than the one that serves: both use the key kept in keys/.
        issued = json.loads(
            idnode(
                env, "admin", "enterprise", "create", "--name", "Acme", "--prefix", "88.118.8",
                "--json",
            ).stdout
        )  # fmt: skip
        today = datetime.now(UTC).astimezone(CHINA_TIME).date()
        login = {
            "username": issued["username"],
            "password": cipher_password(issued["password"], today),
        }
        answer = httpx.post(f"{node.url}/identity/token/v1", json=login, timeout=30)
        assert answer.json()["status"] == 1, answer.text
        assert answer.json()["data"]["token"]
    key_file = keys / CREDENTIAL_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_processes_starting_together_keep_one_credential_key(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: ensure_credential_key(tmp_path / "keys"), range(16)))
    sealed = keys[0].seal("300:88.118.8/ADMIN", "secret")
    today = datetime.now(UTC).astimezone(CHINA_TIME).date()
    cipher = cipher_password("secret", today)
    assert all(key.check("300:88.118.8/ADMIN", sealed, cipher) for key in keys)
    assert [p.name for p in (tmp_path / "keys").iterdir()] == [CREDENTIAL_KEY_FILE]


def test_readyz_is_503_on_an_unmigrated_database_until_it_is_migrated(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, node_code="88.118")
    with ThreadedServer(create_app(settings)) as server:
        # Alive all along (liveness): only readiness waits for the schema.
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200
        unmigrated = httpx.get(f"{server.url}/readyz", timeout=30)
        assert unmigrated.status_code == 503
        assert unmigrated.json()["reason"] == "schema"
        assert "not migrated" in unmigrated.json()["message"]
        assert "idnode migrate" in unmigrated.json()["message"]

        asyncio.run(migrate(database_url))
        migrated = httpx.get(f"{server.url}/readyz", timeout=30)
        assert migrated.status_code == 200, migrated.text
        assert migrated.json()["status"] == "ok"
