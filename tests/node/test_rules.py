"""One set of rules for every way in: identifiers, redirects and templates over real HTTP."""

from __future__ import annotations

import re

import httpx
import pytest

from node import Settings, create_app
from node.hot import HotPath

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise

GOOD = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/good"}]}


@pytest.fixture
def server(settings: Settings):
    # Behind the hot path, as `idnode serve` runs it: anonymous GETs are answered there.
    with ThreadedServer(HotPath(create_app(settings))) as server:
        yield server


@pytest.fixture
def client(server):
    with httpx.Client(base_url=server.url, timeout=60, follow_redirects=False) as client:
        yield client


@pytest.fixture
def auth(server) -> httpx.BasicAuth:
    return basic_auth(create_enterprise(server.url, "Acme", "88.118.8"))


def _listing(client: httpx.Client, auth: httpx.BasicAuth) -> list[str]:
    return client.get("/api/handles?prefix=88.118.8", auth=auth).json()["handles"]


# Item 14: look-alike identifiers.


def test_nfc_and_nfd_spellings_name_one_record(client: httpx.Client, auth) -> None:
    nfd, nfc = "/api/handles/88.118.8/cafe%CC%81", "/api/handles/88.118.8/caf%C3%A9"
    created = client.put(nfd, json=GOOD, auth=auth)
    assert created.status_code == 201, created.text
    assert created.json()["handle"] == "88.118.8/caf\u00e9"
    again = client.put(f"{nfc}?overwrite=false", json=GOOD, auth=auth)
    assert again.status_code == 409 and again.json()["responseCode"] == 101
    for path in (nfc, nfd):
        assert client.get(path).json()["handle"] == "88.118.8/caf\u00e9"  # the hot path
        assert client.get(path, auth=auth).json()["handle"] == "88.118.8/caf\u00e9"
    assert _listing(client, auth) == ["88.118.8/ADMIN", "88.118.8/caf\u00e9"]


@pytest.mark.parametrize(
    ("suffix", "words"),
    [
        ("X%FF%FE", "not valid UTF-8 once percent-decoded: byte FF"),
        ("X%EF%BF%BD%EF%BF%BD", "U+FFFD REPLACEMENT CHARACTER"),
        ("X%0A", "U+000A (control character)"),
        ("A%0AB", "U+000A (control character)"),
        ("A%E2%80%AEgpj.exe", "U+202E RIGHT-TO-LEFT OVERRIDE (bidi control)"),
        ("A%E2%80%8BB", "U+200B ZERO WIDTH SPACE (invisible format character)"),
        ("A%E2%80%A8B", "U+2028 LINE SEPARATOR (line separator)"),
    ],
)
def test_look_alike_paths_are_refused_on_every_method(
    client: httpx.Client, auth, suffix: str, words: str
) -> None:
    # "X" exists: a path that decodes to it with something dropped or replaced must not reach it.
    assert client.put("/api/handles/88.118.8/X", json=GOOD, auth=auth).status_code == 201
    path = f"/api/handles/88.118.8/{suffix}"
    for response in (
        client.put(path, json=GOOD, auth=auth),
        client.get(path),
        client.get(path, auth=auth),
        client.delete(path, auth=auth),
    ):
        assert response.status_code == 400, (response.request.method, response.text)
        body = response.json()
        assert body["responseCode"] == 102 and words in body["message"], body
    human = client.get(f"/88.118.8/{suffix}")
    assert human.status_code == 400 and words in human.text
    assert _listing(client, auth) == ["88.118.8/ADMIN", "88.118.8/X"]


