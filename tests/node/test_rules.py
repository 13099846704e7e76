"""One set of rules for every way in: identifiers, redirects and templates over real HTTP."""

from __future__ import annotations

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
    assert "<a " not in response.text  # shown as text, not as a link


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
