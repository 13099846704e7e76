"""Failed logins, counted per identity, per client and per both, refused while over a limit.

Counts live in ``limits`` storage (moving windows): in memory, one set per node process,
unless the node passes a shared one (``IDNODE_RATE_LIMIT_STORAGE=redis://…``). A login is
refused while any of its counters is over its limit, even with the right password: otherwise
guessing would go on, only with answers that wait. A success clears its identity+client count.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from ._errors import InvalidInput, TooManyAttempts

__all__ = ["BEARER", "LoginLimits", "LoginThrottle"]

# The identity a bearer token's guesses are counted under (with the client's address only).
BEARER = "a bearer token"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Failed logins allowed, in ``limits`` notation (``"10/minute"``, ``"100 per hour"``)."""

    # One client guessing one identity: strict.
    per_identity_client: str = "10/minute"
    # One identity from anywhere: looser, so an attacker elsewhere locks its owner out only
    # while guessing at this rate from many addresses.
    per_identity: str = "100/minute"
    # One client, any identity: bounds spraying one password over many identities.
    per_client: str = "100/minute"


def parse_limit(text: str) -> RateLimitItem:
    """One limit in ``limits`` notation; ``InvalidInput`` naming it when it is not."""
    try:
        return parse(text)
    except ValueError as exc:
        raise InvalidInput(
            f"{text!r} is not a rate limit such as '10/minute' or '100 per hour'"
        ) from exc


class LoginThrottle:
    """``check`` before verifying a login, ``failed`` after a wrong one, ``succeeded`` after."""

    def __init__(
        self,
        limits: LoginLimits | None = None,
        storage: Storage | None = None,
        rejected: Counter[str] | None = None,
    ) -> None:
        limits = limits or LoginLimits()
        self._pair = parse_limit(limits.per_identity_client)
        self._identity = parse_limit(limits.per_identity)
        self._client = parse_limit(limits.per_client)
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())
        # Refusals counted under "login" (the node passes its limits' counter, for metrics).
        self.rejected: Counter[str] = Counter() if rejected is None else rejected
        # Counting in this process's memory, every failure passes through ``failed`` here:
        # until ``_counting_until`` some failure may still count; after it every counter is
        # at zero and ``check``/``succeeded`` have nothing to look at (the common case, made
        # cheap). A shared storage sees other processes' failures, so it is always asked.
        self._longest = max(
            item.get_expiry() for item in (self._pair, self._identity, self._client)
        )
        local = storage is None or isinstance(storage, MemoryStorage)
        self._counting_until = 0.0 if local else math.inf

    def _counters(self, identity: str, client: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        pair = (self._pair, ("login", identity, client))
        by_client = (self._client, ("login-client", client))
        if identity == BEARER:
            # A token names no identity, and a count of it across all clients would let
            # guesses from many addresses lock every token's holder out: per client only.
            return [pair, by_client]
        return [pair, (self._identity, ("login-identity", identity)), by_client]

    def check(self, identity: str, client: str) -> None:
        """Raise ``TooManyAttempts`` while a counter of this login is at its limit."""
        if time.time() >= self._counting_until:
            return
        for item, keys in self._counters(identity, client):
            if not self._limiter.test(item, *keys):
                reset = self._limiter.get_window_stats(item, *keys).reset_time
                retry_after = max(1, math.ceil(reset - time.time()))
                self.rejected["login"] += 1
                raise TooManyAttempts(
                    f"too many failed logins for {identity} or from {client}:"
                    f" retry after {retry_after} s",
                    retry_after=retry_after,
                )

    def failed(self, identity: str, client: str) -> None:
        """Count one failed login."""
        self._counting_until = max(self._counting_until, time.time() + self._longest)
        for item, keys in self._counters(identity, client):
            self._limiter.hit(item, *keys)

    def succeeded(self, identity: str, client: str) -> None:
        """Forget this client's failures for this identity (typos before the right password)."""
        if time.time() >= self._counting_until:
            return
        self._limiter.clear(self._pair, "login", identity, client)
