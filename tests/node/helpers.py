"""Small helpers for tests that talk to a running node over HTTP."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from ..conftest import ADMIN_TOKEN

ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def create_enterprise(base_url: str, name: str = "Acme", prefix: str | None = None) -> dict:
    """Create an enterprise through the admin API; returns its credential and prefix."""
    body = {"name": name} if prefix is None else {"name": name, "prefix": prefix}
    response = httpx.post(f"{base_url}/admin/enterprises", json=body, headers=ADMIN_HEADERS)
    assert response.status_code == 201, response.text
    return response.json()["credential"]


def basic_auth(credential: dict) -> httpx.BasicAuth:
    """HTTP Basic as Handle REST clients send it: the identity percent-encoded."""
    return httpx.BasicAuth(quote(credential["username"], safe=""), credential["password"])


# An SNMS template of 88.118.8 with one required string item (2000, productName).
PRODUCT_TEMPLATE = {
    "prefix": "88.118.8",
    "version": "1.0",
    "description": "motor controllers",
    "industryCategory": "C",
    "industrySpecific": "38",
    "industryTrade": "381",
    "industrySubclass": "3812",
    "type": 1,
    "items": [
        {
            "name": "productName",
            "idType": "productName",
            "idIndex": 2000,
            "required": True,
            "state": 1,
            "metadata": {"type": "string", "minLength": 1, "maxLength": 20},
        }
    ],
}
