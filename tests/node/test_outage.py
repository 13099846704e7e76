"""Stale-if-error: the database stops mid-run; cached answers are still served, flagged."""

from __future__ import annotations

import asyncio
import time

import httpx

from registry import ADMIN, Handle, HandleValue, Prefix, RecordService
from registry.storage import Database
from resolver import build_resolver

from ..conftest import ADMIN_TOKEN
from ..databases import migrate
from ..pgcluster import PostgresCluster
from ..servers import NodeProcess
from .helpers import basic_auth, create_enterprise

SHORT = "/api/handles/88.118.8/SHORT"
LONG = "/api/handles/88.118.8/LONG"


def test_stale_answers_while_the_database_is_down() -> None:
    with PostgresCluster() as pg:
        asyncio.run(migrate(pg.url))
        env = {"IDNODE_DATABASE_URL": pg.url, "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN}
        with NodeProcess(env) as node, httpx.Client(base_url=node.url, timeout=10) as client:
            auth = basic_auth(create_enterprise(node.url, "Acme", "88.118.8"))
            short = {"values": [{"index": 1, "type": "URL", "data": "https://a.example", "ttl": 1}]}
            long = {"values": [{"index": 1, "type": "URL", "data": "https://b.example"}]}
            assert client.put(SHORT, json=short, auth=auth).status_code == 201
            assert client.put(LONG, json=long, auth=auth).status_code == 201
            assert client.get(SHORT).status_code == 200
            assert client.get(LONG).status_code == 200
            cached_at = time.monotonic()

            pg.stop()
            # SHORT's one-second TTL runs out while the database is down.
            time.sleep(max(0.0, cached_at + 1.2 - time.monotonic()))
            stale = client.get(SHORT)
            assert stale.status_code == 200, stale.text
            assert stale.headers["x-idnode-stale"] == "true"
            assert int(stale.headers["age"]) >= 1
            assert stale.json()["values"][0]["data"]["value"] == "https://a.example"
            human = client.get("/88.118.8/SHORT")
            assert human.status_code == 302 and human.headers["x-idnode-stale"] == "true"

            fresh = client.get(LONG)
            assert fresh.status_code == 200 and "x-idnode-stale" not in fresh.headers

            unknown = client.get("/api/handles/88.118.8/NEVER-SEEN")
            assert unknown.status_code == 503
            assert unknown.headers["retry-after"].isdigit()
            assert unknown.json()["responseCode"] == 3

            # Alive (no restart wanted), not ready (take it out of rotation), naming why.
            assert client.get("/healthz").status_code == 200
            assert client.head("/healthz").status_code == 200
            not_ready = client.get("/readyz")
            assert not_ready.status_code == 503 and not_ready.json()["reason"] == "database"
            assert client.head("/readyz").status_code == 503

            pg.start()
            deadline = time.monotonic() + 30
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "the node did not reconnect"
                time.sleep(0.1)
            back = client.get(SHORT)
            assert back.status_code == 200 and "x-idnode-stale" not in back.headers
            assert client.get("/api/handles/88.118.8/NEVER-SEEN").status_code == 404

            # Another instance writes: the node's re-opened listener hears of it.
            assert client.get(LONG).json()["values"][0]["data"]["value"] == "https://b.example"
            asyncio.run(_write_elsewhere(pg.url, "https://c.example"))
            deadline = time.monotonic() + 15
            while client.get(LONG).json()["values"][0]["data"]["value"] != "https://c.example":
                assert time.monotonic() < deadline, "the invalidation never arrived"
                time.sleep(0.05)


async def _write_elsewhere(url: str, target: str) -> None:
    """A write by another process on the same database (as a second node instance would)."""
    db = Database(url)
    try:
        records = RecordService(db)
        build_resolver(records, database_url=url, node_code=Prefix.parse("88.118"))
        value = HandleValue(1, "URL", "string", target)
        await records.put(ADMIN, Handle.parse(LONG.removeprefix("/api/handles/")), [value])
    finally:
        await db.dispose()
