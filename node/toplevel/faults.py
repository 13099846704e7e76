"""Fault switches for tests: added latency, an error rate, refusing connections for a while."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["FaultMiddleware", "Faults"]

# Always answered, so a test can switch the faults off and wait for readiness.
_EXEMPT = ("/faults", "/healthz")


@dataclass
class Faults:
    """The current switches; ``refuse`` is wired by the process runner when it owns the socket."""

    latency_ms: int = 0
    error_rate: float = 0.0
    refuse: Callable[[float], Awaitable[None]] | None = None
    refusing: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def as_dict(self) -> dict[str, Any]:
        return {
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "refusingConnections": self.refusing,
            "canRefuseConnections": self.refuse is not None,
        }


class FaultMiddleware:
    """Pure ASGI: delay every request, and fail a share of them with 503, as switched."""

    def __init__(self, app: Any, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        faults = self.faults
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        if faults.error_rate and faults.rng.random() < faults.error_rate:
            body = orjson.dumps(
                {"error": "Unavailable", "message": "injected fault (error rate switch)"}
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
