"""Pending challenges: a 402 names a fresh session id; its answer (opcode 200) names it again.

The answer may come on another connection or datagram, so pending challenges are kept here, by
session id, for the whole server. Each is answered at most once (taken on the first answer,
right or wrong: a replayed or second-guess answer finds nothing), expires after ``ttl`` seconds
(Handle.Net: 20), and there are at most ``limit`` of them holding at most ``max_bytes`` of
challenged requests (the oldest are dropped first), so a flood of unanswered requests, even of
large ones, costs bounded memory.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from .dispatch import Request

__all__ = ["Challenges", "Pending"]


@dataclass(frozen=True, slots=True)
class Pending:
    """A challenged request: what was asked, and what its answer must sign."""

    request: Request
    nonce: bytes
    digest: bytes  # the request digest the challenge carried, without its hash code
    issued: float

    @property
    def size(self) -> int:
        return len(self.request.message.signed) + len(self.nonce) + len(self.digest)


class Challenges:
    """Challenges waiting for their answer, by session id."""

    def __init__(
        self,
        ttl: float = 20.0,
        limit: int = 10_000,
        max_bytes: int = 32 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.limit = limit
        self.max_bytes = max_bytes
        self.clock = clock
        self.bytes = 0
        self._pending: OrderedDict[int, Pending] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pending)

    def issue(self, request: Request, nonce: bytes, digest: bytes) -> int:
        """Keep a challenge for ``request``; the new, non-zero session id that names it."""
        self._expire()
        pending = Pending(request, nonce, digest, self.clock())
        while self._pending and (
            len(self._pending) >= self.limit or self.bytes + pending.size > self.max_bytes
        ):
            self._drop_oldest()
        session = 0
        while session == 0 or session in self._pending:
            session = secrets.randbits(31)
        self._pending[session] = pending
        self.bytes += pending.size
        return session

    def take(self, session: int) -> Pending | None:
        """The challenge ``session`` names, removed; None when unknown, answered or expired."""
        pending = self._pending.pop(session, None)
        if pending is None:
            return None
        self.bytes -= pending.size
        if self.clock() - pending.issued > self.ttl:
            return None
        return pending

    def _drop_oldest(self) -> None:
        _, oldest = self._pending.popitem(last=False)
        self.bytes -= oldest.size

    def _expire(self) -> None:
        now = self.clock()
        while self._pending:
            _, oldest = next(iter(self._pending.items()))
            if now - oldest.issued <= self.ttl:
                break
            self._drop_oldest()
