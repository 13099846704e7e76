"""A hung PostgreSQL (stopped, not gone): requests answer 503 within the timeouts, stale from cache.

The node reaches PostgreSQL through a proxy that stops forwarding, as a server stopped with
SIGSTOP would: connections stay open and nothing answers.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from node import Settings, create_app

from ..conftest import ADMIN_TOKEN
from ..databases import fresh_database, migrate
from ..servers import ThreadedServer
from ..tcpproxy import FreezableProxy
from .helpers import basic_auth, create_enterprise

SHORT = "/api/handles/88.118.8/SHORT"
# Generous against a busy machine, far below the minutes a hung database used to cost.
BOUND_SECONDS = 8.0


@pytest.fixture
async def pg_url(tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database("postgresql", tmp_path) as url:
        yield await migrate(url)


@pytest.fixture
def proxied(pg_url: str) -> Iterator[tuple[FreezableProxy, str]]:
    parsed = make_url(pg_url)
    with FreezableProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
        url = parsed.set(host="127.0.0.1", port=proxy.port)
        yield proxy, url.render_as_string(hide_password=False)


def _timed(client: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
    started = time.monotonic()
    response = client.request(method, path, **kwargs)  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert elapsed < BOUND_SECONDS, f"{method} {path} took {elapsed:.1f} s"
    return response


def test_a_hung_database_answers_503_within_the_timeouts(
    proxied: tuple[FreezableProxy, str],
) -> None:
    proxy, url = proxied
    settings = Settings(
        database_url=url,
        node_code="88.118",
        admin_token=SecretStr(ADMIN_TOKEN),
        database_connect_timeout=1,
        database_statement_timeout=1,
    )
    with (
        ThreadedServer(create_app(settings)) as node,
        httpx.Client(base_url=node.url, timeout=30) as client,
    ):
        credential = create_enterprise(node.url, "Acme", "88.118.8")
        auth = basic_auth(credential)
        login = {"username": credential["username"], "password": credential["password"]}
        snms = {"Authorization": client.post("/identity/token", json=login).json()["data"]["token"]}
        short = {"values": [{"index": 1, "type": "URL", "data": "https://a.example", "ttl": 1}]}
        assert client.put(SHORT, json=short, auth=auth).status_code == 201
        assert client.get(SHORT).status_code == 200
        cached_at = time.monotonic()

        proxy.freeze()
        try:
            time.sleep(max(0.0, cached_at + 1.2 - time.monotonic()))
            stale = _timed(client, "GET", SHORT)
            assert stale.status_code == 200, stale.text
            assert stale.headers["x-idnode-stale"] == "true"

            unknown = _timed(client, "GET", "/api/handles/88.118.8/NEVER-SEEN")
            assert unknown.status_code == 503, unknown.text
            assert unknown.headers["retry-after"].isdigit()
            assert unknown.json()["responseCode"] == 3

            other = {"values": [{"index": 1, "type": "URL", "data": "https://b.example"}]}
            write = _timed(client, "PUT", "/api/handles/88.118.8/OTHER", json=other, auth=auth)
            assert write.status_code == 503, write.text
            assert write.json()["responseCode"] == 3

            # SNMS says it as the SDKs' busy code, worth retrying after Retry-After.
            detail = "/identityv2/data/detail?handle=88.118.8/NEVER-SEEN"
            snms_read = _timed(client, "GET", detail, headers=snms)
            assert snms_read.status_code == 503, snms_read.text
            assert snms_read.headers["retry-after"].isdigit()
            body = snms_read.json()
            assert (body["status"], body["data"]) == (3, None)
            assert "unavailable" in body["message"]

            # Readiness says the database is out, in time; liveness still says the process serves.
            ready = _timed(client, "GET", "/readyz")
            assert ready.status_code == 503, ready.text
            assert ready.json()["reason"] == "database"
            assert _timed(client, "GET", "/healthz").status_code == 200
        finally:
            proxy.thaw()

        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the node did not recover"
            time.sleep(0.1)
        assert client.put("/api/handles/88.118.8/OTHER", json=other, auth=auth).status_code == 201
        assert client.get("/api/handles/88.118.8/OTHER").status_code == 200
