"""The load-generating HTTP client: aiohttp, because the generator must cost less than the node.

httpx's connection pool does work proportional to queued requests × connections on every
request, so at a few hundred requests per second the client, not the node, set the latency.
Setup and seeding (a few requests, or a few large ones) still use httpx.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

__all__ = ["Http", "Reply", "error_kind"]


@dataclass(frozen=True)
class Reply:
    """A response: status and the whole body."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return orjson.loads(self.body)


class Http:
    """``async with Http(url, connections=100, timeout=10) as http: await http.get(path)``."""

    def __init__(self, base_url: str, *, connections: int = 100, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.connections = connections
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Http:
        connector = aiohttp.TCPConnector(limit=self.connections, force_close=False)
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.timeout),
            # The node decodes percent-encoding once; send paths exactly as built.
            requote_redirect_url=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request (``path`` already percent-encoded) and read the whole answer."""
        assert self._session is not None, "use Http as an async context manager"
        data = None
        all_headers = dict(headers or {})
        if json is not None:
            data = orjson.dumps(json)
            all_headers["Content-Type"] = "application/json"
        async with self._session.request(
            method,
            self.base_url + path,
            params=params,
            data=data,
            headers=all_headers,
            allow_redirects=False,
        ) as response:
            return Reply(response.status, await response.read())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        """GET ``path``."""
        return await self.request("GET", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Reply:
        """PUT ``path``."""
        return await self.request("PUT", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        """POST ``path``."""
        return await self.request("POST", path, **kwargs)


def error_kind(exc: BaseException) -> str:
    """A short name for why a request failed, for the report's ``errors``."""
    import httpx

    if isinstance(exc, asyncio.TimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError | httpx.ConnectError):
        return "connect"
    if isinstance(exc, aiohttp.ClientError | httpx.TransportError):
        return f"transport:{type(exc).__name__}"
    return f"client:{type(exc).__name__}"
