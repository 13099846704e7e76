"""Writes stalled on rows another transaction holds, in numbers, over HTTP on PostgreSQL: cold
reads keep their connections and answer, and every write lands once the rows are free.

A client retrying one handle that an import holds uncommitted sends a statement per try (a handle
is never twice in one), each waiting on the held row.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from node import Settings, create_app
from registry.storage.direct import READ_RESERVE

from ..conftest import ADMIN_TOKEN
from ..databases import fresh_database, lock_waiters, migrate
from ..registry.single_writes import holding
from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise

HELD = "88.118.8/HELD"
COLD = "88.118.8/COLD"
# The direct path's pool (``PgDirect``'s default size).
POOL = 16
VALUES = {"values": [{"index": 1, "type": "URL", "data": "https://a.example/"}]}


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("postgresql", tmp_path) as url:
        yield await migrate(url)


async def test_writes_waiting_on_a_held_row_leave_cold_reads_answering(pg_url: str) -> None:
    settings = Settings(database_url=pg_url, node_code="88.118", admin_token=SecretStr(ADMIN_TOKEN))
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with ThreadedServer(create_app(settings)) as node:
        auth = basic_auth(create_enterprise(node.url, "Acme", "88.118.8"))
        holder, watcher = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
        async with httpx.AsyncClient(base_url=node.url, auth=auth, timeout=60) as client:
            try:
                # Registered, and not yet read: its first GET is a cold read.
                assert (await client.put(f"/api/handles/{COLD}", json=VALUES)).status_code == 201
                held = await holding(holder, HELD)
                puts = [
                    asyncio.create_task(client.put(f"/api/handles/{HELD}", json=VALUES))
                    for _ in range(POOL + 4)
                ]
                async with asyncio.timeout(20):
                    while len(await lock_waiters(watcher)) < POOL - READ_RESERVE:
                        await asyncio.sleep(0.05)
                # Time for every stall to start another statement: none took a reader's share.
                await asyncio.sleep(0.5)
                assert len(await lock_waiters(watcher)) == POOL - READ_RESERVE
                async with asyncio.timeout(10):
                    cold = await client.get(f"/api/handles/{COLD}")
                assert cold.status_code == 200, cold.text
                assert cold.json()["values"][0]["data"]["value"] == "https://a.example/"
                assert not any(put.done() for put in puts)
                await held.rollback()
                async with asyncio.timeout(30):
                    answers = await asyncio.gather(*puts)
            finally:
                await holder.close()
                await watcher.close()
        # One created it, the others changed it: none failed, none was lost.
        assert sorted(answer.status_code for answer in answers) == [200] * (POOL + 3) + [201]
        assert httpx.get(f"{node.url}/api/handles/{HELD}").status_code == 200
