"""Sync with the top-level node, with real processes on loopback, on SQLite and PostgreSQL.

The node runs as ``python -m node serve`` and the top-level node as ``python -m node toplevel``;
both are killed, stopped and restarted for real.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from ..conftest import ADMIN_TOKEN
from ..servers import NodeProcess, free_port
from .helpers import basic_auth, create_enterprise
from .syncing import BOOTSTRAP, OPS, TopLevel, journal, sync_status, wait_until_synced

# The issue asks for 10,000; IDNODE_TEST_SYNC_REGISTRATIONS makes a quicker local run possible.
REGISTRATIONS = int(os.environ.get("IDNODE_TEST_SYNC_REGISTRATIONS", "10000"))
# Of those, this many are single Handle REST PUTs; the rest arrive at the same time through SNMS
# batchCreate (a second of work instead of a minute and a half): the backlog is what needs 10,000.
SINGLE_REGISTRATIONS = min(REGISTRATIONS, 1000)
CONCURRENCY = 32
BATCH_ITEMS = 2000  # the most one batchCreate takes


@pytest.fixture
def toplevel_port() -> int:
    return free_port()


@pytest.fixture
def node_env(migrated_url: str, toplevel_port: int) -> dict[str, str]:
    return {
        "IDNODE_DATABASE_URL": migrated_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_NODE_CODE": "88.118",
        "IDNODE_TOPLEVEL_URL": f"http://127.0.0.1:{toplevel_port}",
        "IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN": BOOTSTRAP,
        "IDNODE_SYNC_IDLE_SECONDS": "0.2",
        "IDNODE_SYNC_BACKOFF_MAX_SECONDS": "1",
        "IDNODE_SYNC_BATCH_SIZE": "500",
    }


@pytest.fixture
def node(node_env: dict[str, str]) -> Iterator[NodeProcess]:
    with NodeProcess(node_env) as process:
        yield process


async def register(node_url: str, credential: dict, suffixes: list[str]) -> None:
    """PUT one record per suffix through the Handle REST API, ``CONCURRENCY`` at a time."""
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=node_url, auth=basic_auth(credential), timeout=60, limits=limits
    ) as client:
        queue = list(reversed(suffixes))

        async def worker() -> None:
            while queue:
                suffix = queue.pop()
                body = {"values": [{"index": 1, "type": "URL", "data": f"https://e.com/{suffix}"}]}
                url = f"/api/handles/88.118.8/{quote(suffix)}"
                try:
                    response = await client.put(url, json=body)
                except httpx.TransportError:
                    # A connection dropped under load (e.g. a keep-alive race): retry as a
                    # create-only PUT, so a first attempt that did land is not written twice.
                    response = await client.put(url, json=body, params={"overwrite": "false"})
                    assert response.status_code in (201, 409), response.text
                    continue
                assert response.status_code == 201, response.text

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def register_in_batches(node_url: str, credential: dict, suffixes: list[str]) -> None:
    """Register one record per suffix through SNMS ``batchCreate``, ``BATCH_ITEMS`` at a time."""
    async with httpx.AsyncClient(base_url=node_url, timeout=120) as client:
        login = await client.post(
            "/identity/token",
            json={"username": credential["username"], "password": credential["password"]},
        )
        assert login.status_code == 200, login.text
        token = {"Authorization": login.json()["data"]["token"]}
        for start in range(0, len(suffixes), BATCH_ITEMS):
            items = [
                {
                    "handle": f"88.118.8/{suffix}",
                    "value": [{"index": 1, "type": "URL", "data": f"https://e.com/{suffix}"}],
                }
                for suffix in suffixes[start : start + BATCH_ITEMS]
            ]
            response = await client.post("/identityv2/data/batchCreate", json=items, headers=token)
            assert response.status_code == 200, response.text[:500]
            assert response.json()["message"] == "success", response.text[:500]


def update_in_sequence(node_url: str, credential: dict, handle: str, count: int) -> None:
    with httpx.Client(base_url=node_url, auth=basic_auth(credential), timeout=30) as client:
        for version in range(count):
            body = {"values": [{"index": 1, "type": "URL", "data": f"https://e.com/v{version}"}]}
            assert client.put(f"/api/handles/{handle}", json=body).status_code in (200, 201)


def assert_copies_match(node: NodeProcess, toplevel_url: str, handles: list[str]) -> None:
    with httpx.Client(timeout=30) as client:
        for handle in handles:
            here = client.get(f"{node.url}/api/handles/{handle}").json()["values"]
            there = client.get(f"{toplevel_url}/copies/{handle}", headers=OPS).json()["values"]
            assert [(v["index"], v["data"]) for v in there] == [
                (v["index"], v["data"]) for v in here
            ]


@pytest.mark.slow
async def test_toplevel_down_during_registrations_then_back(
    node: NodeProcess, tmp_path: Path, toplevel_port: int
) -> None:
    credential = create_enterprise(node.url, "Acme", "88.118.8")
    suffixes = [f"R{i:05d}" for i in range(REGISTRATIONS)]
    await asyncio.gather(
        register(node.url, credential, suffixes[:SINGLE_REGISTRATIONS]),
        register_in_batches(node.url, credential, suffixes[SINGLE_REGISTRATIONS:]),
    )
    update_in_sequence(node.url, credential, "88.118.8/R00000", 5)

    # Registration kept working; the changes wait in the outbox and the failure is visible.
    status = sync_status(node)
    assert status["pendingRows"] == REGISTRATIONS + 2 + 5
    assert status["lastAckedSeq"] == 0 and "unreachable" in status["lastError"]

    with TopLevel(tmp_path / "toplevel.db", toplevel_port) as toplevel:
        status = wait_until_synced(node)
        # +1: the node's key record 0.NA/88.118, published once the top-level certified it.
        assert status["lastError"] is None and status["shippedRows"] == REGISTRATIONS + 8
        changes = journal(toplevel.url)

    upserts = Counter(c["subject"] for c in changes if c["kind"] == "handle.upsert")
    assert {f"88.118.8/{s}": 1 for s in suffixes[1:]}.items() <= upserts.items()
    assert upserts["88.118.8/R00000"] == 6 and upserts["0.NA/88.118.8"] == 1
    assert len(changes) == REGISTRATIONS + 8
    # In order: batches one after another, and one handle's changes as they were made.
    assert [c["batchSeq"] for c in changes] == sorted(c["batchSeq"] for c in changes)
    assert changes[0]["kind"] == "prefix.create"
    r0 = [c["changeId"] for c in changes if c["subject"] == "88.118.8/R00000"]
    assert r0 == sorted(r0)


async def test_node_killed_mid_batches_then_restarted(
    node_env: dict[str, str], tmp_path: Path, toplevel_port: int
) -> None:
    env = {**node_env, "IDNODE_SYNC_BATCH_SIZE": "20"}
    suffixes = [f"K{i:04d}" for i in range(600)]
    with TopLevel(tmp_path / "toplevel.db", toplevel_port) as toplevel:
        # Nothing ships while registering; then slow answers keep batches in flight.
        httpx.put(f"{toplevel.url}/faults", json={"errorRate": 1}, headers=OPS).raise_for_status()
        node = NodeProcess(env).start()
        try:
            credential = create_enterprise(node.url, "Acme", "88.118.8")
            await register(node.url, credential, suffixes)
            faults = {"errorRate": 0, "latencyMs": 300}
            httpx.put(f"{toplevel.url}/faults", json=faults, headers=OPS).raise_for_status()
            deadline = time.monotonic() + 60
            while sync_status(node)["lastAckedSeq"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            before = sync_status(node)
            assert before["pendingRows"] > 0
            node.kill()
        finally:
            node.stop()
        httpx.put(f"{toplevel.url}/faults", json={"latencyMs": 0}, headers=OPS).raise_for_status()

        with NodeProcess(env) as restarted:
            wait_until_synced(restarted)
            changes = journal(toplevel.url)
            assert_copies_match(restarted, toplevel.url, [f"88.118.8/{s}" for s in suffixes[::50]])

    # Everything acknowledged arrived once; nothing arrived twice or half.
    subjects = Counter(c["subject"] for c in changes)
    assert all(subjects[f"88.118.8/{s}"] == 1 for s in suffixes)
    assert len(changes) == len(suffixes) + 3  # with the node's key record 0.NA/88.118
    seqs = [c["batchSeq"] for c in changes]
    assert seqs == sorted(seqs) and set(seqs) == set(range(1, max(seqs) + 1))


async def test_toplevel_restart_keeps_directory_and_copies(
    node: NodeProcess, tmp_path: Path, toplevel_port: int
) -> None:
    credential = create_enterprise(node.url, "Acme", "88.118.8")
    handles = [f"88.118.8/T{i}" for i in range(20)]
    db = tmp_path / "toplevel.db"
    with TopLevel(db, toplevel_port) as toplevel:
        await register(node.url, credential, [h.split("/")[1] for h in handles])
        wait_until_synced(node)
        directory = httpx.get(f"{toplevel.url}/api/handles/0.NA/88.118.8").json()
        summary = httpx.get(f"{toplevel.url}/nodes/88.118", headers=OPS).json()
        toplevel.kill()

    with TopLevel(db, toplevel_port) as toplevel:
        assert httpx.get(f"{toplevel.url}/api/handles/0.NA/88.118.8").json() == directory
        again = httpx.get(f"{toplevel.url}/nodes/88.118", headers=OPS).json()
        assert {k: again[k] for k in ("lastSeq", "copies", "prefixes")} == {
            k: summary[k] for k in ("lastSeq", "copies", "prefixes")
        }
        assert_copies_match(node, toplevel.url, handles)
        # And sync carries on where it stopped, with the next sequence number.
        update_in_sequence(node.url, credential, handles[0], 1)
        status = wait_until_synced(node)
        assert status["lastAckedSeq"] == summary["lastSeq"] + 1
        assert_copies_match(node, toplevel.url, handles[:1])
        node_view = httpx.get(f"{node.url}/api/handles/0.NA/88.118", timeout=30)
        assert node_view.status_code in (200, 404)


def test_toplevel_refuses_connections_when_switched(tmp_path: Path, toplevel_port: int) -> None:
    with TopLevel(tmp_path / "toplevel.db", toplevel_port) as toplevel:
        switched = httpx.put(
            f"{toplevel.url}/faults", json={"refuseConnectionsSeconds": 2}, headers=OPS
        )
        assert switched.json()["refusingConnections"] is True
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{toplevel.url}/healthz")
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{toplevel.url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the top-level node did not listen again"
                time.sleep(0.1)
        assert (
            httpx.get(f"{toplevel.url}/faults", headers=OPS).json()["refusingConnections"] is False
        )


def test_sync_status_command(node: NodeProcess, node_env: dict[str, str]) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "node", "sync", "status", "--json"],
        env={**os.environ, **node_env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    import json

    status = json.loads(result.stdout)
    assert status["enabled"] is True and status["toplevelUrl"] == node_env["IDNODE_TOPLEVEL_URL"]
    assert {"pendingRows", "lagSeconds", "lastAckedSeq", "lastError"} <= status.keys()


@pytest.mark.slow
async def test_two_instances_on_one_database_ship_each_change_once(
    node_env: dict[str, str], tmp_path: Path, toplevel_port: int
) -> None:
    env = {**node_env, "IDNODE_STATS_INTERVAL_SECONDS": "0.5", "IDNODE_SYNC_BATCH_SIZE": "25"}
    suffixes = [f"D{i:04d}" for i in range(400)]
    with (
        TopLevel(tmp_path / "toplevel.db", toplevel_port) as toplevel,
        NodeProcess(env) as first,
        NodeProcess(env) as second,
    ):
        credential = create_enterprise(first.url, "Acme", "88.118.8")
        await asyncio.gather(
            register(first.url, credential, suffixes[::2]),
            register(second.url, credential, suffixes[1::2]),
        )
        wait_until_synced(first)
        # Exactly one of the two processes holds the shipper lease.
        assert sync_status(first)["shipperHere"] != sync_status(second)["shipperHere"]
        changes = journal(toplevel.url)

        # Each process resolves one handle five times: one read, then four cache hits.
        for process in (first, second):
            for _ in range(5):
                assert httpx.get(f"{process.url}/api/handles/88.118.8/D0000").status_code == 200

        # Registrations: the records under 88.118.8, its ADMIN handle (the credentials) included.
        deadline = time.monotonic() + 60
        while True:
            stats = httpx.get(f"{toplevel.url}/nodes/88.118", headers=OPS).json()["statistics"]
            if (
                stats is not None
                and stats["registrations"] == len(suffixes) + 1
                and stats.get("resolutions", 0) >= 5
            ):
                break
            assert time.monotonic() < deadline, f"no statistics report arrived: {stats}"
            time.sleep(0.2)
        assert stats["prefixes"] == 1 and stats["outboxPending"] >= 0
        assert 0.5 <= stats["cacheHitRatio"] <= 1

    subjects = Counter(c["subject"] for c in changes)
    assert all(subjects[f"88.118.8/{s}"] == 1 for s in suffixes)
    assert len(changes) == len(suffixes) + 3  # with the node's key record 0.NA/88.118
