"""The OpenAPI document shows a request body, with examples, for every write of the Handle and
SNMS APIs, and each example is a body a running node accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from registry.trust import cipher_password
from registry.trust.cipher import CHINA_TIME

from .helpers import basic_auth, create_enterprise

_DOCUMENTED = ("/api/handles", "/identity", "/identityv2", "/snms")
_WRITES = {"post", "put", "delete"}
# Operations that read their fields from the query string or from a JSON body alike.
_QUERY_OR_BODY = {
    ("get", "/identityv2/data/detail"),
    ("delete", "/identityv2/data"),
    ("get", "/snms/api/v5/template"),
    ("delete", "/snms/api/v5/template"),
}
# Writes that take no body (the Handle DELETE names what it deletes in the URL and query).
_NO_BODY = {("delete", "/api/handles/{handle}")}
# The order the examples are sent in: what one example needs, an earlier one made.
_ORDER = [
    ("post", "/identity/token"),
    ("post", "/identity/token/v1"),
    ("post", "/snms/api/v5/template"),
    ("put", "/snms/api/v5/template"),
    ("get", "/snms/api/v5/template"),
    ("put", "/api/handles/{handle}"),
    ("post", "/identityv2/data"),
    ("put", "/identityv2/data"),
    ("get", "/identityv2/data/detail"),
    ("delete", "/identityv2/data"),
    ("post", "/identityv2/data/batchCreate"),
    ("put", "/identityv2/data/batchUpdate"),
    ("delete", "/identityv2/data/batchDelete"),
    ("delete", "/snms/api/v5/template"),
]


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, operations in document["paths"].items()
        if path.startswith(_DOCUMENTED)
        for method, operation in operations.items()
        if (method in _WRITES or (method, path) in _QUERY_OR_BODY)
        and (method, path) not in _NO_BODY
    }


def _examples(operation: dict[str, Any]) -> dict[str, Any]:
    content = operation["requestBody"]["content"]["application/json"]
    return {name: example["value"] for name, example in content["examples"].items()}


@pytest.fixture
def client(node_server):
    with httpx.Client(base_url=node_server.url, timeout=60) as client:
        yield client


def test_every_write_documents_its_body_with_examples(client: httpx.Client) -> None:
    operations = _operations(client.get("/openapi.json").json())
    # Every write of these APIs is here: a new one without a documented body fails this test.
    assert set(operations) == set(_ORDER)
    for key, operation in operations.items():
        body = operation.get("requestBody")
        assert body is not None, f"{key} documents no request body"
        content = body["content"]["application/json"]
        assert content["schema"].get("type") or content["schema"].get("oneOf"), key
        assert content["examples"], f"{key} has no example"
        if key in _QUERY_OR_BODY:
            assert body["required"] is False
            names = {parameter["name"] for parameter in operation["parameters"]}
            for example in _examples(operation).values():
                assert set(example) <= names, key


def test_each_example_is_accepted_by_a_running_node(client: httpx.Client, node_server) -> None:
    credential = create_enterprise(node_server.url, "Acme", "88.118.8")
    operations = _operations(client.get("/openapi.json").json())
    headers: dict[str, str] = {}
    for method, path in _ORDER:
        for name, example in _examples(operations[method, path]).items():
            where = f"{method.upper()} {path} example {name!r}"
            if path.startswith("/identity/token"):
                # The example's shape with this node's credential in it.
                password = credential["password"]
                if path.endswith("/v1"):
                    password = cipher_password(
                        password, datetime.now(UTC).astimezone(CHINA_TIME).date()
                    )
                example = {**example, "username": credential["username"], "password": password}
            if path == "/api/handles/{handle}":
                url = "/api/handles/88.118.8/sensor-42"
                if isinstance(example, dict) and "handle" in example:
                    url = f"/api/handles/{example['handle']}"
                response = client.put(url, json=example, auth=basic_auth(credential))
                assert response.status_code in (200, 201), f"{where}: {response.text}"
                continue
            response = client.request(method, path, json=example, headers=headers)
            assert response.status_code == 200, f"{where}: {response.text}"
            body = response.json()
            assert body["status"] == 1, f"{where}: {body}"
            if path.endswith(("batchCreate", "batchUpdate", "batchDelete")):
                assert all(line["msg"] == "success" for line in body["data"]), f"{where}: {body}"
            if path.startswith("/identity/token"):
                headers = {"Authorization": body["data"]["token"]}


# A value each documented Handle REST query parameter refuses, and the words its 400 uses; the
# list and resolve parameters of free text (prefix aside) take anything.
_REFUSED_QUERY = {
    "page": ("x", "query parameter page must be an integer"),
    "pageSize": ("1.5", "query parameter pageSize must be an integer"),
    "index": ("first", "index parameter"),
    "overwrite": ("maybe", "query parameter overwrite must be true or false"),
    "mintNewSuffix": ("maybe", "query parameter mintNewSuffix must be true or false"),
}


def test_the_handle_api_documents_the_query_parameters_it_reads(
    client: httpx.Client, node_server
) -> None:
    """Each Handle REST operation lists its query parameters, and each one listed is one the
    node reads: a bad value for it is refused by name."""
    paths = client.get("/openapi.json").json()["paths"]
    documented = {
        (method, path): {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
        for path in ("/api/handles", "/api/handles/{handle}")
        for method, op in paths[path].items()
    }
    assert {key: set(names) for key, names in documented.items()} == {
        ("get", "/api/handles"): {"prefix", "page", "pageSize"},
        ("get", "/api/handles/{handle}"): {"index", "type"},
        ("put", "/api/handles/{handle}"): {"overwrite", "index", "mintNewSuffix"},
        ("delete", "/api/handles/{handle}"): {"index"},
    }
    assert documented["get", "/api/handles"]["prefix"]["required"] is True
    credential = create_enterprise(node_server.url, "Acme", "88.118.8")
    auth = basic_auth(credential)
    value = [{"index": 1, "type": "URL", "data": "https://example.com"}]
    assert client.put("/api/handles/88.118.8/Q1", json=value, auth=auth).status_code == 201
    for (method, path), parameters in documented.items():
        url = "/api/handles" if path == "/api/handles" else "/api/handles/88.118.8/Q1"
        for name in parameters:
            if name not in _REFUSED_QUERY:
                continue
            bad, words = _REFUSED_QUERY[name]
            params = {name: bad, **({"prefix": "88.118.8"} if name != "prefix" else {})}
            body = value if method == "put" else None
            response = client.request(method, url, params=params, json=body, auth=auth)
            assert response.status_code == 400, (method, path, name, response.text)
            assert words in response.text, (method, path, name, response.text)
    # The documented page size is the node's: its maximum is taken, one more refused.
    size = documented["get", "/api/handles"]["pageSize"]["schema"]["maximum"]
    for page_size, status in ((size, 200), (size + 1, 400)):
        params = {"prefix": "88.118.8", "pageSize": page_size}
        assert client.get("/api/handles", params=params, auth=auth).status_code == status
    # The free-text ones are read too: a type filter narrows the answer.
    narrowed = client.get("/api/handles/88.118.8/Q1", params={"type": "EMAIL"})
    assert narrowed.status_code == 200 and narrowed.json()["values"] == []
