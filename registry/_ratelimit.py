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
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from ._errors import InvalidInput, RateLimited
from ._throttle import parse_limit

__all__ = ["ClientRate", "RateCounters", "SweepingMemoryStorage", "open_storage"]

# Storage keys kept for this many clients at most (then made afresh).
MAX_CLIENT_KEYS = 100_000


class SweepingMemoryStorage(MemoryStorage):
    """``limits``' memory storage, sweeping expired keys at most once a second.

    The stock one starts a 10 ms ``threading.Timer`` on every count whenever the previous one
    has finished: at thousands of resolutions a second that is a hundred thread starts a
    second, which cost the hot path a third of its throughput. A count reads its own key's
    expiry first anyway (``incr`` calls ``get``), so the sweep only frees memory.
    """

    SWEEP_SECONDS = 1.0

    def __init__(
        self, uri: str | None = None, wrap_exceptions: bool = False, **options: str
    ) -> None:
        super().__init__(uri, wrap_exceptions, **options)
        self._next_sweep = 0.0

    # Overrides the private (name-mangled) method, for limits==5.8.0 as pinned.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def open_storage(uri: str) -> Storage:
    """The ``limits`` storage at ``uri``; ``InvalidInput`` naming it when it cannot be used."""
    try:
        if uri.startswith("memory://"):
            return SweepingMemoryStorage(uri)
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
    """One rate per client for one kind of request (``"resolve"``), off when ``limit`` is None.

    A fixed window in the ``limits`` storage, as ``FixedWindowRateLimiter`` counts it, with each
    client's storage key made once: building the key cost as much as counting (this runs
    before every anonymous resolution when a rate is set).
    """

    def __init__(self, kind: str, limit: str | None, counters: RateCounters) -> None:
        self.kind = kind
        self.item = parse_limit(limit) if limit else None
        self.counters = counters
        self._keys: dict[str, str] = {}
        self._expiry = self.item.get_expiry() if self.item is not None else 0

    @property
    def active(self) -> bool:
        return self.item is not None

    def check(self, client: str) -> None:
        """Count one request of ``client``; ``RateLimited`` when it is over the rate."""
        item = self.item
        if item is None:
            return
        key = self._keys.get(client)
        if key is None:
            if len(self._keys) >= MAX_CLIENT_KEYS:
                self._keys.clear()
            key = self._keys[client] = item.key_for(self.kind, client)
        storage = self.counters.storage
        if storage.incr(key, self._expiry) <= item.amount:
            return
        retry_after = max(1, math.ceil(storage.get_expiry(key) - time.time()))
        self.counters.rejected[self.kind] += 1
        raise RateLimited(
            f"too many {self.kind} requests from {client} (limit {item}):"
            f" retry after {retry_after} s",
            retry_after=retry_after,
        )
