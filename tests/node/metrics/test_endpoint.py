"""``GET /metrics`` on a served node: admin only, parseable, and its counts follow the traffic."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from node.app import create_app
from node.hot import HotPath
from node.settings import Settings

from ...servers import ThreadedServer
from ..helpers import basic_auth, create_enterprise
from .scraping import requests_count, resolutions, scrape

HANDLE = "/api/handles/88.118.8/LINE-1"


@pytest.fixture
def served(settings: Settings):
    with ThreadedServer(HotPath(create_app(settings))) as server:
        yield server


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer not-the-token"}, {"authorization": "Basic !!"}],
    ids=["anonymous", "wrong-token", "bad-basic"],
)
def test_metrics_are_for_the_admin_token_only(served: ThreadedServer, headers: dict) -> None:
    response = httpx.get(f"{served.url}/metrics", headers=headers, timeout=10)
    assert response.status_code in (401, 403), response.text
    assert "idnode_" not in response.text


def test_an_enterprise_credential_is_not_enough(served: ThreadedServer) -> None:
    auth = basic_auth(create_enterprise(served.url, "Acme", "88.118.8"))
    response = httpx.get(f"{served.url}/metrics", auth=auth, timeout=10)
    assert response.status_code == 403


def test_counts_move_with_hits_misses_and_not_found(served: ThreadedServer) -> None:
    auth = basic_auth(create_enterprise(served.url, "Acme", "88.118.8"))
    body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com"}]}
    assert httpx.put(served.url + HANDLE, json=body, auth=auth, timeout=10).status_code == 201
    before = scrape(served.url)

    assert httpx.get(served.url + HANDLE, timeout=10).status_code == 200  # miss: read
    for _ in range(3):
        assert httpx.get(served.url + HANDLE, timeout=10).status_code == 200  # hot hits
    assert httpx.get(served.url + "/api/handles/88.118.8/NONE", timeout=10).status_code == 404
    assert httpx.get(served.url + "/api/handles/no-slash", timeout=10).status_code == 400
    after = scrape(served.url)

    def moved(read, *key: str) -> float:
        return read(after, *key) - read(before, *key)

    assert moved(resolutions, "hit") == 3
    assert moved(resolutions, "miss") == 1
    assert moved(resolutions, "negative") == 1
    assert moved(requests_count, "handle", "2xx") == 4
    assert moved(requests_count, "handle", "4xx") == 2
    # The admin calls went through the app, not the hot path, and are counted there.
    assert requests_count(after, "admin", "2xx") >= 1
    assert after[("idnode_cache_entries", ())] >= 2
    assert after[("idnode_cache_bytes", ())] > 0
    assert after[("idnode_worker_processes", ())] == 1
    assert ("idnode_sync_enabled", ()) in after
    # Buckets are cumulative and end with every request.
    bucket = (
        "idnode_request_duration_seconds_bucket",
        (("api", "handle"), ("le", "+Inf"), ("outcome", "2xx")),
    )
    assert after[bucket] == requests_count(after, "handle", "2xx")


@pytest.mark.parametrize("backend", ["postgresql"])
def test_single_inserts_on_postgresql_are_counted_with_the_records_they_carried(
    served: ThreadedServer,
) -> None:
    auth = basic_auth(create_enterprise(served.url, "Acme", "88.118.8"))
    body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com"}]}
    before = scrape(served.url)

    def put(i: int) -> int:
        path = f"/api/handles/88.118.8/MANY-{i}"
        return httpx.put(served.url + path, json=body, auth=auth, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(put, range(24))) == [201] * 24
    after = scrape(served.url)

    def moved(name: str) -> float:
        return after[(f"idnode_single_insert_{name}_total", ())] - before.get(
            (f"idnode_single_insert_{name}_total", ()), 0.0
        )

    assert moved("records") == 24
    assert 1 <= moved("statements") <= 24
    # Counted too (how many depends on how slow the server's commits are: none here, mostly).
    assert ("idnode_single_insert_stalls_total", ()) in after


@pytest.mark.parametrize("backend", ["sqlite"])
def test_no_single_insert_figures_on_sqlite(served: ThreadedServer) -> None:
    assert not any(name.startswith("idnode_single_insert") for name, _ in scrape(served.url))
