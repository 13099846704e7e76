"""Helpers of the console tests: an app on a migrated database, logins, CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from node import Settings, create_app
from node.demo import DEMO_TEMPLATE
from registry import ADMIN

__all__ = ["CSRF", "console_client", "csrf_of", "log_in", "seed"]

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "acme-password-1"


def csrf_of(page: str) -> str:
    """The CSRF token of the first form on ``page``."""
    found = CSRF.search(page)
    assert found is not None, page[:2000]
    return found.group(1)


@asynccontextmanager
async def console_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The node's app in-process (its lifespan run), with a cookie-keeping client, English."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.9", 5000))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://node.test", headers={"accept-language": "en"}
        ) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


async def seed(client: httpx.AsyncClient, prefix: str = "88.118.8") -> dict:
    """An enterprise holding ``prefix`` with a known password and the demo's typed template."""
    context = client.app.state.node  # type: ignore[attr-defined]
    await context.enterprises.create("Acme", prefix, password=PASSWORD)
    body = {**DEMO_TEMPLATE, "prefix": prefix}
    await context.templates.create(ADMIN, body)
    return {"username": f"300:{prefix}/ADMIN", "password": PASSWORD, "prefix": prefix}


async def log_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    """Submit the login form as a browser does (its CSRF token from the form page)."""
    form = await client.get("/console/login")
    return await client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf": csrf_of(form.text)},
    )
