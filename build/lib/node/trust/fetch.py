"""Fetching a handle's values from a node over HTTP (Handle REST), for verification."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from registry import HandleValue
from resolver import HandleRestClient

__all__ = ["HttpFetcher"]


class HttpFetcher:
    """``await fetcher(handle)``: the public values of ``handle`` at ``base_url``, None if unknown."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.rest = HandleRestClient(client)

    async def __call__(self, handle: str) -> Sequence[HandleValue] | None:
        return await self.rest.fetch_values(self.base_url, handle)
