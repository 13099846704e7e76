"""/readyz takes a node whose sync is stuck out of rotation, naming why; /healthz stays 200."""

from __future__ import annotations

import time

import httpx
from pydantic import SecretStr

from loadtests import free_port
from node.app import create_app
from node.settings import Settings

from ..conftest import ADMIN_TOKEN
from ..servers import ThreadedServer
from .helpers import create_enterprise


def test_readyz_is_503_while_sync_does_not_ship(migrated_url: str) -> None:
    # A top-level node nobody listens on: the outbox fills and never ships.
    settings = Settings(
        database_url=migrated_url,
        node_code="88.118",
        admin_token=SecretStr(ADMIN_TOKEN),
        toplevel_url=f"http://127.0.0.1:{free_port()}",
        toplevel_bootstrap_token=SecretStr("bootstrap"),
        ready_max_sync_lag_seconds=0.5,
        sync_backoff_max_seconds=0.2,
    )
    with ThreadedServer(create_app(settings)) as server:
        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200
        create_enterprise(server.url, "Acme", "88.118.8")
        deadline = time.monotonic() + 30
        while (answer := httpx.get(f"{server.url}/readyz", timeout=30)).status_code == 200:
            assert time.monotonic() < deadline, "readyz never noticed the stuck outbox"
            time.sleep(0.1)
        assert answer.status_code == 503
        body = answer.json()
        assert body["status"] == "unavailable" and body["reason"] == "sync"
        assert body["message"].startswith("sync is stuck: ")
        assert "more than 0.5 s" in body["message"]
        assert httpx.get(f"{server.url}/healthz", timeout=30).status_code == 200


def test_sync_lag_is_not_checked_when_the_limit_is_zero(migrated_url: str) -> None:
    settings = Settings(
        database_url=migrated_url,
        node_code="88.118",
        admin_token=SecretStr(ADMIN_TOKEN),
        toplevel_url=f"http://127.0.0.1:{free_port()}",
        toplevel_bootstrap_token=SecretStr("bootstrap"),
        ready_max_sync_lag_seconds=0,
    )
    with ThreadedServer(create_app(settings)) as server:
        create_enterprise(server.url, "Acme", "88.118.8")
        time.sleep(0.3)
        status = httpx.get(
            f"{server.url}/admin/sync", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ).json()
        assert status["pendingRows"] > 0  # there is something unshipped...
        assert httpx.get(f"{server.url}/readyz", timeout=30).status_code == 200  # ...not checked
