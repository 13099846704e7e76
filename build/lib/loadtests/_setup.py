"""Getting a load test's data in place over the node's own APIs (admin, Handle REST, SNMS)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

import httpx

__all__ = [
    "Credential",
    "SetupError",
    "basic_auth",
    "basic_header",
    "ensure_credential",
    "put_handles",
    "record_values",
]


class SetupError(Exception):
    """The node refused or could not do what a load test needs before it starts."""


@dataclass(frozen=True)
class Credential:
    """An enterprise credential (``300:88.118.8/ADMIN`` + password) and the prefix it owns."""

    username: str
    password: str
    prefix: str


def basic_auth(credential: Credential) -> httpx.BasicAuth:
    """HTTP Basic as Handle REST clients send it: the identity percent-encoded."""
    return httpx.BasicAuth(quote(credential.username, safe=""), credential.password)


def basic_header(credential: Credential) -> dict[str, str]:
    """The same Basic credentials as a ready ``Authorization`` header."""
    raw = f"{quote(credential.username, safe='')}:{credential.password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def _prefix_of(username: str) -> str:
    # "300:88.118.8/ADMIN" → "88.118.8"
    return username.partition(":")[2].partition("/")[0]


async def ensure_credential(
    client: httpx.AsyncClient,
    *,
    admin_token: str | None,
    username: str | None,
    password: str | None,
    prefix: str | None,
    name: str,
) -> Credential:
    """The credential to write with: the one given, or a new enterprise made with the admin token."""
    if username and password:
        return Credential(username, password, prefix or _prefix_of(username))
    if not admin_token:
        raise SetupError("this scenario writes: give --admin-token, or --username and --password")
    headers = {"Authorization": f"Bearer {admin_token}"}
    body = {"name": name} if prefix is None else {"name": name, "prefix": prefix}
    response = await client.post("/admin/enterprises", json=body, headers=headers)
    if response.status_code == 201:
        data = response.json()["credential"]
    elif prefix is not None and response.status_code == 409:
        # The prefix is already allocated (an earlier run or a seed): add a credential for it.
        response = await client.post("/admin/credentials", json={"prefix": prefix}, headers=headers)
        if response.status_code != 201:
            raise SetupError(f"cannot get a credential for {prefix}: {response.text}")
        data = response.json()
    else:
        raise SetupError(
            f"cannot create a load-test enterprise: {response.status_code} {response.text}"
        )
    return Credential(data["username"], data["password"], data["prefix"])


def record_values(handle: str) -> list[dict]:
    """The values every load-test identifier carries: a URL and a short description."""
    return [
        {
            "index": 1,
            "type": "URL",
            "data": {"format": "string", "value": f"https://example.com/{handle}"},
        },
        {
            "index": 2,
            "type": "DESC",
            "data": {"format": "string", "value": "idnode load test item"},
        },
    ]


async def put_handles(
    client: httpx.AsyncClient,
    credential: Credential,
    suffixes: Iterable[str],
    *,
    concurrency: int = 8,
) -> int:
    """Create (or overwrite) identifiers one by one through Handle REST; returns how many."""
    auth = basic_auth(credential)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for suffix in suffixes:
        queue.put_nowait(suffix)
    created = 0

    async def worker() -> None:
        nonlocal created
        while not queue.empty():
            handle = f"{credential.prefix}/{queue.get_nowait()}"
            response = await client.put(
                f"/api/handles/{quote(handle, safe='/')}",
                params={"overwrite": "true"},
                json={"values": record_values(handle)},
                auth=auth,
            )
            if response.status_code not in (200, 201):
                raise SetupError(f"cannot create {handle}: {response.status_code} {response.text}")
            created += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return created
