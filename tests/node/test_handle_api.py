"""The Handle REST API over HTTP against a running node, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
import pytest

from .helpers import basic_auth, create_enterprise

URL_VALUE = {
    "index": 1,
    "type": "URL",
    "data": {"format": "string", "value": "https://example.com/a"},
}


@pytest.fixture
def client(node_server):
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def acme(node_server) -> dict:
    return create_enterprise(node_server.url, "Acme", "88.118.8")


def test_register_resolve_modify_delete(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    created = client.put("/api/handles/88.118.8/P1", json={"values": [URL_VALUE]}, auth=auth)
    assert created.status_code == 201
    assert created.json() == {"responseCode": 1, "handle": "88.118.8/P1"}

    resolved = client.get("/api/handles/88.118.8/P1").json()
    assert resolved["responseCode"] == 1 and resolved["handle"] == "88.118.8/P1"
    (value,) = resolved["values"]
    assert value["data"] == {"format": "string", "value": "https://example.com/a"}
    assert value["ttl"] == 86400 and value["timestamp"].endswith("Z")

    # Replace one value, add another, leave the rest alone.
    changed = client.put(
        "/api/handles/88.118.8/P1?index=2",
        json={"values": [{"index": 2, "type": "EMAIL", "data": "a@example.com"}]},
        auth=auth,
    )
    assert changed.status_code == 200
    types = [v["type"] for v in client.get("/api/handles/88.118.8/P1").json()["values"]]
    assert types == ["URL", "EMAIL"]

    assert client.delete("/api/handles/88.118.8/P1?index=2", auth=auth).status_code == 200
    assert [v["index"] for v in client.get("/api/handles/88.118.8/P1").json()["values"]] == [1]

    assert client.delete("/api/handles/88.118.8/P1", auth=auth).json()["responseCode"] == 1
    missing = client.get("/api/handles/88.118.8/P1")
    assert missing.status_code == 404
    assert missing.json()["responseCode"] == 100 and missing.json()["handle"] == "88.118.8/P1"


def test_prefix_is_case_insensitive_and_suffix_is_not(client: httpx.Client, node_server) -> None:
    credential = create_enterprise(node_server.url, "Letters", "88.118.ab")
    auth = basic_auth(credential)
    assert (
        client.put(
            "/api/handles/88.118.ab/Case", json={"values": [URL_VALUE]}, auth=auth
        ).status_code
        == 201
    )
    assert client.get("/api/handles/88.118.AB/Case").json()["handle"] == "88.118.AB/Case"
    assert client.get("/api/handles/88.118.AB/case").status_code == 404


def test_percent_encoded_suffix_is_decoded_once(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    response = client.put(
        "/api/handles/88.118.8/lot%2F7%2520a%20%E4%BA%A7", json={"values": [URL_VALUE]}, auth=auth
    )
    assert response.json()["handle"] == "88.118.8/lot/7%20a 产"
    assert client.get("/api/handles/88.118.8/lot/7%2520a%20%E4%BA%A7").status_code == 200


def test_overwrite_false_refuses_an_existing_handle(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    client.put("/api/handles/88.118.8/P2", json={"values": [URL_VALUE]}, auth=auth)
    again = client.put(
        "/api/handles/88.118.8/P2?overwrite=false", json={"values": [URL_VALUE]}, auth=auth
    )
    assert again.status_code == 409
    assert again.json()["responseCode"] == 101 and "already exists" in again.json()["message"]


def test_adding_a_value_at_a_taken_index_is_refused(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    client.put("/api/handles/88.118.8/P3", json={"values": [URL_VALUE]}, auth=auth)
    clash = client.put(
        "/api/handles/88.118.8/P3?index=1&overwrite=false", json={"values": [URL_VALUE]}, auth=auth
    )
    assert clash.status_code == 409 and clash.json()["responseCode"] == 201


def test_filters_by_index_and_type(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    values = [
        URL_VALUE,
        {"index": 2, "type": "EMAIL", "data": "x@example.com"},
        {"index": 3, "type": "DESC", "data": "d"},
    ]
    client.put("/api/handles/88.118.8/F", json={"values": values}, auth=auth)
    picked = client.get("/api/handles/88.118.8/F?index=1&type=DESC").json()["values"]
    assert [v["index"] for v in picked] == [1, 3]
    none = client.get("/api/handles/88.118.8/F?type=NOPE")
    assert none.status_code == 200 and none.json() == {
        "responseCode": 200,
        "handle": "88.118.8/F",
        "values": [],
        "message": none.json()["message"],
    }


def test_mint_new_suffix(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    response = client.put(
        "/api/handles/88.118.8/LOT-?mintNewSuffix=true", json={"values": [URL_VALUE]}, auth=auth
    )
    assert response.status_code == 201
    handle = response.json()["handle"]
    assert handle.startswith("88.118.8/LOT-") and len(handle) > len("88.118.8/LOT-")
    assert client.get(f"/api/handles/{handle}").status_code == 200


def test_private_values_are_hidden_from_anonymous_callers(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    secret = {"index": 5, "type": "INTERNAL", "data": "cost price", "permissions": "1100"}
    client.put("/api/handles/88.118.8/S", json={"values": [URL_VALUE, secret]}, auth=auth)
    anonymous = client.get("/api/handles/88.118.8/S").json()["values"]
    assert [v["index"] for v in anonymous] == [1]
    owner = client.get("/api/handles/88.118.8/S", auth=auth).json()["values"]
    assert [v["index"] for v in owner] == [1, 5]
    assert client.get("/api/handles/88.118.8/S?index=5").json()["values"] == []


def test_admin_identity_handle_resolves_without_revealing_keys(
    client: httpx.Client, acme: dict
) -> None:
    response = client.get("/api/handles/88.118.8/ADMIN")
    assert response.status_code == 200
    assert [v["type"] for v in response.json()["values"]] == ["HS_ADMIN"]


def test_listing_a_prefix_pages_through_handles(client: httpx.Client, acme: dict) -> None:
    auth = basic_auth(acme)
    for n in range(5):
        client.put(f"/api/handles/88.118.8/L{n}", json={"values": [URL_VALUE]}, auth=auth)
    page = client.get("/api/handles?prefix=88.118.8&page=1&pageSize=2", auth=auth).json()
    assert page["totalCount"] == "6"  # five plus 88.118.8/ADMIN
    assert page["handles"] == ["88.118.8/L1", "88.118.8/L2"]
    assert client.get("/api/handles?prefix=88.118.8").status_code == 401


def test_bearer_admin_token_may_write_anywhere(client: httpx.Client, acme: dict) -> None:
    from .helpers import ADMIN_HEADERS

    response = client.put(
        "/api/handles/88.118.8/BY-ADMIN", json={"values": [URL_VALUE]}, headers=ADMIN_HEADERS
    )
    assert response.status_code == 201
