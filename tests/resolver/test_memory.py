"""What cached answers cost: the byte bound counts what entries hold, bodies are exact-size."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable

from registry import Handle, HandleValue, Permissions, Record
from resolver import CacheConfig, Entry, RecordCache, handle_body, not_found_body
from resolver import _entry as entry_module

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


def made_here(build: Callable[[], bytes]) -> tuple[bytes, int]:
    """What ``build`` returns and the bytes still held that ``resolver/_entry.py`` allocated.

    Only that module's allocations count, so other threads of a long test run add no noise.
    """
    only_entry = [tracemalloc.Filter(True, entry_module.__file__)]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(only_entry)
        body = build()
        after = tracemalloc.take_snapshot().filter_traces(only_entry)
    finally:
        tracemalloc.stop()
    return body, sum(stat.size_diff for stat in after.compare_to(before, "filename"))


def test_bodies_are_kept_exact_size() -> None:
    record = bench_record(3)
    key = str(record.handle)
    builders: list[Callable[[], bytes]] = [
        lambda: handle_body(key, record.values),
        lambda: not_found_body(key),
        lambda: entry_module._no_match_body(key),  # filtered answers are cached too
    ]
    for build in builders:
        build()  # the first call sets up what later ones reuse; it is not the one measured
        body, held = made_here(build)
        # orjson's growing buffer would leave about 4 KiB behind each body.
        assert len(body) <= held < 2 * len(body), (body, held)
