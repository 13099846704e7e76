"""A node's DNS frontend, sent with its registration, is published in its directory HS_SITE."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from toplevel import create_toplevel_app

from ..servers import ThreadedServer

BOOTSTRAP = "dns-publication-bootstrap"
OPERATOR = "dns-publication-operator"
KEY = {"kty": "EC", "crv": "P-256", "x": "eA", "y": "eQ"}
FRONTEND = {
    "zone": "idis.example.",
    "nameServer": "ns1.example.com.",
    "addresses": ["192.0.2.1", "2001:db8::1"],
    "port": 53,
}


@pytest.fixture
def toplevel(tmp_path: Path) -> Iterator[httpx.Client]:
    app = create_toplevel_app(
        f"sqlite+aiosqlite:///{tmp_path / 'toplevel.db'}", BOOTSTRAP, operator_token=OPERATOR
    )
    with ThreadedServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def _register(client: httpx.Client, token: str = BOOTSTRAP, **extra: object) -> httpx.Response:
    body = {"nodeCode": "88.118", "baseUrl": "http://127.0.0.1:8001", "publicKey": KEY, **extra}
    return client.post("/nodes", json=body, headers={"Authorization": f"Bearer {token}"})


def _site(client: httpx.Client) -> dict:
    values = client.get("/api/handles/0.NA/88.118").json()["values"]
    return next(v["data"]["value"] for v in values if v["type"] == "HS_SITE")


def test_the_registered_frontend_is_published_and_dropped_with_a_registration_without(
    toplevel: httpx.Client,
) -> None:
    assert _register(toplevel, dns=FRONTEND).status_code == 201
    assert _site(toplevel) == {
        "baseUrl": "http://127.0.0.1:8001",
        "nodeCode": "88.118",
        "dns": FRONTEND,
    }
    moved = {**FRONTEND, "addresses": ["198.51.100.7"], "port": 5353}
    assert _register(toplevel, OPERATOR, dns=moved).status_code == 200
    assert _site(toplevel)["dns"] == moved
    # A registration without one (an older node, or its DNS frontend turned off) publishes none.
    assert _register(toplevel, OPERATOR).status_code == 200
    assert _site(toplevel) == {"baseUrl": "http://127.0.0.1:8001", "nodeCode": "88.118"}


@pytest.mark.parametrize(
    ("frontend", "problem"),
    [
        ({**FRONTEND, "addresses": ["ns1.example.com"]}, "addresses"),
        ({**FRONTEND, "addresses": ["192.0.2.1"] * 9}, "addresses"),
        ({**FRONTEND, "port": 0}, "port"),
        ({**FRONTEND, "port": 65536}, "port"),
        ({k: v for k, v in FRONTEND.items() if k != "zone"}, "zone"),
        ({**FRONTEND, "nameServer": ""}, "nameServer"),
        ({**FRONTEND, "ttl": 5}, "ttl"),
        ("ns1.example.com.", "dns"),
    ],
)
def test_a_bad_frontend_is_refused_by_name_and_nothing_is_registered(
    toplevel: httpx.Client, frontend: object, problem: str
) -> None:
    refused = _register(toplevel, dns=frontend)
    assert refused.status_code == 400, refused.text
    assert problem in refused.text
    assert toplevel.get("/api/handles/0.NA/88.118").status_code == 404
