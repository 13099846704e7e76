"""A served node signs batches in its sealing process, and that process lives and dies with it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from loadtests import process_tree
from registry import parse_values
from registry.codec import digest_values
from registry.trust import KeyStore
from registry.trust.jose import verify_jws

from ..conftest import ADMIN_TOKEN
from ..databases import migrate
from ..servers import NodeProcess
from .helpers import create_enterprise

BATCH = 300


def _spawned(pid: int) -> list[int]:
    """The node's sealing processes (and multiprocessing's resource tracker beside them)."""
    found = []
    for child in process_tree(pid)[1:]:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"multiprocessing." in command:
            found.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def _wait_gone(pids: list[int], seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(map(_alive, pids)):
        time.sleep(0.05)
    return [pid for pid in pids if _alive(pid)]


@pytest.fixture
async def node(tmp_path: Path) -> tuple[NodeProcess, KeyStore]:
    """A migrated node on SQLite with an ES256 key, not started yet."""
    keys = KeyStore(tmp_path / "keys")
    keys.generate("ES256")
    url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}")
    env = {
        "IDNODE_DATABASE_URL": url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_KEYS_DIR": str(keys.directory),
    }
    return NodeProcess(env), keys


def _register(url: str) -> dict:
    """Log in as a new enterprise and register ``BATCH`` identifiers in one batchCreate."""
    acme = create_enterprise(url, "Acme", "88.118.8")
    with httpx.Client(base_url=url, timeout=60) as client:
        login = client.post(
            "/identity/token", json={"username": acme["username"], "password": acme["password"]}
        )
        token = login.json()["data"]["token"]
        items = [
            {
                "handle": f"88.118.8/SEAL-{n}",
                "value": [{"index": 1, "type": "URL", "data": f"https://example.com/{n}"}],
            }
            for n in range(BATCH)
        ]
        response = client.post(
            "/identityv2/data/batchCreate", json=items, headers={"Authorization": token}
        )
        return response.json()


def _assert_signed(url: str, jwk: dict) -> None:
    for n in (0, BATCH // 2, BATCH - 1):
        handle = f"88.118.8/SEAL-{n}"
        record = httpx.get(f"{url}/api/handles/{handle}", timeout=10).json()
        values = parse_values(record["values"])
        signature = next(v for v in values if v.type == "HS_SIGNATURE")
        claims = verify_jws(signature.value, jwk)
        assert claims["sub"] == handle
        assert claims["digests"] == digest_values([v for v in values if v.type != "HS_SIGNATURE"])


def test_batches_are_signed_in_the_sealing_process_and_verify(
    node: tuple[NodeProcess, KeyStore],
) -> None:
    server, keys = node
    active = keys.active()
    assert active is not None
    with server:
        assert server.process is not None
        body = _register(server.url)
        assert body["status"] == 1, body
        assert [item["msg"] for item in body["data"]] == ["success"] * BATCH
        sealers = _spawned(server.process.pid)
        workers = [
            pid for pid in sealers if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 1, "the default node runs one sealing process"
        _assert_signed(server.url, active.public_jwk())
        server.stop()
        assert _wait_gone(sealers) == [], "the sealing process outlived the node"


def test_the_sealing_process_does_not_outlive_a_killed_node(
    node: tuple[NodeProcess, KeyStore],
) -> None:
    server, _ = node
    with server:
        assert server.process is not None
        body = _register(server.url)
        assert body["status"] == 1, body
        sealers = _spawned(server.process.pid)
        assert sealers
        server.kill()
        assert _wait_gone(sealers) == [], "the sealing process outlived the killed node"


def test_with_no_sealing_processes_batches_are_signed_in_the_node(
    node: tuple[NodeProcess, KeyStore],
) -> None:
    server, keys = node
    server = NodeProcess({**server.env, "IDNODE_SEALING_PROCESSES": "0"})
    active = keys.active()
    assert active is not None
    with server:
        assert server.process is not None
        body = _register(server.url)
        assert [item["msg"] for item in body["data"]] == ["success"] * BATCH, body
        assert _spawned(server.process.pid) == []
        _assert_signed(server.url, active.public_jwk())
