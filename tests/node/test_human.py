"""Human resolution: a redirect to the record's URL, or a readable, escaped HTML page."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from httpapi import install_error_handlers
from node import Settings, create_app
from node.hot import HotPath
from node.human import human_dialect
from node.human.hot import hot_page
from registry import Conflict, Forbidden, NodeError, TooManyAttempts, Unauthenticated

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise


@pytest.fixture
def client(node_server):
    auth = basic_auth(create_enterprise(node_server.url, "Acme", "88.118.8"))
    with httpx.Client(base_url=node_server.url, timeout=30, follow_redirects=False) as client:
        client.put(
            "/api/handles/88.118.8/WITH-URL",
            auth=auth,
            json={
                "values": [
                    {"index": 1, "type": "URL", "data": "https://example.com/products/1"},
                    {"index": 2, "type": "DESC", "data": "<script>alert(1)</script> & more"},
                    {"index": 3, "type": "COST", "data": "secret", "permissions": "1100"},
                ]
            },
        )
        client.put(
            "/api/handles/88.118.8/NO-URL",
            auth=auth,
            json={
                "values": [
                    {"index": 2, "type": "DESC", "data": "plain"},
                ]
            },
        )
        yield client


def test_redirects_to_the_first_url(client: httpx.Client) -> None:
    response = client.get("/88.118.8/WITH-URL")
    assert response.status_code == 302
    assert response.headers["location"] == "https://example.com/products/1"


def test_noredirect_shows_the_record_escaped_without_private_values(client: httpx.Client) -> None:
    response = client.get("/88.118.8/WITH-URL?noredirect")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "<script>" not in page
    assert "secret" not in page
    assert "http" not in page.replace("https://example.com/products/1", "")  # no external assets


def test_record_without_url_shows_a_page(client: httpx.Client) -> None:
    response = client.get("/88.118.8/NO-URL")
    assert response.status_code == 200 and "plain" in response.text


def test_unknown_and_invalid_handles_get_pages(client: httpx.Client) -> None:
    missing = client.get("/88.118.8/NOPE")
    assert missing.status_code == 404 and "88.118.8/NOPE 未在本节点注册" in missing.text
    english = client.get("/88.118.8/NOPE", headers={"accept-language": "en"})
    assert english.status_code == 404 and "88.118.8/NOPE is not registered" in english.text
    assert missing.headers["content-type"].startswith("text/html")
    invalid = client.get("/88..8/x")
    assert invalid.status_code == 400 and "empty segment" in invalid.text


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"


def test_the_page_forbids_scripts_framing_and_sniffing(client: httpx.Client) -> None:
    for path in ("/88.118.8/WITH-URL?noredirect", "/88.118.8/NOPE", "/88..8/x"):
        headers = client.get(path).headers
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "script-src" not in policy and "unsafe-inline" not in policy
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
    page = client.get("/88.118.8/WITH-URL?noredirect")
    # Styled by the node's own stylesheet: nothing inline, nothing from elsewhere.
    assert "style-src 'self'" in page.headers["content-security-policy"]
    assert '<link rel="stylesheet" href="/static/web.css">' in page.text
    assert "<style" not in page.text and " style=" not in page.text
    assert "<script" not in page.text


def test_head_answers_as_get_without_a_body(client: httpx.Client) -> None:
    for path in ("/88.118.8/WITH-URL?noredirect", "/88.118.8/WITH-URL", "/88.118.8/NOPE"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code and head.content == b""
        assert head.headers["content-length"] == got.headers["content-length"]
        assert head.headers.get("location") == got.headers.get("location")


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_head_on_health_is_a_health_check_not_a_page(client: httpx.Client, path: str) -> None:
    got, head = client.get(path), client.head(path)
    assert got.status_code == head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "application/json"


def test_json_answers_say_nosniff(client: httpx.Client) -> None:
    assert client.get("/api/handles/88.118.8/NO-URL").headers["x-content-type-options"] == "nosniff"
    assert client.get("/api/handles/88.118.8/NOPE").headers["x-content-type-options"] == "nosniff"


def test_head_on_handles_behind_the_hot_path(settings: Settings) -> None:
    with ThreadedServer(HotPath(create_app(settings))) as server:
        auth = basic_auth(create_enterprise(server.url, "Acme", "88.118.8"))
        with httpx.Client(base_url=server.url, timeout=30) as client:
            body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/"}]}
            assert client.put("/api/handles/88.118.8/H", json=body, auth=auth).status_code == 201
            for path in ("/api/handles/88.118.8/H", "/api/handles/88.118.8/NOPE"):
                for _ in range(2):  # a miss, then (for H) a cache hit
                    got, head = client.get(path), client.head(path)
                    assert head.status_code == got.status_code, path
                    assert head.content == b""
                    assert head.headers["content-length"] == got.headers["content-length"]
                    assert head.headers["x-content-type-options"] == "nosniff"
            assert client.head("/api/handles/88.118.8/H", auth=auth).status_code == 200
            assert client.head("/api/handles/88.118.8/H?index=1").status_code == 200


@pytest.mark.parametrize(
    ("error", "status", "title"),
    [
        (Unauthenticated("sign in first"), 401, "Sign-in needed"),
        (Forbidden("not yours"), 403, "Not allowed"),
        (TooManyAttempts("slow down", retry_after=9), 429, "Too many attempts"),
        (Conflict("changed meanwhile"), 409, "Conflict"),
        (NodeError("a bug"), 500, "Something went wrong"),
    ],
)
async def test_error_pages_carry_the_status_of_the_error(
    error: NodeError, status: int, title: str
) -> None:
    # A page said 500 for every error it had no title for, a refused login included.
    app = FastAPI()

    @app.get("/page")
    async def page() -> None:
        raise error

    install_error_handlers(app, {"/": human_dialect})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/page", headers={"accept-language": "en"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert title in response.text
    if status == 429:
        assert response.headers["Retry-After"] == "9"


def test_a_viewed_page_is_served_again_from_the_cache_until_the_record_changes(
    settings: Settings,
) -> None:
    """Behind the hot path (as `idnode serve` runs): the same bytes, redirects, fresh on change."""
    app = create_app(settings)
    scope = {"type": "http", "method": "GET", "path": "/88.118.8/P", "raw_path": b"/88.118.8/P"}

    def kept(query: bytes = b"", accept: bytes = b"en") -> int | None:
        """The status the hot path answers with, None when it leaves the request to the app."""
        request = {**scope, "query_string": query, "headers": [(b"accept-language", accept)]}
        page = hot_page(request, app.state.node.resolver)
        return None if page is None else page[0]

    with ThreadedServer(HotPath(app)) as server:
        auth = basic_auth(create_enterprise(server.url, "Acme", "88.118.8"))
        with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as client:
            body = {"values": [{"index": 2, "type": "DESC", "data": "first"}]}
            assert client.put("/api/handles/88.118.8/P", json=body, auth=auth).status_code == 201
            pages = {}
            assert kept() is None  # not viewed yet
            for accept in ("zh-CN", "en"):
                first = client.get("/88.118.8/P", headers={"accept-language": accept})
                again = client.get("/88.118.8/P", headers={"accept-language": accept})
                assert first.status_code == again.status_code == 200
                assert again.content == first.content and "first" in again.text
                for name in ("content-security-policy", "content-language", "vary"):
                    assert again.headers[name] == first.headers[name], name
                assert again.headers["x-content-type-options"] == "nosniff"
                pages[accept] = again.headers["content-language"]
            assert pages == {"zh-CN": "zh-CN", "en": "en"}
            assert kept(b"") == kept(b"noredirect") == kept(b"", b"zh") == 200
            assert kept(b"lang=en") is None  # a switch sets a cookie: the endpoint answers
            # A changed record drops the kept page with its cache entry.
            body = {
                "values": [
                    {"index": 1, "type": "URL", "data": "https://example.com/new"},
                    {"index": 2, "type": "DESC", "data": "second"},
                ]
            }
            assert client.put("/api/handles/88.118.8/P", json=body, auth=auth).status_code < 300
            shown = client.get("/88.118.8/P?noredirect")
            assert "second" in shown.text and "first" not in shown.text
            for _ in range(2):  # worked out by the endpoint, then from the kept view
                moved = client.get("/88.118.8/P")
                assert moved.status_code == 302
                assert moved.headers["location"] == "https://example.com/new"
            assert client.get("/88.118.8/P?noredirect").content == shown.content
            assert kept(b"") == 302 and kept(b"noredirect", b"zh-CN") == 200
            assert kept(b"noredirect", b"en") is None  # viewed in Chinese only so far
            head = client.head("/88.118.8/P?noredirect")
            assert head.status_code == 200 and head.content == b""
            assert head.headers["content-length"] == shown.headers["content-length"]
