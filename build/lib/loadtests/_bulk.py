"""Bulk loading through SNMS ``batchCreate`` (DESIGN §5.2): what ``seed`` and bench_register use."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson

from ._keys import seeded_suffix
from ._latency import LatencyRecorder
from ._setup import Credential, SetupError, record_values

__all__ = ["BulkResult", "batch_items", "bulk_create", "snms_token"]

MAX_BATCH = 2000


@dataclass
class BulkResult:
    """What a bulk load did: items created, already there, failed (by reason), batch latency."""

    created: int = 0
    existed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    batch_latency: LatencyRecorder = field(default_factory=LatencyRecorder)
    elapsed: float = 0.0

    @property
    def per_second(self) -> float:
        """Identifiers created or found in place per second of wall time."""
        return (self.created + self.existed) / self.elapsed if self.elapsed else 0.0


async def snms_token(client: httpx.AsyncClient, credential: Credential) -> str:
    """A bearer token from ``POST /identity/token``."""
    response = await client.post(
        "/identity/token", json={"username": credential.username, "password": credential.password}
    )
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if response.status_code != 200 or body.get("status") != 1:
        raise SetupError(f"SNMS login failed: {response.status_code} {response.text}")
    return body["data"]["token"]


def batch_items(
    prefix: str,
    start: int,
    stop: int,
    template_version: str | None = None,
    values: Callable[[str], list[dict]] = record_values,
) -> list[dict]:
    """The batchCreate items for seeded identifiers ``start…stop-1``."""
    items = []
    for i in range(start, stop):
        handle = f"{prefix}/{seeded_suffix(i)}"
        item: dict = {"handle": handle, "value": values(handle)}
        if template_version is not None:
            item["templateVersion"] = template_version
        items.append(item)
    return items


async def bulk_create(
    client: httpx.AsyncClient,
    credential: Credential,
    *,
    count: int,
    start: int = 0,
    batch_size: int = MAX_BATCH,
    clients: int = 4,
    template_version: str | None = None,
    on_batch: Callable[[int], None] | None = None,
    values: Callable[[str], list[dict]] = record_values,
    max_seconds: float | None = None,
    prebuilt: bool = False,
) -> BulkResult:
    """Create seeded identifiers ``start…start+count-1`` in batches from ``clients`` concurrent loops.

    Items that already exist count as ``existed``, so re-running a seed after a failure is safe.
    ``values(handle)`` gives each record's values; past ``max_seconds`` no new batch is sent.
    ``prebuilt`` builds every request body before the clock starts: a benchmark's client shares
    the node's cores, and building bodies on the clock takes CPU from the node it measures. It
    holds all the bodies in memory, so it is for benchmarks, not seeds.
    """
    if not 1 <= batch_size <= MAX_BATCH:
        raise SetupError(f"batch size must be 1…{MAX_BATCH}, got {batch_size}")
    headers = {
        "Authorization": f"Bearer {await snms_token(client, credential)}",
        "Content-Type": "application/json",
    }
    batches = [
        (first, min(first + batch_size, start + count))
        for first in range(start, start + count, batch_size)
    ]
    result = BulkResult()

    def encoded(first: int, last: int) -> bytes:
        # orjson: encoding 2,000 items must not make the client the bottleneck.
        items = batch_items(credential.prefix, first, last, template_version, values)
        return orjson.dumps({"data": items})

    bodies = [encoded(first, last) if prebuilt else None for first, last in batches]
    pending = iter(zip(batches, bodies, strict=True))
    deadline = None if max_seconds is None else time.monotonic() + max_seconds

    async def loop() -> None:
        for (first, last), prepared in pending:
            if deadline is not None and time.monotonic() > deadline:
                return
            content = prepared or encoded(first, last)
            began = time.perf_counter()
            response = await client.post(
                "/identityv2/data/batchCreate", content=content, headers=headers
            )
            result.batch_latency.record(time.perf_counter() - began)
            body = orjson.loads(response.content) if response.status_code == 200 else {}
            if body.get("status") != 1:
                raise SetupError(
                    f"batchCreate failed: {response.status_code} {response.text[:500]}"
                )
            for entry in body.get("data") or []:
                message = str(entry.get("msg", ""))
                if message == "success":
                    result.created += 1
                elif "exist" in message.lower():
                    result.existed += 1
                else:
                    result.failed[message] += 1
            if on_batch is not None:
                on_batch(last - first)

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    result.elapsed = time.perf_counter() - began
    return result