def test_snms_bodies_follow_the_same_grammar(client: httpx.Client, server) -> None:
    acme = create_enterprise(server.url, "Acme", "88.118.8")
    login = client.post("/identity/token", json=acme).json()
    headers = {"Authorization": login["data"]["token"]}
    value = [{"index": 1, "type": "URL", "data": "https://example.com/x"}]
    made = client.post(
        "/identityv2/data", json={"handle": "88.118.8/cafe\u0301", "value": value}, headers=headers
    )
    assert made.json() == {
        "status": 1,
        "message": "success",
        "data": {"handle": "88.118.8/caf\u00e9"},
    }
    assert client.get("/api/handles/88.118.8/caf%C3%A9").status_code == 200
    refused = client.post(
        "/identityv2/data/batchCreate",
        json=[{"handle": "88.118.8/A\u202eB", "value": value}],
        headers=headers,
    ).json()
    assert "U+202E RIGHT-TO-LEFT OVERRIDE (bidi control)" in refused["data"][0]["msg"]


# Item 12: the human redirect follows only web addresses.


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "//evil.example/phish",
        "/relative/path",
        "https:evil.example",
        "https://",
        " https://example.com/leading-space",
        "vbscript:msgbox(1)",
    ],
)
def test_redirect_only_to_http_and_https(client: httpx.Client, auth, url: str) -> None:
    values = {"values": [{"index": 1, "type": "URL", "data": url}]}
    assert client.put("/api/handles/88.118.8/SCAN", json=values, auth=auth).status_code == 201
    response = client.get("/88.118.8/SCAN")
    assert response.status_code == 200, response.headers
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    # Shown as text, not as a link: the page's only links are its own (/…, ?lang=…).
    links = re.findall(r'<a [^>]*href="([^"]*)"', response.text)
    assert links and all(link.startswith(("/", "#")) for link in links), links


@pytest.mark.parametrize("url", ["https://example.com/p/1", "HTTP://EXAMPLE.COM/p?q=1#f"])
def test_web_urls_still_redirect_and_link(client: httpx.Client, auth, url: str) -> None:
    values = {"values": [{"index": 1, "type": "URL", "data": url}]}
    assert client.put("/api/handles/88.118.8/SCAN", json=values, auth=auth).status_code == 201
    response = client.get("/88.118.8/SCAN")
    assert response.status_code == 302 and response.headers["location"] == url
    page = client.get("/88.118.8/SCAN?noredirect")
    assert '<a href="' in page.text


def test_redirect_skips_a_script_url_for_a_later_web_url(client: httpx.Client, auth) -> None:
    values = {
        "values": [
            {"index": 1, "type": "URL", "data": "javascript:alert(1)"},
            {"index": 2, "type": "URL", "data": "https://example.com/real"},
        ]
    }
    assert client.put("/api/handles/88.118.8/TWO", json=values, auth=auth).status_code == 201
    response = client.get("/88.118.8/TWO")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/real"


# Item 13: Handle REST writes keep a record within its template, as SNMS writes do.

TEMPLATE = {
    "prefix": "88.118.8",
    "version": "1.0",
    "type": 1,
    "items": [
        {
            "name": "productName",
            "idType": "productName",
            "idIndex": 2000,
            "required": True,
            "state": 1,
            "metadata": {"type": "string", "minLength": 1, "maxLength": 20},
        },
        {
            "name": "batchNo",
            "idType": "batchNo",
            "idIndex": 2001,
            "required": False,
            "state": 1,
            "metadata": {"type": "string", "minLength": 0, "maxLength": 10},
        },
    ],
}
RECORD = "/api/handles/88.118.8/MC-1"


def _value(index: int, kind: str, data: str) -> dict:
    return {"index": index, "type": kind, "data": {"format": "string", "value": data}}


@pytest.fixture
def templated(client: httpx.Client, server) -> httpx.BasicAuth:
    """Acme's REST credential, with 88.118.8/MC-1 registered through SNMS against template 1.0."""
    acme = create_enterprise(server.url, "Acme", "88.118.8")
    token = client.post("/identity/token", json=acme).json()["data"]["token"]
    headers = {"Authorization": token}
    assert (
        client.post("/snms/api/v5/template", json=TEMPLATE, headers=headers).json()["status"] == 1
    )
    body = {
        "handle": "88.118.8/MC-1",
        "templateVersion": "1.0",
        "value": [
            _value(1, "URL", "https://example.com/mc/1"),
            _value(2000, "productName", "Motor"),
        ],
    }
    assert client.post("/identityv2/data", json=body, headers=headers).json()["status"] == 1
    return basic_auth(acme)


