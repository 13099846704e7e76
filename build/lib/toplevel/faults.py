"""Fault switches for tests: latency, an error rate, lost answers, refusing connections."""

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
    lost_answer_rate: float = 0.0
    refuse: Callable[[float], Awaitable[None]] | None = None
    refusing: bool = False
    rng: random.Random = field(default_factory=random.Random)

    def as_dict(self) -> dict[str, Any]:
        return {
            "latencyMs": self.latency_ms,
            "errorRate": self.error_rate,
            "lostAnswerRate": self.lost_answer_rate,
            "refusingConnections": self.refusing,
            "canRefuseConnections": self.refuse is not None,
        }


class FaultMiddleware:
    """Pure ASGI: delay requests; fail a share before or after the work is done, as switched."""

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
            await _unavailable(send, "injected fault (error rate switch)")
            return
        if faults.lost_answer_rate and faults.rng.random() < faults.lost_answer_rate:
            # The work is done and committed, but the caller never hears so.
            async def swallow(message: Any) -> None:
                return None

            await self.app(scope, receive, swallow)
            await _unavailable(send, "injected fault (lost answer switch): the work was done")
            return
        await self.app(scope, receive, send)


async def _unavailable(send: Any, message: str) -> None:
    body = orjson.dumps({"error": "Unavailable", "message": message})
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
