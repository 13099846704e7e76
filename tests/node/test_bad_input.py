"""Every bad request gets a 4xx that names the problem, and leaves nothing written."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest

from node import Settings, create_app

from ..servers import ThreadedServer
from .helpers import ADMIN_HEADERS, basic_auth, create_enterprise

GOOD = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/good"}]}
LIMIT = 4096


@pytest.fixture
def server(settings: Settings):
    small = settings.model_copy(update={"max_body_bytes": LIMIT})
    with ThreadedServer(create_app(small)) as server:
        yield server


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture
def auth(server) -> httpx.BasicAuth:
    return basic_auth(create_enterprise(server.url, "Acme", "88.118.8"))


def _values(*items: dict) -> dict:
    return {"values": list(items)}


def _assert_nothing_written(client: httpx.Client, auth: httpx.BasicAuth) -> None:
    listing = client.get("/api/handles?prefix=88.118.8", auth=auth).json()
    assert listing["handles"] == ["88.118.8/ADMIN"]


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "words"),
    [
        ("88..8/x", GOOD, 400, 102, "empty segment"),
        ("88.118.8/", GOOD, 400, 102, "suffix is empty"),
        ("88.118.8/a%00b", GOOD, 400, 102, "control character"),
        ("88.118.8/" + "x" * 300, GOOD, 400, 102, "at most 255"),
        ("88.118.8/x", {"nope": 1}, 400, 4, "no 'values'"),
        ("88.118.8/x", [1, 2], 400, 202, "must be an object"),
        ("88.118.8/x", "just a string", 400, 4, "JSON object"),
        ("88.118.8/x", _values(), 400, 202, "is empty"),
        (
            "88.118.8/x",
            _values({"index": 1, "type": "A", "data": "a"}, {"index": 1, "type": "B", "data": "b"}),
            400,
            202,
            "appears more than once",
        ),
        (
            "88.118.8/x",
            _values({"index": 1, "type": "A", "data": {"format": "blob", "value": "a"}}),
            400,
            202,
            "unknown data format",
        ),
        (
            "88.118.8/x",
            _values({"index": 1, "type": "A", "data": {"format": "base64", "value": "%%%"}}),
            400,
            202,
            "not valid base64",
        ),
        (
            "88.118.8/x",
            _values({"index": 1, "type": "A", "data": {"format": "hex", "value": "0g"}}),
            400,
            202,
            "not valid hex",
        ),
        (
            "88.118.8/x",
            _values({"index": 99999999999999999999, "type": "A", "data": "a"}),
            400,
            202,
            "outside 1..2147483647",
        ),
        (
            "88.118.8/x",
            _values({"index": 1, "type": "A", "data": "a", "ttl": "soon"}),
            400,
            202,
            "ttl",
        ),
        ("88.118.8/x", {"handle": "88.118.8/other", **GOOD}, 400, 4, "URL names"),
    ],
)
def test_bad_writes_are_refused_by_name(
    client: httpx.Client,
    auth: httpx.BasicAuth,
    path: str,
    body: object,
    status: int,
    code: int,
    words: str,
) -> None:
    response = client.put(f"/api/handles/{path}", json=body, auth=auth)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["responseCode"] == code
    assert words in payload["message"]
    assert "handle" in payload
    _assert_nothing_written(client, auth)


def test_body_that_is_not_json(client: httpx.Client, auth: httpx.BasicAuth) -> None:
    response = client.put(
        "/api/handles/88.118.8/x",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        auth=auth,
    )
    assert response.status_code == 400 and "not valid JSON" in response.json()["message"]
    _assert_nothing_written(client, auth)


def test_wrong_content_type(client: httpx.Client, auth: httpx.BasicAuth) -> None:
    response = client.put(
        "/api/handles/88.118.8/x",
        content=b"values=1",
        auth=auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415 and "must be JSON" in response.json()["message"]
    _assert_nothing_written(client, auth)


def test_body_over_the_size_limit(client: httpx.Client, auth: httpx.BasicAuth) -> None:
    big = _values({"index": 1, "type": "DESC", "data": "x" * (LIMIT * 2)})
    response = client.put("/api/handles/88.118.8/x", json=big, auth=auth)
    assert response.status_code == 413 and "over the limit" in response.json()["message"]

    def chunks():  # no Content-Length: the limit still holds while streaming
        yield b'{"values": [{"index": 1, "type": "DESC", "data": "'
        yield b"x" * (LIMIT * 2)
        yield b'"}]}'

    streamed = client.put(
        "/api/handles/88.118.8/x",
        content=chunks(),
        auth=auth,
        headers={"Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    _assert_nothing_written(client, auth)


def test_a_bad_value_in_a_partial_update_changes_nothing(
    client: httpx.Client, auth: httpx.BasicAuth
) -> None:
    client.put("/api/handles/88.118.8/keep", json=GOOD, auth=auth)
    before = client.get("/api/handles/88.118.8/keep").json()
    bad = _values(
        {"index": 2, "type": "A", "data": "ok"},
        {"index": 3, "type": "B", "data": {"format": "hex", "value": "zz"}},
    )
    response = client.put("/api/handles/88.118.8/keep?index=2&index=3", json=bad, auth=auth)
    assert response.status_code == 400
    assert client.get("/api/handles/88.118.8/keep").json() == before


def test_values_outside_the_index_parameters(client: httpx.Client, auth: httpx.BasicAuth) -> None:
    client.put("/api/handles/88.118.8/keep", json=GOOD, auth=auth)
    response = client.put(
        "/api/handles/88.118.8/keep?index=2",
        json=_values({"index": 5, "type": "A", "data": "a"}),
        auth=auth,
    )
    assert (
        response.status_code == 400
        and "not among the index parameters" in response.json()["message"]
    )


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("overwrite=maybe", "overwrite must be true or false"),
        ("index=abc", "index parameter"),
        ("index=0", "index parameter"),
    ],
)
def test_bad_query_parameters(
    client: httpx.Client, auth: httpx.BasicAuth, query: str, words: str
) -> None:
    response = client.put(f"/api/handles/88.118.8/x?{query}", json=GOOD, auth=auth)
    assert response.status_code == 400 and words in response.json()["message"]
    _assert_nothing_written(client, auth)


def test_writes_outside_your_prefix_are_forbidden(
    client: httpx.Client, server, auth: httpx.BasicAuth
) -> None:
    create_enterprise(server.url, "Other", "88.118.9")
    response = client.put("/api/handles/88.118.9/x", json=GOOD, auth=auth)
    assert response.status_code == 403 and response.json()["responseCode"] == 400
    assert "may not write under prefix 88.118.9" in response.json()["message"]
    assert client.delete("/api/handles/88.118.9/ADMIN", auth=auth).status_code == 403
    assert client.get("/api/handles/88.118.9/x").status_code == 404


def test_the_credentials_handle_is_managed_by_the_node(
    client: httpx.Client, auth: httpx.BasicAuth
) -> None:
    response = client.put("/api/handles/88.118.8/ADMIN", json=GOOD, auth=auth)
    assert response.status_code == 403 and "managed by the node" in response.json()["message"]


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        ({}, "authentication is required"),
        ({"Authorization": "Basic !!!"}, "not valid base64"),
        ({"Authorization": "Basic anVzdGF1c2Vy"}, "no ':'"),
        ({"Authorization": "Digest abc"}, "unsupported authorization scheme"),
        ({"Authorization": "Bearer not-a-token"}, "unknown, revoked or expired"),
    ],
)
def test_missing_or_malformed_credentials(
    client: httpx.Client, auth, headers: dict, words: str
) -> None:
    response = client.put("/api/handles/88.118.8/x", json=GOOD, headers=headers)
    assert response.status_code == 401
    assert response.json()["responseCode"] == 402 and words in response.json()["message"]
    assert "WWW-Authenticate" in response.headers
    _assert_nothing_written(client, auth)


def test_wrong_password(client: httpx.Client, auth: httpx.BasicAuth) -> None:
    wrong = httpx.BasicAuth("300%3A88.118.8%2FADMIN", "wrong")
    response = client.put("/api/handles/88.118.8/x", json=GOOD, auth=wrong)
    assert response.status_code == 401 and "wrong password" in response.json()["message"]
    _assert_nothing_written(client, auth)


def test_admin_api_needs_the_admin_token(client: httpx.Client, auth: httpx.BasicAuth) -> None:
    assert client.get("/admin/enterprises").status_code == 401
    assert (
        client.get("/admin/enterprises", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    forbidden = client.get("/admin/enterprises", auth=auth)
    assert forbidden.status_code == 403 and "administrator" in forbidden.json()["message"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({}, 400, "name"),
        ({"name": ""}, 400, "name"),
        ({"name": "X", "prefix": "99.1"}, 400, "not under this node's code"),
        ({"name": "X", "prefix": "88.118.8"}, 409, "already allocated"),
        ({"name": "X", "prefix": "88.118..1"}, 400, "empty segment"),
    ],
)
def test_admin_api_bad_input(
    client: httpx.Client, auth, body: dict, status: int, words: str
) -> None:
    response = client.post("/admin/enterprises", json=body, headers=ADMIN_HEADERS)
    assert response.status_code == status, response.text
    assert words in response.json()["message"]
    assert len(client.get("/admin/enterprises", headers=ADMIN_HEADERS).json()) == 1


def test_a_body_the_client_abandons_writes_nothing_and_is_no_server_error(
    server, client: httpx.Client, auth: httpx.BasicAuth, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="idnode")
    authorization = next(auth.auth_flow(httpx.Request("GET", server.url))).headers["Authorization"]
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"PUT /api/handles/88.118.8/CUT HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: {authorization}\r\n".encode()
            + b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"values": ['
        )
        time.sleep(0.2)  # the partial body reaches the server before the connection closes
    deadline = time.monotonic() + 10
    while not any("88.118.8/CUT" in record.getMessage() for record in caplog.records):
        assert time.monotonic() < deadline, "the server never noticed the client went away"
        time.sleep(0.05)
    messages = [r.getMessage() for r in caplog.records if "88.118.8/CUT" in r.getMessage()]
    assert all("client went away" in m and "nothing written" in m for m in messages), messages
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    _assert_nothing_written(client, auth)


def _site_json(value: str) -> bytes:
    return (
        '{"values":[{"index":1,"type":"HS_SITE","data":{"format":"site","value":' + value + "}}]}"
    ).encode()


def _nested_json(depth: int) -> str:
    """An object ``depth`` levels deep, compact enough for the small body limit."""
    return '{"a":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        (_site_json(_nested_json(250)), 202, "site data is nested more than 32 levels deep"),
        (_site_json(_nested_json(1000)), 202, "site data is nested more than 32 levels deep"),
        (_site_json(_nested_json(1100)), 4, "not valid JSON: depth limit exceeded"),
        (_site_json('{"n":123456789012345678901234567890}'), 202, "integers from -2^63 to 2^64-1"),
        (_site_json('{"n":1' + "0" * 400 + "}"), 4, "not valid JSON: number is infinity"),
        (
            b'{"values":[{"index":"' + b"9" * 4000 + b'","type":"A","data":"a"}]}',
            202,
            "4000 digits",
        ),
        ('{"values":[{"index":"٣","type":"A","data":"a"}]}'.encode(), 202, "ASCII digits"),
        (b'{"values":[{"index":"\xc2\xb2","type":"A","data":"a"}]}', 202, "ASCII digits"),
    ],
)
def test_bodies_that_once_were_server_errors(
    client: httpx.Client, auth: httpx.BasicAuth, body: bytes, code: int, words: str
) -> None:
    headers = {"Content-Type": "application/json"}
    response = client.put("/api/handles/88.118.8/x", content=body, headers=headers, auth=auth)
    assert response.status_code == 400, response.text
    assert response.json()["responseCode"] == code and words in response.json()["message"]
    _assert_nothing_written(client, auth)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("index=" + "9" * 5000, "index of 5000 digits is outside 1..2147483647"),
        ("index=%D9%A3", "index must be an integer of ASCII digits"),  # Arabic-Indic three
        ("index=%C2%B2", "index must be an integer of ASCII digits"),  # superscript two
        ("index=2147483648", "outside 1..2147483647"),
    ],
)
def test_bad_index_parameters_on_reads_and_writes(
    client: httpx.Client, auth: httpx.BasicAuth, query: str, words: str
) -> None:
    client.put("/api/handles/88.118.8/keep", json=GOOD, auth=auth)
    for read_auth in (None, auth):  # anonymous too
        read = client.get(f"/api/handles/88.118.8/keep?{query}", auth=read_auth)
        assert read.status_code == 400, read.text
        assert read.json()["responseCode"] == 202 and words in read.json()["message"]
    write = client.put(f"/api/handles/88.118.8/x?{query}", json=GOOD, auth=auth)
    assert write.status_code == 400 and words in write.json()["message"]
    delete = client.delete(f"/api/handles/88.118.8/keep?{query}", auth=auth)
    assert delete.status_code == 400 and words in delete.json()["message"]
    assert client.get("/api/handles/88.118.8/keep").json()["values"][0]["data"]["value"] == (
        "https://example.com/good"
    )
    assert client.get("/api/handles/88.118.8/x").status_code == 404


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("page=99999999999999999999", "page must be an integer of at most 18 ASCII digits"),
        ("page=999999999999999999", "page x pageSize must be at most 9223372036854775807"),
        ("page=922337203685478&pageSize=10000", "past the end"),
        ("pageSize=99999999999999999999", "pageSize must be an integer"),
        ("page=%D9%A3", "page must be an integer of at most 18 ASCII digits"),
        ("page=" + "9" * 5000, "page must be an integer"),
    ],
)
def test_bad_paging_parameters(
    client: httpx.Client, auth: httpx.BasicAuth, query: str, words: str
) -> None:
    response = client.get(f"/api/handles?prefix=88.118.8&{query}", auth=auth)
    assert response.status_code == 400, response.text
    assert response.json()["responseCode"] == 4 and words in response.json()["message"]
    last = client.get("/api/handles?prefix=88.118.8&page=922337203685477&pageSize=1", auth=auth)
    assert last.status_code == 200 and last.json()["handles"] == []


@pytest.mark.parametrize("name", ["a\x00b", "tab\tin", "del\x7f", "c1\x85in"])
def test_enterprise_names_refuse_control_characters(
    client: httpx.Client, auth: httpx.BasicAuth, name: str
) -> None:
    response = client.post("/admin/enterprises", json={"name": name}, headers=ADMIN_HEADERS)
    assert response.status_code == 400, response.text
    assert "enterprise name contains the control character U+00" in response.json()["message"]
    assert len(client.get("/admin/enterprises", headers=ADMIN_HEADERS).json()) == 1


def test_an_unexpected_error_says_the_connection_closes(settings: Settings) -> None:
    app = create_app(settings)

    @app.post("/api/handles/test-only/boom")  # on this test's app only, never the product's
    async def boom() -> None:
        raise RuntimeError("a bug")

    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        assert client.get("/healthz").status_code == 200
        failed = client.post("/api/handles/test-only/boom")
        assert failed.status_code == 500 and failed.json()["responseCode"] == 2
        assert "bug" not in failed.text
        assert failed.headers["connection"] == "close"
        # The pool dropped the closed connection: the next request is answered, not reset.
        assert client.get("/healthz").status_code == 200
