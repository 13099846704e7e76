"""The answer cache on its own: bounds, freshness, the stale limit, invalidation."""

from __future__ import annotations

from registry import Handle, HandleValue, Permissions, Record
from resolver import CacheConfig, Entry, RecordCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def found(key: str, clock: Clock, ttl: float = 60, *values: HandleValue) -> Entry:
    values = values or (HandleValue(1, "URL", "string", f"https://example.com/{key}"),)
    return Entry.found(Record(Handle.parse(key), values), clock.now, clock.now + ttl)


def test_fresh_until_ttl_then_usable_until_stale_limit() -> None:
    clock = Clock()
    cache = RecordCache(CacheConfig(stale_seconds=100), clock)
    cache.put(found("88.118.8/A", clock, ttl=10))
    assert cache.fresh("88.118.8/A") is not None
    clock.now += 11
    assert cache.fresh("88.118.8/A") is None
    assert cache.usable("88.118.8/A") is not None
    clock.now += 100
    assert cache.usable("88.118.8/A") is None
    assert len(cache) == 0


def test_entry_count_bound_evicts_least_recently_used() -> None:
    clock = Clock()
    cache = RecordCache(CacheConfig(max_entries=2), clock)
    cache.put(found("88.118.8/A", clock))
    cache.put(found("88.118.8/B", clock))
    assert cache.fresh("88.118.8/A") is not None  # A is now the most recently used
    cache.put(found("88.118.8/C", clock))
    assert len(cache) == 2
    assert cache.fresh("88.118.8/B") is None
    assert cache.fresh("88.118.8/A") is not None and cache.fresh("88.118.8/C") is not None


def test_memory_bound_evicts_and_refuses_oversized_entries() -> None:
    clock = Clock()
    one = found("88.118.8/A", clock)
    cache = RecordCache(CacheConfig(max_bytes=one.size * 2 + 10), clock)
    for name in "ABCD":
        cache.put(found(f"88.118.8/{name}", clock))
    assert len(cache) == 2 and cache.bytes <= one.size * 2 + 10
    huge = found("88.118.8/H", clock, 60, HandleValue(1, "DESC", "string", "x" * 10_000))
    cache.put(huge)
    assert cache.fresh("88.118.8/H") is None


def test_invalidate_and_clear() -> None:
    clock = Clock()
    cache = RecordCache(CacheConfig(), clock)
    cache.put(found("88.118.8/A", clock))
    cache.put(found("88.118.8/B", clock))
    cache.invalidate(["88.118.8/A", "88.118.8/missing"])
    assert cache.fresh("88.118.8/A") is None and cache.fresh("88.118.8/B") is not None
    cache.clear()
    assert len(cache) == 0


def test_entry_keeps_private_values_only_for_owners_and_filters() -> None:
    clock = Clock()
    secret = HandleValue(
        2, "SECRET", "string", "s3cret", permissions=Permissions(public_read=False)
    )
    url = HandleValue(1, "URL", "string", "https://example.com/a")
    entry = found("88.118.8/A", clock, 60, url, secret)
    status, public = entry.answer(False)
    assert status == 200 and b"s3cret" not in public and public == entry.body
    assert b"s3cret" in entry.answer(True)[1]
    assert b"SECRET" not in entry.answer(False, types=["SECRET"])[1]
    assert entry.answer(False, types=["SECRET"])[1].startswith(b'{"responseCode":200')
    assert entry.answer(True, indexes=[2])[1].count(b'"index"') == 1
    assert entry.record() == Record(Handle.parse("88.118.8/A"), (url, secret))


def test_plain_entry_rebuilds_its_record_from_bytes() -> None:
    clock = Clock()
    value = HandleValue(1, "URL", "string", "https://example.com/a", 60, "2026-01-01T00:00:00Z")
    entry = found("88.118.8/A", clock, 60, value)
    assert entry.private_text is None
    assert entry.record() == Record(Handle.parse("88.118.8/A"), (value,))
    missing = Entry.missing("88.118.8/B", clock.now, clock.now + 5)
    assert missing.status == 404 and missing.record() is None
    assert b'"responseCode":100' in missing.body


def test_timestamps_are_whole_seconds_and_never_extend_the_ttl() -> None:
    clock = Clock()
    clock.now = 1000.7
    cache = RecordCache(CacheConfig(stale_seconds=100), clock)
    cache.put(found("88.118.8/A", clock, ttl=10))
    clock.now = 1009.9
    assert cache.fresh("88.118.8/A") is not None
    clock.now = 1010.0
    assert cache.fresh("88.118.8/A") is None
    clock.now = 1100.5
    assert cache.usable("88.118.8/A") is None


def test_entries_stored_in_one_second_share_their_timestamps() -> None:
    clock = Clock()
    cache = RecordCache(CacheConfig(), clock)
    first = found("88.118.8/A", clock)
    clock.now += 0.5
    second = found("88.118.8/B", clock)
    cache.put(first)
    cache.put(second)
    assert first.stored_at is second.stored_at and first.fresh_until is second.fresh_until


def test_a_note_kept_with_an_entry_counts_in_the_cache_bytes() -> None:
    """Rendered pages kept with entries stay within the cache's byte bound."""
    cache = RecordCache(CacheConfig(max_bytes=64 * 1024))
    entry = Entry.missing("88.118.8/A", 0.0, 1e12)
    cache.put(entry)
    before = cache.bytes
    entry.keep_note("page", b"x" * 10_000)
    cache.resize(entry)
    assert entry.note("page") == b"x" * 10_000
    assert cache.bytes >= before + 10_000
    entry.keep_note("page", b"x" * 100_000)  # larger than the whole cache: dropped
    cache.resize(entry)
    assert cache.fresh("88.118.8/A") is None and cache.bytes == 0


def test_filtered_answers_kept_are_few_short_and_counted_in_the_cache() -> None:
    """A client picks its filters: only a few short ones are kept with the entry, and those
    kept are weighed in the cache's bytes (an attacker's filters cannot grow it unseen)."""
    clock = Clock()
    values = [HandleValue(i, f"T{i}", "string", "x" * 200) for i in range(1, 6)]
    entry = found("88.118.8/A", clock, 60, *values)
    cache = RecordCache(CacheConfig(), clock)
    cache.put(entry)
    resolver_bytes = cache.bytes
    long_type = "T" * 1000
    assert entry.answer(False, types=[long_type])[1].startswith(b'{"responseCode":200')
    assert entry.answer(False, indexes=list(range(1, 10)))[0] == 200
    assert entry.variants == 0  # a long type, and nine filters: built, not kept
    before = entry.size
    filtered = entry.answer(False, types=["T1", "T2"])
    assert entry.variants == 1 and entry.answer(False, types=["T2", "T1"]) is filtered
    assert entry.size >= before + len(filtered[1])
    cache.resize(entry)
    assert cache.bytes >= resolver_bytes + len(filtered[1])
    for n in range(2, 10):
        entry.answer(False, indexes=[n % 5 + 1, 1])
    assert entry.variants == 4  # at most MAX_VARIANTS
