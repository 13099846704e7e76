"""The in-process answer cache: LRU, bounded by entry count and by bytes, TTLs kept per entry.

Built on cachebox's ``LRUCache`` (Rust, O(1) get/insert/evict, weighted by ``getsizeof``), which
gives the memory bound; the entry-count bound and the expiry rules live here. Expired entries are
kept until they are older than ``stale_seconds`` so they can still answer while storage is down.
Cached timestamps are whole seconds, rounded down: an entry is fresh for at most its TTL.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cachebox import LRUCache

from ._entry import Entry

__all__ = ["CacheConfig", "RecordCache"]

# Distinct timestamps remembered for sharing; past this the table starts afresh.
MAX_MOMENTS = 4096


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """Bounds and lifetimes of cached answers (all in seconds except the two bounds)."""

    max_entries: int = 1_000_000
    max_bytes: int = 800 * 1024 * 1024
    max_ttl: float = 86400.0
    negative_ttl: float = 5.0
    stale_seconds: float = 3600.0


def _sizeof(_key: str, entry: Entry) -> int:
    return entry.size


class RecordCache:
    """Answers by normalised handle; ``fresh()`` is the hot path, ``usable()`` the stale-if-error one."""

    def __init__(self, config: CacheConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        self._entries: LRUCache[str, Entry] = LRUCache(config.max_bytes, getsizeof=_sizeof)
        self._moments: dict[float, float] = {}

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        """Approximate bytes held by the cached answers."""
        return self._entries.current_size()

    def fresh(self, key: str) -> Entry | None:
        """The entry for ``key`` if it is within its TTL."""
        entry = self._entries.get(key)
        if entry is not None and entry.fresh_until > self.clock():
            return entry
        return None

    def usable(self, key: str) -> Entry | None:
        """The entry for ``key``, fresh or not, unless it is older than the stale limit."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if self.clock() - entry.stored_at > self.config.stale_seconds:
            self._entries.pop(key, None)
            return None
        return entry

    def put(self, entry: Entry) -> None:
        if entry.size > self.config.max_bytes:
            return
        entry.stored_at = self._moment(entry.stored_at)
        entry.fresh_until = self._moment(entry.fresh_until)
        if entry.key not in self._entries:
            while len(self._entries) >= self.config.max_entries:
                self._entries.popitem()
        self._entries[entry.key] = entry

    def invalidate(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()

    def _moment(self, moment: float) -> float:
        # Entries stored in the same second share their timestamp objects: two floats of
        # their own would add 64 bytes to each entry.
        second = float(math.floor(moment))
        shared = self._moments.get(second)
        if shared is None:
            if len(self._moments) >= MAX_MOMENTS:
                self._moments.clear()
            shared = self._moments[second] = second
        return shared
