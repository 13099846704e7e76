"""Request counters in ``limits`` storage: per process in memory, or shared (Redis) by URI.

``memory://`` (the default) counts in each node process apart: with several workers or
instances a client gets each process's allowance. ``redis://host:6379`` (any URI ``limits``
knows) shares the counts, so a limit holds for the whole node.
"""

from __future__ import annotations

import math
import time
from collections import Counter

from limits import RateLimitItem
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ._errors import InvalidInput, RateLimited
from ._throttle import parse_limit

__all__ = ["ClientRate", "RateCounters", "open_storage"]


def open_storage(uri: str) -> Storage:
    """The ``limits`` storage at ``uri``; ``InvalidInput`` naming it when it cannot be used."""
    try:
        return storage_from_string(uri)
    except Exception as exc:  # limits raises ConfigurationError, ValueError, ImportError
        raise InvalidInput(f"rate-limit storage {uri!r} cannot be used: {exc}") from exc


class RateCounters:
    """Fixed-window counters over one storage; ``hit`` says how long to wait when over."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._limiter = FixedWindowRateLimiter(storage)
        # Refusals by kind since start, every limit and quota together (the metrics read it).
        self.rejected: Counter[str] = Counter()

    def hit(self, item: RateLimitItem, *keys: str) -> int | None:
        """Count one request; None when within ``item``, else the seconds until it resets."""
        if self._limiter.hit(item, *keys):
            return None
        reset = self._limiter.get_window_stats(item, *keys).reset_time
        return max(1, math.ceil(reset - time.time()))

    def remaining(self, item: RateLimitItem, *keys: str) -> int:
        """What is left of ``item`` in its current window."""
        return self._limiter.get_window_stats(item, *keys).remaining

    def clear(self) -> None:
        """Forget every count (tests, and an operator's reset)."""
        self.storage.reset()


class ClientRate:
    """One rate per client for one kind of request (``"resolve"``), off when ``limit`` is None."""

    def __init__(self, kind: str, limit: str | None, counters: RateCounters) -> None:
        self.kind = kind
        self.item = parse_limit(limit) if limit else None
        self.counters = counters

    @property
    def active(self) -> bool:
        return self.item is not None

    def check(self, client: str) -> None:
        """Count one request of ``client``; ``RateLimited`` when it is over the rate."""
        if self.item is None:
            return
        retry_after = self.counters.hit(self.item, self.kind, client)
        if retry_after is not None:
            self.counters.rejected[self.kind] += 1
            raise RateLimited(
                f"too many {self.kind} requests from {client} (limit {self.item}):"
                f" retry after {retry_after} s",
                retry_after=retry_after,
            )
