"""Recursive resolution: the top-level node's prefix directory names the node serving a prefix.

``GET {toplevel}/api/handles/0.NA/<prefix>`` answers in Handle REST JSON; its ``HS_SITE`` value
(format ``site``) carries ``{"baseUrl": ..., "nodeCode": ...}``. The full prefix is tried first,
then its parents (``0.NA/88.119.5`` → ``0.NA/88.119`` → ``0.NA/88``), from at most
``DIRECTORY_LEVELS`` segments down. Directory answers are cached for the smallest TTL of their
values; the record itself is fetched from the serving node.

Other nodes are not trusted to be small or quick: an answer over ``max_answer_bytes`` is dropped
as it streams in, and a whole resolution (directory walk and record) has ``deadline`` seconds.
Either failure is ``Unavailable`` (503), never cached.

A serving node with a DNS frontend says so in its ``HS_SITE`` value: a ``dns`` member
``{"zone": ..., "nameServer": ..., "addresses": [...], "port": ...}``; ``delegation_of`` reads it
for the DNS frontend's referrals. Entries without it are as before.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address

import httpx
import orjson
from cachebox import LRUCache

from registry import Handle, Prefix, Record, Unavailable

from ._client import MAX_ANSWER_BYTES, HandleRestClient

__all__ = ["FORWARDED_HEADER", "Delegation", "Upstream"]

DIRECTORY_PREFIX = "0.NA"
SITE_TYPE = "HS_SITE"
# Sent on every request to another node; a node receiving it answers from its own storage
# only, so two nodes with disagreeing directories cannot bounce a request between them.
FORWARDED_HEADER = "X-Idnode-Forwarded"
NEGATIVE_DIRECTORY_TTL = 30.0
DIRECTORY_ENTRIES = 10_000
# Real prefixes have a handful of segments (88.118.8); a made-up 121-segment one must not cost
# 121 sequential requests to the top-level node. Deeper prefixes are looked up from this depth.
DIRECTORY_LEVELS = 8
DEADLINE_SECONDS = 10.0


MAX_DNS_ADDRESSES = 8


@dataclass(frozen=True, slots=True)
class Delegation:
    """A serving node's DNS frontend, as its directory entry ``0.NA/<prefix>`` publishes it."""

    prefix: Prefix
    zone: str
    name_server: str
    addresses: tuple[str, ...]
    port: int
    ttl: int


def _site(record: Record) -> dict | None:
    for value in record.values:
        if value.type != SITE_TYPE:
            continue
        data = value.value
        if isinstance(data, str):
            try:
                data = orjson.loads(data)
            except orjson.JSONDecodeError:
                continue
        if isinstance(data, dict) and isinstance(data.get("baseUrl"), str):
            return data
    return None


def _delegation(prefix: str, site: dict, ttl: int) -> Delegation | None:
    """The ``dns`` member of an HS_SITE value; ``None`` when absent or malformed (ignored)."""
    dns = site.get("dns")
    if not isinstance(dns, dict):
        return None
    zone, name_server = dns.get("zone"), dns.get("nameServer")
    addresses, port = dns.get("addresses", []), dns.get("port", 53)
    if not (isinstance(zone, str) and isinstance(name_server, str) and isinstance(addresses, list)):
        return None
    if type(port) is not int or not 0 < port < 65536:
        return None
    if not all(isinstance(a, str) for a in addresses):
        return None
    try:
        parsed = tuple(str(ip_address(a)) for a in addresses[:MAX_DNS_ADDRESSES])
    except ValueError:
        return None
    return Delegation(Prefix.parse(prefix), zone, name_server, parsed, port, ttl)


class Upstream:
    """Fetches records of foreign prefixes over one pooled httpx client."""

    def __init__(
        self,
        toplevel_url: str,
        client: httpx.AsyncClient,
        *,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        deadline: float = DEADLINE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.toplevel_url = toplevel_url.rstrip("/")
        self.client = client
        self.max_answer_bytes = max_answer_bytes
        self._rest = HandleRestClient(
            client, max_answer_bytes=max_answer_bytes, headers={FORWARDED_HEADER: "1"}
        )
        self.deadline = deadline
        self.clock = clock
        # Bounded: anyone can make us look up made-up prefixes.
        self._directory: LRUCache[str, tuple[str | None, Delegation | None, float]] = LRUCache(
            DIRECTORY_ENTRIES
        )

    async def _get(self, base_url: str, handle: Handle) -> Record | None:
        """The record ``base_url`` serves for ``handle``; ``None`` on 404."""
        values = await self._rest.fetch_values(base_url, str(handle))
        if values is None:
            return None
        return Record(handle, tuple(sorted(values, key=lambda v: v.index)))

    async def site_of(self, prefix: Prefix) -> str | None:
        """The base URL of the node serving ``prefix`` (or its nearest listed parent)."""
        return (await self._serving(prefix))[0]

    async def delegation_of(self, prefix: Prefix) -> Delegation | None:
        """The DNS frontend the node serving ``prefix`` publishes, if any (``Unavailable``)."""
        try:
            async with asyncio.timeout(self.deadline):
                return (await self._serving(prefix))[1]
        except TimeoutError:
            raise Unavailable(
                f"no directory answer for {prefix} within {self.deadline:g} s"
            ) from None

    async def _serving(self, prefix: Prefix) -> tuple[str | None, Delegation | None]:
        segments = prefix.segments
        for length in range(min(len(segments), DIRECTORY_LEVELS), 0, -1):
            name = ".".join(segments[:length])
            site, delegation = await self._directory_entry(name)
            if site is not None:
                return site, delegation
        return None, None

    async def _directory_entry(self, prefix: str) -> tuple[str | None, Delegation | None]:
        now = self.clock()
        cached = self._directory.get(prefix)
        if cached is not None and cached[2] > now:
            return cached[0], cached[1]
        handle = Handle(Prefix.parse(DIRECTORY_PREFIX), prefix)
        record = await self._get(self.toplevel_url, handle)
        if record is None:
            self._directory[prefix] = (None, None, now + NEGATIVE_DIRECTORY_TTL)
            return None, None
        ttl = min((v.ttl for v in record.values), default=0)
        site = _site(record)
        if site is None:
            self._directory[prefix] = (None, None, now + ttl)
            return None, None
        delegation = _delegation(prefix, site, ttl)
        url = site["baseUrl"].rstrip("/")
        self._directory[prefix] = (url, delegation, now + ttl)
        return url, delegation

    async def fetch(self, handle: Handle) -> Record | None:
        """The record from the node serving its prefix; ``None`` when none does or it has none."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._fetch(handle)
        except TimeoutError:
            raise Unavailable(
                f"no answer for {handle} from other nodes within {self.deadline:g} s"
            ) from None

    async def _fetch(self, handle: Handle) -> Record | None:
        if str(handle.prefix) == DIRECTORY_PREFIX:
            base_url: str | None = self.toplevel_url
        else:
            base_url = await self.site_of(handle.prefix)
        if base_url is None:
            return None
        return await self._get(base_url, handle)
