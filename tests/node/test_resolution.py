"""Resolution over HTTP through the cache: writes are seen at once, private values stay private."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from node import Settings, create_app
from node.hot import HotPath

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise

VALUES = [
    {"index": 1, "type": "URL", "data": "https://example.com/a"},
    {"index": 2, "type": "EMAIL", "data": "qa@example.com"},
    {"index": 3, "type": "SECRET", "data": "s3cret", "permissions": "1100"},
]


@pytest.fixture
def served(settings: Settings) -> Iterator[ThreadedServer]:
    """The app as ``idnode serve`` runs it: behind the hot path."""
    with ThreadedServer(HotPath(create_app(settings))) as server:
        yield server


@pytest.fixture
def client(served: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        yield client


@pytest.fixture
def acme(served: ThreadedServer) -> dict:
    return create_enterprise(served.url, "Acme", "88.118.8")


def test_writes_are_seen_by_the_next_read(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    path = "/api/handles/88.118.8/W1"
    assert client.get(path).status_code == 404  # remembered as not found …
    assert client.put(path, json={"values": VALUES[:1]}, auth=auth).status_code == 201
    assert client.get(path).json()["values"][0]["data"]["value"] == "https://example.com/a"
    changed = [{"index": 1, "type": "URL", "data": "https://example.com/b"}]
    assert client.put(path, json={"values": changed}, auth=auth).status_code == 200
    assert client.get(path).json()["values"][0]["data"]["value"] == "https://example.com/b"
    assert client.delete(path, auth=auth).status_code == 200
    gone = client.get(path)
    assert gone.status_code == 404
    assert gone.json() == {
        "responseCode": 100,
        "handle": "88.118.8/W1",
        "message": "handle 88.118.8/W1 does not exist",
    }


def test_private_values_only_for_owners_even_when_cached(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    path = "/api/handles/88.118.8/S1"
    client.put(path, json={"values": VALUES}, auth=auth)
    for _ in range(2):  # the second round is served from the cache
        public = client.get(path).json()
        assert [v["index"] for v in public["values"]] == [1, 2]
        owned = client.get(path, auth=auth).json()
        assert [v["index"] for v in owned["values"]] == [1, 2, 3]
    other = create_enterprise(str(client.base_url).rstrip("/"), "Other", "88.118.9")
    assert [v["index"] for v in client.get(path, auth=basic_auth(other)).json()["values"]] == [1, 2]


def test_filters_on_a_cached_record(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    path = "/api/handles/88.118.8/F1"
    client.put(path, json={"values": VALUES}, auth=auth)
    client.get(path)
    assert [v["index"] for v in client.get(path, params={"index": 2}).json()["values"]] == [2]
    by_type = client.get(path, params=[("type", "URL"), ("index", "2")]).json()
    assert [v["index"] for v in by_type["values"]] == [1, 2]
    hidden = client.get(path, params={"type": "SECRET"})
    assert hidden.status_code == 200
    assert hidden.json()["responseCode"] == 200 and hidden.json()["values"] == []
    assert [
        v["index"] for v in client.get(path, params={"index": 3}, auth=auth).json()["values"]
    ] == [3]
    bad = client.get(path, params={"index": "x"})
    assert bad.status_code == 400 and "index" in bad.json()["message"]


def test_other_spellings_of_a_cached_handle(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    client.put("/api/handles/88.118.8/Mixed", json={"values": VALUES[:1]}, auth=auth)
    assert client.get("/api/handles/88.118.8/Mixed").status_code == 200
    assert client.get("/api/handles/88.118.8/mixed").status_code == 404
    encoded = client.get("/api/handles/88.118.8%2FMixed")
    assert encoded.status_code == 200 and encoded.json()["handle"] == "88.118.8/Mixed"
    assert client.get("/api/handles/88.118.8/bad%01suffix").status_code == 400


def test_human_page_follows_writes(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    client.put("/api/handles/88.118.8/H1", json={"values": VALUES[:1]}, auth=auth)
    assert client.get("/88.118.8/H1").headers["location"] == "https://example.com/a"
    changed = [{"index": 1, "type": "URL", "data": "https://example.com/b"}]
    client.put("/api/handles/88.118.8/H1", json={"values": changed}, auth=auth)
    assert client.get("/88.118.8/H1").headers["location"] == "https://example.com/b"
    page = client.get("/88.118.8/H1?noredirect")
    assert page.status_code == 200 and "s3cret" not in page.text
