"""Sync through a failing top-level node: errors and lost answers lose and duplicate nothing."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from node import Settings, create_app
from node.sync import SyncWorker, TopLevelClient
from registry import ADMIN, EnterpriseService, Handle, HandleValue, Prefix, RecordService
from registry.storage import Database, OutboxBatch, SyncStore
from registry.trust import SecretBox
from toplevel import create_toplevel_app

from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise
from .syncing import OPERATOR, OPS, journal, wait_until_synced

BOOTSTRAP = "faults-bootstrap"
URL = HandleValue(1, "URL", "string", "https://example.com/")


@pytest.fixture
def toplevel_url(tmp_path: Path) -> Iterator[str]:
    app = create_toplevel_app(
        f"sqlite+aiosqlite:///{tmp_path / 'toplevel.db'}", BOOTSTRAP, operator_token=OPERATOR
    )
    with ThreadedServer(app) as server:
        yield server.url


@pytest.fixture
def synced_node(settings: Settings, toplevel_url: str) -> Iterator[ThreadedServer]:
    wired = settings.model_copy(
        update={
            "toplevel_url": toplevel_url,
            "toplevel_bootstrap_token": SecretStr(BOOTSTRAP),
            "sync_idle_seconds": 0.1,
            "sync_backoff_max_seconds": 0.2,
            "sync_batch_size": 7,
        }
    )
    with ThreadedServer(create_app(wired)) as server:
        yield server


def test_errors_and_lost_answers_neither_lose_nor_duplicate(
    synced_node: ThreadedServer, toplevel_url: str
) -> None:
    faults = {"errorRate": 0.3, "lostAnswerRate": 0.3, "latencyMs": 5}
    httpx.put(f"{toplevel_url}/faults", json=faults, headers=OPS).raise_for_status()
    credential = create_enterprise(synced_node.url, "Acme", "88.118.8")
    handles = [f"88.118.8/F{i}" for i in range(120)]

    with httpx.Client(base_url=synced_node.url, auth=basic_auth(credential), timeout=30) as client:
        for handle in handles:
            body = {"values": [{"index": 1, "type": "URL", "data": "https://e.com/"}]}
            assert client.put(f"/api/handles/{handle}", json=body).status_code == 201
        # Shipped before the delete: an upsert whose batch is (re)built after its record was
        # deleted ships as a delete by design (the top-level may skip a version, never the last).
        wait_until_synced(synced_node, timeout=120)
        assert client.delete(f"/api/handles/{handles[0]}").status_code == 200
    status = wait_until_synced(synced_node, timeout=120)

    httpx.put(
        f"{toplevel_url}/faults", json={"errorRate": 0, "lostAnswerRate": 0}, headers=OPS
    ).raise_for_status()
    changes = journal(toplevel_url)
    assert Counter(c["subject"] for c in changes if c["kind"] == "handle.upsert") == {
        "0.NA/88.118.8": 1,
        **{handle: 1 for handle in handles},
    }
    assert [c["subject"] for c in changes if c["kind"] == "handle.delete"] == [handles[0]]
    seqs = [c["batchSeq"] for c in changes]
    assert seqs == sorted(seqs) and set(seqs) == set(range(1, status["lastAckedSeq"] + 1))
    assert httpx.get(f"{toplevel_url}/copies/{handles[0]}", headers=OPS).status_code == 404
    assert httpx.get(f"{toplevel_url}/copies/{handles[1]}", headers=OPS).status_code == 200


async def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    worker = SyncWorker(
        SyncStore(db),
        TopLevelClient("http://127.0.0.1:9"),
        node_code="88.118",
        public_url="http://127.0.0.1:8000",
        bootstrap_token=None,
        backoff_base_seconds=0.5,
        backoff_max_seconds=10,
    )
    worker._rng = random.Random(7)
    try:
        for failures, ceiling in [(1, 0.5), (2, 1), (3, 2), (4, 4), (5, 8), (6, 10), (40, 10)]:
            delays = {worker.backoff_delay(failures) for _ in range(50)}
            assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
            assert len(delays) > 1  # jittered, not one fixed value
    finally:
        await worker.client.close()
        await db.dispose()
        await asyncio.sleep(0)


def test_shutdown_ships_what_is_left(settings: Settings, toplevel_url: str) -> None:
    httpx.put(f"{toplevel_url}/faults", json={"latencyMs": 500}, headers=OPS).raise_for_status()
    wired = settings.model_copy(
        update={
            "toplevel_url": toplevel_url,
            "toplevel_bootstrap_token": SecretStr(BOOTSTRAP),
            "sync_batch_size": 5,
            "sync_flush_seconds": 60,
        }
    )
    handles = [f"88.118.8/S{i}" for i in range(40)]
    # Shutdown waits for the flush (up to sync_flush_seconds), so allow more than that.
    with ThreadedServer(create_app(wired), shutdown_timeout=90) as node:
        credential = create_enterprise(node.url, "Acme", "88.118.8")
        with httpx.Client(base_url=node.url, auth=basic_auth(credential), timeout=30) as client:
            for handle in handles:
                body = {"values": [{"index": 1, "type": "URL", "data": "https://e.com/"}]}
                assert client.put(f"/api/handles/{handle}", json=body).status_code == 201
        pending = httpx.get(f"{node.url}/admin/sync", headers=ADMIN_HEADERS).json()["pendingRows"]
        assert pending > 0
    # The server has stopped: its lifespan kept shipping until the outbox was empty.
    httpx.put(f"{toplevel_url}/faults", json={"latencyMs": 0}, headers=OPS).raise_for_status()
    subjects = {c["subject"] for c in journal(toplevel_url)}
    assert set(handles) <= subjects and len(journal(toplevel_url)) == len(handles) + 2


class _SlowOnboarding(TopLevelClient):
    """A top-level node that answers onboarding only when told to, and takes every batch."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")
        self.registering = asyncio.Event()
        self.answer = asyncio.Event()
        self.shipped: list[str] = []

    async def register(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.registering.set()
        await self.answer.wait()
        return {"token": "sync-token", "certificate": None}

    async def send_batch(self, code: str, token: str, batch: OutboxBatch) -> dict[str, Any]:
        self.shipped.extend(change["subject"] for change in batch.changes)
        return {}


class _Identity:
    """One trust key, already on disk, as ``NodeIdentity`` presents it."""

    kid, index, jwk = "k1", 300, {"kid": "k1"}

    async def key(self) -> _Identity:
        return self

    async def install(self, certificate: str) -> str:
        return self.kid

    async def prove(self, kid: str | None, code: str, base_url: str, key: Any) -> str:
        return "proof"


def _onboarding_worker(db: Database, client: TopLevelClient, **options: Any) -> SyncWorker:
    """A started shipper that onboards (through ``client``) before it ships anything."""
    worker = SyncWorker(
        SyncStore(db, SecretBox(os.urandom(32))),
        client,
        node_code="88.118",
        public_url="http://127.0.0.1:8000",
        bootstrap_token=BOOTSTRAP,
        identity=_Identity(),
        **options,
    )
    worker.start()
    return worker


async def _register(db: Database, handles: list[str]) -> None:
    records = RecordService(db)
    await EnterpriseService(db, records, Prefix.parse("88.118")).create("Acme", "88.118.8")
    for handle in handles:
        await records.put(ADMIN, Handle.parse(handle), [URL])


async def test_shutdown_during_onboarding_ships_what_was_written_meanwhile(db: Database) -> None:
    client = _SlowOnboarding()
    worker = _onboarding_worker(db, client)
    # The outbox was empty when the shipper began onboarding; writes come in while it waits.
    await asyncio.wait_for(client.registering.wait(), 10)
    handles = [f"88.118.8/W{i}" for i in range(3)]
    await _register(db, handles)
    stopping = asyncio.create_task(worker.stop(flush_seconds=10))
    await asyncio.sleep(0)  # the shutdown has begun before the onboarding answer arrives
    client.answer.set()
    await stopping
    assert set(handles) <= set(client.shipped)
    assert (await SyncStore(db).status())["pendingRows"] == 0


async def test_a_change_signalled_while_looking_cuts_the_idle_sleep_short(db: Database) -> None:
    client = _SlowOnboarding()
    worker = _onboarding_worker(db, client, idle_seconds=60)
    try:
        # The shipper found the outbox empty and is onboarding when a write lands and says so.
        await asyncio.wait_for(client.registering.wait(), 10)
        await _register(db, ["88.118.8/SOON"])
        await worker.changed(["88.118.8/SOON"])
        client.answer.set()
        # Shipped at once, not after the 60 s idle sleep that follows an empty look.
        deadline = time.monotonic() + 10
        while "88.118.8/SOON" not in client.shipped:
            assert time.monotonic() < deadline, "the change waited for the idle poll"
            await asyncio.sleep(0.05)
    finally:
        await worker.stop(flush_seconds=5)
