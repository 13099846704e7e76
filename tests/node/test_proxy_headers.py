"""Behind a reverse proxy: the client is the one the trusted proxy names, nobody else's word."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from node import Settings, create_app
from node.cli import build_parser

from ..servers import ThreadedServer
from .helpers import basic_auth, create_enterprise

GOOD = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/"}]}
PROXY = "127.0.0.3"


@pytest.fixture
def node(request: pytest.FixtureRequest, settings: Settings) -> Iterator[ThreadedServer]:
    """A node naming 127.0.0.3 its proxy, allowing 2 failed logins per identity and client."""
    update = {
        "proxy_headers": request.param,
        "forwarded_allow_ips": PROXY,
        "login_failures_per_identity_client": "2/minute",
    }
    behind = settings.model_copy(update=update)
    with ThreadedServer(create_app(behind), settings=behind) as server:
        yield server


def _failures(url: str, source: str, forwarded_for: str, credential: dict) -> list[int]:
    wrong = basic_auth({**credential, "password": "wrong"})
    transport = httpx.HTTPTransport(local_address=source)
    headers = {"X-Forwarded-For": forwarded_for}
    with httpx.Client(base_url=url, transport=transport, headers=headers) as client:
        return [
            client.put("/api/handles/88.118.8/a", json=GOOD, auth=wrong).status_code
            for _ in range(3)
        ]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("node", [True], indirect=True, ids=["proxy-headers"])
def test_the_trusted_proxys_forwarded_for_is_the_client(node: ThreadedServer) -> None:
    acme = create_enterprise(node.url, "Acme", "88.118.8")
    assert _failures(node.url, PROXY, "203.0.113.7", acme) == [401, 401, 429]
    # Another client behind the same proxy is not locked out by the first one's failures.
    assert _failures(node.url, PROXY, "203.0.113.8", acme) == [401, 401, 429]
    # Anyone else's X-Forwarded-For is ignored: 127.0.0.2 is throttled as itself.
    assert _failures(node.url, "127.0.0.2", "203.0.113.9", acme) == [401, 401, 429]
    assert _failures(node.url, "127.0.0.2", "203.0.113.10", acme) == [429, 429, 429]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("node", [False], indirect=True, ids=["no-proxy-headers"])
def test_without_proxy_headers_even_the_proxys_forwarded_for_is_ignored(
    node: ThreadedServer,
) -> None:
    acme = create_enterprise(node.url, "Acme", "88.118.8")
    assert _failures(node.url, PROXY, "203.0.113.7", acme) == [401, 401, 429]
    assert _failures(node.url, PROXY, "203.0.113.8", acme) == [429, 429, 429]


def test_serve_takes_the_proxy_options_from_its_flags() -> None:
    args = build_parser().parse_args(
        ["serve", "--proxy-headers", "--forwarded-allow-ips", "10.0.0.0/8,192.0.2.1"]
    )
    assert args.proxy_headers is True and args.forwarded_allow_ips == "10.0.0.0/8,192.0.2.1"
    assert build_parser().parse_args(["serve", "--no-proxy-headers"]).proxy_headers is False
    assert build_parser().parse_args(["serve"]).proxy_headers is None
