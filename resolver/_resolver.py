"""The resolution engine: cache first, then storage or the serving node, one read per key at a time."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from registry import (
    Handle,
    HandleNotFound,
    Prefix,
    Record,
    RecordService,
    Unavailable,
    codec,
    decode_values,
)

from ._batch import ReadBatcher
from ._cache import CacheConfig, RecordCache
from ._entry import Entry
from ._tally import ResolutionTally

if TYPE_CHECKING:
    from ._recursive import Upstream

__all__ = ["Publisher", "Resolution", "Resolver", "Source"]

logger = logging.getLogger("idnode.resolver")

# Fetches a record from wherever it lives; ``None`` when it is not registered there.
Source = Callable[[Handle], Awaitable[Record | None]]
# Tells other processes which handles changed (PostgreSQL NOTIFY); ``None`` when alone.
Publisher = Callable[[Sequence[str]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Resolution:
    """An answer, and whether it comes from a stale entry because its source was unreachable."""

    entry: Entry
    stale_age: int | None = None

    @property
    def stale(self) -> bool:
        return self.stale_age is not None

    @property
    def exists(self) -> bool:
        return self.entry.exists

    def record(self) -> Record | None:
        """The record, or ``None`` when the handle is not registered."""
        return self.entry.record()


# How a resolution that missed the fresh cache was answered: read from storage, fetched from
# another node, not found (either way), or from a stale entry because the source was unreachable.
RESULTS = ("miss", "recursive", "negative", "stale")


class Resolver:
    """Turns handles into answers: cached, coalesced, invalidated by writes, recursive if asked.

    ``records`` (storage) answers for prefixes within ``node_code``, and for every prefix when
    there is no ``remote``; ``remote`` fetches the rest from the node the prefix directory names.
    """

    def __init__(
        self,
        records: RecordService,
        *,
        config: CacheConfig | None = None,
        node_code: Prefix | None = None,
        remote: Source | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.records = records
        self.cache = RecordCache(config or CacheConfig(), clock or time.monotonic)
        self.node_code = node_code
        self.remote = remote
        # The prefix directory behind ``remote``, when it is one (the DNS frontend's referrals).
        self.upstream: Upstream | None = None
        self.publisher: Publisher | None = None
        self.reads = 0
        # Answers given from the cache and answers that needed a read (or a fetch).
        self.hits = 0
        self.misses = 0
        # Per day and per identifier, for the console's statistics.
        self.tally = ResolutionTally()
        # Misses by how they were answered (``RESULTS``); hits are ``hits``.
        self.results = dict.fromkeys(RESULTS, 0)
        self._inflight: dict[str, asyncio.Task[Entry]] = {}
        self._starters: list[Callable[[], Awaitable[None]]] = []
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._watchers: list[Callable[[Sequence[str] | None], None]] = []
        self.batcher: ReadBatcher[Entry] = ReadBatcher(records.db.values_texts, self._settle)
        records.writer.add_listener(self._written)

    def is_local(self, handle: Handle) -> bool:
        """True when this node answers for ``handle`` from its own storage."""
        if self.remote is None or self.node_code is None:
            return True
        return handle.prefix.is_within(self.node_code)

    def keep_note(self, entry: Entry, key: str, value: object) -> None:
        """Keep ``value`` with a cached ``entry`` (``Entry.keep_note``), counted in the cache's
        bytes so that notes (rendered pages) stay within its bound."""
        entry.keep_note(key, value)
        self.cache.resize(entry)

    def answer(
        self, entry: Entry, private: bool, indexes: Sequence[int] = (), types: Sequence[str] = ()
    ) -> tuple[int, bytes]:
        """``entry.answer``; a filtered answer it keeps is counted in the cache's bytes."""
        kept = entry.variants
        answer = entry.answer(private, indexes, types)
        if entry.variants != kept:
            self.cache.resize(entry)
        return answer

    def seen(self, key: str) -> bool:
        """True when this process holds an answer that ``key`` (a normalised handle) is
        registered, fresh or not: a hint for writers, never a promise."""
        entry = self.cache.usable(key)
        return entry is not None and entry.exists

    def hot(self, key: str) -> Entry | None:
        """The fresh cached entry for an already-normalised handle, or ``None`` (the hot path).

        A ``None`` is not counted as a miss: the caller goes on to ``lookup``, which counts it.
        """
        entry = self.cache.fresh(key)
        if entry is not None:
            self.hits += 1
            self.tally.count(key)
        return entry

    async def resolve(self, handle: Handle) -> Record | None:
        """The record of ``handle``, or ``None`` when it is not registered."""
        return (await self.lookup(handle)).record()

    async def lookup(
        self, handle: Handle, *, recursive: bool = True, batched: bool = False
    ) -> Resolution:
        """Resolve through the cache; serve a stale entry rather than fail when the source is down.

        With ``recursive=False`` a handle this node does not serve is answered from the cache
        or reported as not found, never fetched (a request another node forwarded must not loop).
        With ``batched`` a local miss is read together with the other misses of the same moment
        (``ReadBatcher``): for callers that ask for many handles at once (the DNS frontend).
        """
        key = str(handle)
        self.tally.count(key)
        entry = self.cache.fresh(key)
        if entry is not None:
            self.hits += 1
            return Resolution(entry)
        self.misses += 1
        local = self.is_local(handle)
        if not recursive and not local:
            now = self.cache.clock()
            self.results["negative"] += 1
            return Resolution(Entry.missing(key, now, now))
        try:
            if batched and local:
                entry = await self.batcher.get(key)
            else:
                entry = await self._load(key, handle)
        except Unavailable:
            stale = self.cache.usable(key)
            if stale is None:
                raise
            self.results["stale"] += 1
            return Resolution(stale, int(self.cache.clock() - stale.stored_at))
        result = "miss" if local else "recursive"
        self.results[result if entry.exists else "negative"] += 1
        return Resolution(entry)

    def stats(self) -> dict[str, float]:
        """Resolutions answered so far and the share answered from the cache."""
        total = self.hits + self.misses
        return {"resolutions": total, "cacheHitRatio": self.hits / total if total else 0.0}

    async def require(self, handle: Handle) -> Resolution:
        """Like ``lookup`` but raises ``HandleNotFound`` when the handle is not registered."""
        resolution = await self.lookup(handle)
        if not resolution.exists:
            raise HandleNotFound(f"handle {handle} does not exist", handle=str(handle))
        return resolution

    async def _load(self, key: str, handle: Handle) -> Entry:
        """One read per key at a time: concurrent misses wait for the read already under way."""
        task = self._inflight.get(key)
        if task is None:
            # A task of its own, so a caller that goes away does not cancel the others' read.
            task = asyncio.ensure_future(self._read(key, handle))
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[Entry]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is not logged as lost

    async def _read(self, key: str, handle: Handle) -> Entry:
        self.reads += 1
        source = self.records.get if self.is_local(handle) else self.remote
        assert source is not None
        entry = self._entry(key, await source(handle))
        # An invalidation while we read removed us from ``_inflight``: this answer may predate
        # the write, so it goes to the callers who were already waiting but is not cached.
        if self._inflight.get(key) is asyncio.current_task():
            self.cache.put(entry)
        return entry

    def _entry(self, key: str, record: Record | None) -> Entry:
        now = self.cache.clock()
        if record is None:
            return Entry.missing(key, now, now + self.cache.config.negative_ttl)
        ttl = min((v.ttl for v in record.values), default=0)
        return Entry.found(record, now, now + min(ttl, self.cache.config.max_ttl))

    def _settle(self, key: str, text: str | None, current: bool) -> Entry:
        """The answer to a batched read of ``key`` (its stored text, ``None``: not registered),
        cached unless an invalidation came while it was read (``ReadBatcher.forget``)."""
        self.reads += 1
        # Most records: the anonymous answer straight from the stored text, no value objects.
        public = None if text is None else codec.public_values_body(key, text)
        if public is None:
            record = None if text is None else Record(Handle.parse(key), decode_values(text))
            entry = self._entry(key, record)
        else:
            body, ttl = public
            now = self.cache.clock()
            entry = Entry.stored(key, body, now, now + min(ttl, self.cache.config.max_ttl))
        if current:
            self.cache.put(entry)
        return entry

    async def _written(self, handles: Sequence[str]) -> None:
        """The writer's listener: forget ``handles`` here, and in every other process unless the
        writer's transaction told them already (its announcer's NOTIFY)."""
        if self.records.writer.announces:
            self.invalidate(handles)
        else:
            await self.changed(handles)

    async def changed(self, handles: Sequence[str]) -> None:
        """Forget ``handles`` here and in every other process."""
        self.invalidate(handles)
        if self.publisher is not None:
            try:
                await self.publisher(handles)
            except Exception:
                logger.exception("could not publish the invalidation of %d handle(s)", len(handles))

    def invalidate(self, handles: Sequence[str] | None) -> None:
        """Forget ``handles`` (all when ``None``), including answers still being read."""
        for watcher in self._watchers:
            watcher(handles)
        self.batcher.forget(handles)
        if handles is None:
            self.cache.clear()
            self._inflight.clear()
            return
        for key in handles:
            self._inflight.pop(key, None)
        self.cache.invalidate(handles)

    def on_invalidate(self, watcher: Callable[[Sequence[str] | None], None]) -> None:
        """Call ``watcher(handles)`` on every invalidation, local or from another process.

        For caches built on the resolver's answers (the DNS frontend's ready responses).
        """
        self._watchers.append(watcher)

    def on_start(self, starter: Callable[[], Awaitable[None]]) -> None:
        """Run ``starter`` when the resolver starts (in the app's lifespan)."""
        self._starters.append(starter)

    async def start(self) -> None:
        for starter in self._starters:
            await starter()

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Run ``closer`` when the resolver closes (listener connections, HTTP clients)."""
        self._closers.append(closer)

    async def close(self) -> None:
        while self._closers:
            await self._closers.pop()()
