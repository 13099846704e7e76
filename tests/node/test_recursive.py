"""Recursive resolution: node A follows the top-level prefix directory to node B.

Three real servers on loopback: a plain node standing in for the top-level node (it serves the
``0.NA/<prefix>`` directory records, PUT with the admin token), node B serving ``88.119`` and
node A (``88.118``, on each storage backend) configured with the top-level node's URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from node import Settings, create_app
from node.hot import HotPath

from ..conftest import ADMIN_TOKEN
from ..databases import migrate
from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise


async def _sqlite(tmp_path: Path, name: str) -> str:
    return await migrate(f"sqlite+aiosqlite:///{tmp_path / name}.db")


def _settings(url: str, node_code: str, toplevel_url: str | None = None) -> Settings:
    return Settings(
        database_url=url,
        node_code=node_code,
        admin_token=SecretStr(ADMIN_TOKEN),
        toplevel_url=toplevel_url,
    )


def _directory_entry(
    top: str, prefix: str, base_url: str, node_code: str, ttl: int = 86400
) -> None:
    site = {"baseUrl": base_url, "nodeCode": node_code}
    body = {
        "values": [
            {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}, "ttl": ttl}
        ]
    }
    response = httpx.put(f"{top}/api/handles/0.NA/{prefix}", json=body, headers=ADMIN_HEADERS)
    assert response.status_code in (200, 201), response.text


@pytest.fixture
async def other_urls(tmp_path: Path) -> tuple[str, str]:
    return await _sqlite(tmp_path, "toplevel"), await _sqlite(tmp_path, "node-b")


@pytest.fixture
def nodes(
    settings: Settings, other_urls: tuple[str, str]
) -> Iterator[tuple[str, ThreadedServer, str]]:
    top_url, b_url = other_urls
    with ThreadedServer(create_app(_settings(top_url, "88"))) as top:
        node_b = ThreadedServer(create_app(_settings(b_url, "88.119")))
        node_b.__enter__()
        try:
            a_settings = settings.model_copy(update={"toplevel_url": top.url})
            # Node A as ``idnode serve`` runs it, behind the hot path.
            with ThreadedServer(HotPath(create_app(a_settings))) as node_a:
                _directory_entry(top.url, "88.119", node_b.url, "88.119")
                _directory_entry(top.url, "88.119.5", node_b.url, "88.119")
                _directory_entry(top.url, "88.118", node_a.url, "88.118")
                yield node_a.url, node_b, top.url
        finally:
            node_b.__exit__(None, None, None)


def _put(base: str, handle: str, credential: dict, url: str) -> None:
    body = {
        "values": [
            {"index": 1, "type": "URL", "data": url},
            {"index": 2, "type": "DESC", "data": "from B"},
        ]
    }
    response = httpx.put(f"{base}/api/handles/{handle}", json=body, auth=basic_auth(credential))
    assert response.status_code == 201, response.text


def test_foreign_prefixes_resolve_through_the_directory(nodes) -> None:
    a, node_b, _top = nodes
    b = node_b.url
    _put(b, "88.119.5/X", create_enterprise(b, "Five", "88.119.5"), "https://b.example/x")
    _put(b, "88.119.7/Y", create_enterprise(b, "Seven", "88.119.7"), "https://b.example/y")
    _put(a, "88.118.8/LOCAL", create_enterprise(a, "Local", "88.118.8"), "https://a.example/l")

    with httpx.Client(base_url=a, timeout=10) as client:
        direct = client.get("/api/handles/88.119.5/X")
        assert direct.status_code == 200, direct.text
        assert direct.json()["handle"] == "88.119.5/X"
        values = direct.json()["values"]
        assert [v["data"]["value"] for v in values if v["type"] != "HS_SIGNATURE"] == [
            "https://b.example/x",
            "from B",
        ]
        # Node B's signature travels with the record, so A's answer stays verifiable.
        assert [v["index"] for v in values if v["type"] == "HS_SIGNATURE"] == [400]
        # No entry for 88.119.7: its parent 0.NA/88.119 names node B.
        assert (
            client.get("/api/handles/88.119.7/Y").json()["values"][0]["data"]["value"]
            == "https://b.example/y"
        )
        assert (
            client.get("/api/handles/88.119.7/Y", params={"type": "DESC"}).json()["values"][0][
                "index"
            ]
            == 2
        )
        assert client.get("/88.119.5/X").headers["location"] == "https://b.example/x"
        assert client.get("/api/handles/88.118.8/LOCAL").status_code == 200

        missing = client.get("/api/handles/88.119.5/NOPE")
        assert missing.status_code == 404 and missing.json()["responseCode"] == 100
        unserved = client.get("/api/handles/88.120.1/Z")
        assert unserved.status_code == 404
        assert unserved.json() == {
            "responseCode": 100,
            "handle": "88.120.1/Z",
            "message": "handle 88.120.1/Z does not exist",
        }
        directory = client.get("/api/handles/0.NA/88.119")
        assert directory.status_code == 200 and directory.json()["values"][0]["type"] == "HS_SITE"

        # Node B goes away: what A cached stays served for its TTL; the rest is unavailable.
        node_b.__exit__(None, None, None)
        assert client.get("/api/handles/88.119.5/X").status_code == 200
        down = client.get("/api/handles/88.119.5/NEVER")
        assert down.status_code == 503 and down.json()["responseCode"] == 3
        assert "retry-after" in down.headers


def test_a_forwarded_request_is_not_forwarded_again(nodes) -> None:
    a, node_b, _top = nodes
    b = node_b.url
    _put(b, "88.119.5/X", create_enterprise(b, "Five", "88.119.5"), "https://b.example/x")
    forwarded = httpx.get(f"{a}/api/handles/88.119.5/X", headers={"X-Idnode-Forwarded": "1"})
    assert forwarded.status_code == 404
    # Once A has it cached, a forwarded request may be answered from the cache: no request
    # leaves A either way.
    assert httpx.get(f"{a}/api/handles/88.119.5/X").status_code == 200
    again = httpx.get(f"{a}/api/handles/88.119.5/X", headers={"X-Idnode-Forwarded": "1"})
    assert again.status_code == 200
