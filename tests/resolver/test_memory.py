"""What cached answers cost: the byte bound counts what entries hold, bodies are exact-size."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

from registry import Handle, HandleValue, Permissions, Record
from resolver import CacheConfig, Entry, RecordCache

COUNT = 2000
STAMP = "2026-01-01T00:00:00Z"


def bench_record(i: int) -> Record:
    """A record like loadtests' seeded identifiers: a URL and a short description."""
    handle = Handle.parse(f"88.118.8/LT{i:09d}")
    return Record(
        handle,
        (
            HandleValue(1, "URL", "string", f"https://example.com/{handle}", timestamp=STAMP),
            HandleValue(2, "DESC", "string", "idnode load test item", timestamp=STAMP),
        ),
    )


def traced(action: Callable[[], object]) -> tuple[object, int]:
    """What ``action`` returns and the bytes it left allocated (Python's allocators only)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = action()
        gc.collect()
        return result, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def filled(records: list[Record]) -> RecordCache:
    cache = RecordCache(CacheConfig(max_entries=len(records)), lambda: 1000.0)
    # Timestamps as a node takes them: a new float per read.
    for i, record in enumerate(records):
        cache.put(Entry.found(record, 1000.0 + i / 1e6, 1060.0 + i / 1e6))
    return cache


def test_accounted_bytes_cover_what_cached_entries_hold() -> None:
    records = [bench_record(i) for i in range(COUNT)]
    cache, held = traced(lambda: filled(records))
    assert isinstance(cache, RecordCache) and len(cache) == COUNT
    accounted = cache.bytes
    # tracemalloc does not see cachebox's own table and list (Rust's allocator), which the
    # accounted size includes; it must not count much more than is there either.
    assert held < accounted < 1.6 * held


def test_private_values_are_accounted() -> None:
    secret = HandleValue(2, "SECRET", "string", "s" * 500, permissions=Permissions(False))
    url = HandleValue(1, "URL", "string", "https://example.com/a")
    public = Entry.found(Record(Handle.parse("88.118.8/A"), (url,)), 0, 60)
    private = Entry.found(Record(Handle.parse("88.118.8/A"), (url, secret)), 0, 60)
    assert private.size > public.size + 500


def test_bodies_are_kept_exact_size() -> None:
    # The first of each call sets up what later ones reuse, so it is not the one measured.
    warm, other = Entry.found(bench_record(1), 0, 60), Entry.found(bench_record(2), 0, 60)
    _, held = traced(lambda: Entry.found(bench_record(3), 0, 60))
    assert held < 2 * len(warm.body)
    # Filtered answers are kept too: a "no values match" answer is as compact.
    warm.answer(False, types=["NONE"])
    _, held = traced(lambda: other.answer(False, types=["NONE"]))
    assert held < 1024