def _stored(client: httpx.Client, auth: httpx.BasicAuth) -> dict[int, tuple[str, str]]:
    values = client.get(RECORD, auth=auth).json()["values"]
    return {
        v["index"]: (v["type"], v["data"]["value"])
        for v in values
        if v["index"] < 400 or v["index"] >= 1000
    }


@pytest.mark.parametrize(
    ("method", "query", "body", "words"),
    [
        (
            "PUT",
            "?index=2000",
            {"values": [_value(2000, "productName", "M" * 21)]},
            "item 'productName' (value index 2000) must be 1-20 characters long, got 21",
        ),
        (
            "PUT",
            "?index=2001",
            {"values": [_value(2001, "lotNo", "L1")]},
            "value index 2001 must have type 'batchNo'",
        ),
        (
            "PUT",
            "",
            {"values": [_value(1, "URL", "https://example.com/other")]},
            "required items of template 1.0 are missing: 'productName' (index 2000",
        ),
        (
            "PUT",
            "?index=1500",
            {"values": [_value(1500, "NOTE", "x")]},
            "value index 1500 is not an item of template 1.0",
        ),
        (
            "DELETE",
            "?index=2000",
            None,
            "required items of template 1.0 are missing: 'productName'",
        ),
        (
            "PUT",
            "?index=1001",
            {"values": [_value(1001, "TEMPLATE", "2.0")]},
            "index 1001 is reserved: the node writes the TEMPLATE value there",
        ),
        (
            "PUT",
            "",
            {"values": [_value(1001, "TEMPLATE", "2.0"), _value(2000, "productName", "Motor")]},
            "index 1001 is reserved",
        ),
        ("DELETE", "?index=1001", None, "index 1001 is reserved"),
    ],
)
def test_rest_writes_that_break_the_template_are_refused(
    client: httpx.Client, templated, method: str, query: str, body: dict | None, words: str
) -> None:
    before = _stored(client, templated)
    assert before[1001] == ("TEMPLATE", "1.0") and before[2000] == ("productName", "Motor")
    response = client.request(method, RECORD + query, json=body, auth=templated)
    assert response.status_code == 400, response.text
    assert response.json()["responseCode"] == 202 and words in response.json()["message"]
    assert response.json()["handle"] == "88.118.8/MC-1"
    assert _stored(client, templated) == before


def test_rest_writes_within_the_template_keep_its_marker(client: httpx.Client, templated) -> None:
    added = client.put(
        RECORD + "?index=2001", json={"values": [_value(2001, "batchNo", "B7")]}, auth=templated
    )
    assert added.status_code == 200, added.text
    assert _stored(client, templated)[2001] == ("batchNo", "B7")
    assert client.delete(RECORD + "?index=2001", auth=templated).status_code == 200
    replaced = client.put(
        RECORD,
        json={
            "values": [
                _value(1, "URL", "https://example.com/b"),
                _value(2000, "productName", "Pump"),
            ]
        },
        auth=templated,
    )
    assert replaced.status_code == 200, replaced.text
    assert _stored(client, templated) == {
        1: ("URL", "https://example.com/b"),
        1001: ("TEMPLATE", "1.0"),
        2000: ("productName", "Pump"),
    }
    assert client.get(RECORD).json()["values"][1]["timestamp"]  # the node's value is stamped
    # Deleting the whole record is still the way out of its template.
    assert client.delete(RECORD, auth=templated).status_code == 200


def test_index_1001_is_the_nodes_on_records_without_a_template(client: httpx.Client, auth) -> None:
    body = {"values": [_value(1, "URL", "https://example.com/x"), _value(1001, "TEMPLATE", "9")]}
    response = client.put("/api/handles/88.118.8/PLAIN", json=body, auth=auth)
    assert response.status_code == 400 and response.json()["responseCode"] == 202
    assert "index 1001 is reserved" in response.json()["message"]
    assert client.get("/api/handles/88.118.8/PLAIN").status_code == 404
