"""Fetching a handle's values from a node over HTTP (Handle REST), for verification."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from registry import HandleValue, InvalidValue, Unavailable, parse_value

__all__ = ["HttpFetcher", "parse_rest_values"]


def parse_rest_values(items: Any) -> list[HandleValue]:
    """Values as a Handle REST response lists them (permissions default to ``1110`` when absent)."""
    if not isinstance(items, list):
        raise InvalidValue("the response has no list of values")
    return [parse_value(item, position) for position, item in enumerate(items, start=1)]


class HttpFetcher:
    """``await fetcher(handle)``: the public values of ``handle`` at ``base_url``, None if unknown."""

    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client

    async def __call__(self, handle: str) -> Sequence[HandleValue] | None:
        url = f"{self.base_url}/api/handles/{quote(handle, safe='/')}"
        try:
            response = await self.client.get(url)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach {self.base_url}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise Unavailable(f"{url} answered HTTP {response.status_code}")
        try:
            return parse_rest_values(response.json().get("values"))
        except ValueError as exc:
            raise Unavailable(f"{url} did not answer Handle REST JSON") from exc
