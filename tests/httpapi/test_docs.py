"""/docs and /redoc load everything from the app itself: they work on a network without internet."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser

import httpx

from toplevel import create_toplevel_app

from ..browsing import chromium_path
from ..servers import ThreadedServer

_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "spec-url") and value:
                self.urls.append(value)


def _page_urls(html: str) -> list[str]:
    parser = _Links()
    parser.feed(html)
    # Swagger UI's spec URL is in its script, not in an attribute.
    return parser.urls + re.findall(r"\burl: '([^']+)'", html)


def check_docs_offline(client: httpx.Client) -> None:
    """Each page answers, names only same-origin URLs, and each URL answers with its type."""
    for page, must_load in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        response = client.get(page)
        assert response.status_code == 200, page
        assert response.headers["content-type"].startswith("text/html")
        assert not re.search(r"(https?:)?//[a-z]", response.text), f"{page} names another origin"
        urls = _page_urls(response.text)
        assert any(url.endswith(must_load) for url in urls), urls
        assert "/openapi.json" in urls
        for url in urls:
            assert url.startswith("/"), url
            asset = client.get(url)
            assert asset.status_code == 200, url
            suffix = url[url.rindex(".") :]
            assert asset.headers["content-type"].startswith(_TYPES[suffix]), url
            assert len(asset.content) > 100, url


def test_the_node_serves_its_docs_offline(node_server) -> None:
    with httpx.Client(base_url=node_server.url, timeout=30) as client:
        check_docs_offline(client)
        # The assets are served before the page route, which answers other paths as handles.
        missing = client.get("/docs-assets/no-such-file.js")
        assert missing.status_code == 404


def test_the_toplevel_serves_its_docs_offline(tmp_path) -> None:
    app = create_toplevel_app(f"sqlite+aiosqlite:///{tmp_path / 'tl.db'}", "bootstrap")
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        check_docs_offline(client)


def test_swagger_ui_renders_the_operations_with_no_other_host_reachable(
    node_server, tmp_path
) -> None:
    """Headless Chromium, every host but the node's unresolvable: the operations are listed."""
    result = subprocess.run(
        [
            chromium_path(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            # As on a network without internet: only the node's address is reachable.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{node_server.url}/docs",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # Swagger UI built the page: its operation blocks, with the paths and summaries of the API.
    assert dom.count('class="opblock ') >= 20, dom[:2000]
    for text in (
        "/identityv2/data/batchCreate",
        "/snms/api/v5/template",
        "Create or change a handle",
    ):
        assert text in dom, text
