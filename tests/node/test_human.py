"""Human resolution: a redirect to the record's URL, or a readable, escaped HTML page."""

from __future__ import annotations

import httpx
import pytest

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
    assert missing.status_code == 404 and "not registered" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    invalid = client.get("/88..8/x")
    assert invalid.status_code == 400 and "empty segment" in invalid.text


def test_healthz(client: httpx.Client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
