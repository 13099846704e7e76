"""Two secondary nodes and the top-level node, all real processes on loopback: node A resolves
node B's identifiers through the top-level node's prefix directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..conftest import ADMIN_TOKEN
from ..servers import NodeProcess, free_port
from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise
from .syncing import BOOTSTRAP, TopLevel


def _node_env(database_url: str, code: str, toplevel_url: str, port: int) -> dict[str, str]:
    return {
        "IDNODE_DATABASE_URL": database_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_NODE_CODE": code,
        "IDNODE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "IDNODE_TOPLEVEL_URL": toplevel_url,
        "IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN": BOOTSTRAP,
        "IDNODE_SYNC_IDLE_SECONDS": "0.2",
        "IDNODE_SYNC_BACKOFF_MAX_SECONDS": "1",
    }


def _wait_for_directory(toplevel_url: str, prefix: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(f"{toplevel_url}/api/handles/0.NA/{prefix}", timeout=10)
        if response.status_code == 200:
            return response.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"0.NA/{prefix} never reached the directory: {response.text}")
        time.sleep(0.2)


def test_node_a_resolves_node_b_through_the_directory(migrated_url: str, tmp_path: Path) -> None:
    b_url = f"sqlite+aiosqlite:///{tmp_path / 'node-b.db'}"
    subprocess.run(
        [sys.executable, "-m", "node", "migrate"],
        env={**os.environ, "IDNODE_DATABASE_URL": b_url},
        check=True,
        capture_output=True,
        timeout=120,
    )
    toplevel_port, a_port, b_port = free_port(), free_port(), free_port()
    toplevel = TopLevel(tmp_path / "toplevel.db", toplevel_port)
    toplevel_url = toplevel.url
    a_env = _node_env(migrated_url, "88.118", toplevel_url, a_port)
    b_env = _node_env(b_url, "88.119", toplevel_url, b_port)
    a_env["IDNODE_KEYS_DIR"] = str(tmp_path / "keys-a")
    b_env["IDNODE_KEYS_DIR"] = str(tmp_path / "keys-b")
    with (
        toplevel,
        NodeProcess(b_env, port=b_port) as node_b,
        NodeProcess(a_env, port=a_port) as node_a,
    ):
        credential = create_enterprise(node_b.url, "Pump Works", "88.119.5")
        values = [
            {"index": 1, "type": "URL", "data": "https://example.com/pumps/1"},
            {"index": 2, "type": "DESC", "data": "pump housing, lot 7"},
        ]
        put = httpx.put(
            f"{node_b.url}/api/handles/88.119.5/PUMP-1",
            json={"values": values},
            auth=basic_auth(credential),
            timeout=30,
        )
        assert put.status_code == 201, put.text

        directory = _wait_for_directory(toplevel_url, "88.119.5")
        site = next(v for v in directory["values"] if v["type"] == "HS_SITE")
        assert site["data"]["value"]["baseUrl"] == node_b.url

        through_a = httpx.get(f"{node_a.url}/api/handles/88.119.5/PUMP-1", timeout=30)
        assert through_a.status_code == 200, through_a.text
        direct = httpx.get(f"{node_b.url}/api/handles/88.119.5/PUMP-1", timeout=30).json()
        assert through_a.json()["handle"] == "88.119.5/PUMP-1"
        assert through_a.json()["values"] == direct["values"]

        redirect = httpx.get(f"{node_a.url}/88.119.5/PUMP-1", timeout=30)
        assert redirect.status_code == 302
        assert redirect.headers["location"] == "https://example.com/pumps/1"

        unknown = httpx.get(f"{node_a.url}/api/handles/88.120.1/NOBODY", timeout=30)
        assert unknown.status_code == 404 and unknown.json()["responseCode"] == 100

        # A's own identifiers still resolve locally beside the recursive ones.
        own = create_enterprise(node_a.url, "Acme", "88.118.8")
        httpx.put(
            f"{node_a.url}/api/handles/88.118.8/LOCAL",
            json={"values": values[:1]},
            auth=basic_auth(own),
            timeout=30,
        )
        assert httpx.get(f"{node_a.url}/api/handles/88.118.8/LOCAL", timeout=30).status_code == 200
        assert (
            httpx.get(f"{node_a.url}/admin/sync", headers=ADMIN_HEADERS, timeout=30).status_code
            == 200
        )
