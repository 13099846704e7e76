"""A resolved answer as the cache keeps it: pre-serialised Handle REST bytes, record on demand."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import orjson

from registry import Handle, HandleValue, Record, codec, decode_values, encode_values

__all__ = ["Entry", "handle_body", "not_found_body"]

DEFAULT_PERMISSIONS = "1110"
# Pre-serialised filtered answers kept per entry: a few index/type variants, not unbounded,
# and only those of a few short filters (a client choosing its filters freely must not choose
# what the cache keeps); the others are built for each request.
MAX_VARIANTS = 4
MAX_VARIANT_FILTERS = 8
MAX_VARIANT_TYPES_LENGTH = 128
# Bytes an entry costs besides its key and body objects: the 80-byte entry object, cachebox's
# list node and table slot (about 85), allocator rounding (tests/resolver/test_memory.py).
ENTRY_OVERHEAD = 180

Variant = tuple[bool, tuple[int, ...], tuple[str, ...]]


def _compact(body: bytes) -> bytes:
    # orjson's output keeps the capacity of its growing buffer (about 4 KiB for a small
    # record); an exact-size copy is what lets a million cached answers fit in memory.
    return memoryview(body).tobytes()


def handle_body(handle: str, values: Iterable[HandleValue]) -> bytes:
    """``{"responseCode":1,"handle":...,"values":[...]}`` as exact-size bytes."""
    return _compact(codec.values_body(handle, values))


def not_found_body(handle: str) -> bytes:
    """The Handle REST answer for an unregistered handle (responseCode 100, HTTP 404)."""
    return _compact(codec.not_found_body(handle))


def _no_match_body(handle: str) -> bytes:
    return _compact(codec.no_match_body(handle))


class _Rare:
    """What only some entries need: non-public values, filtered answers already built, and
    what a frontend derived from the record (its notes)."""

    __slots__ = ("notes", "private_text", "variants")

    def __init__(self, private_text: str | None) -> None:
        self.private_text = private_text
        self.variants: dict[Variant, tuple[int, bytes]] = {}
        self.notes: dict[str, object] | None = None


class Entry:
    """One cached answer; ``body`` is what an anonymous caller without filters receives.

    Only the bytes are kept for records whose values all carry the default permissions (the
    common case), so a million cached records stay small; the ``Record`` is rebuilt on demand.
    """

    # Six slots: the object fits pymalloc's 80-byte class (seven would take 96).
    __slots__ = ("_rare", "body", "fresh_until", "key", "status", "stored_at")

    def __init__(
        self,
        key: str,
        status: int,
        body: bytes,
        stored_at: float,
        fresh_until: float,
        private_text: str | None = None,
    ) -> None:
        self.key = key
        self.status = status
        self.body = body
        self.stored_at = stored_at
        self.fresh_until = fresh_until
        self._rare = None if private_text is None else _Rare(private_text)

    @classmethod
    def found(cls, record: Record, stored_at: float, fresh_until: float) -> Entry:
        key = str(record.handle)
        public = record.public()
        private_text = None
        if any(str(v.permissions) != DEFAULT_PERMISSIONS for v in record.values):
            private_text = encode_values(record.values)
        return cls(key, 200, handle_body(key, public.values), stored_at, fresh_until, private_text)

    @classmethod
    def stored(cls, key: str, body: bytes, stored_at: float, fresh_until: float) -> Entry:
        """A found record all of whose values are public, from its answer's bytes
        (``codec.public_values_body``)."""
        return cls(key, 200, _compact(body), stored_at, fresh_until)

    @classmethod
    def missing(cls, key: str, stored_at: float, fresh_until: float) -> Entry:
        return cls(key, 404, not_found_body(key), stored_at, fresh_until)

    @property
    def private_text(self) -> str | None:
        """The stored form of all values when some are not public, else ``None``."""
        return None if self._rare is None else self._rare.private_text

    @property
    def size(self) -> int:
        """Bytes the entry costs in the cache (as measured, allocator rounding included)."""
        size = ENTRY_OVERHEAD + sys.getsizeof(self.key) + sys.getsizeof(self.body)
        rare = self._rare
        if rare is not None:
            size += sys.getsizeof(rare) + sys.getsizeof(rare.variants)
            size += sys.getsizeof(rare.private_text)
            for (_, indexes, types), (_, answer) in rare.variants.items():
                size += sys.getsizeof(indexes) + sys.getsizeof(answer)
                size += sys.getsizeof(types) + sum(sys.getsizeof(kind) for kind in types)
            if rare.notes is not None:
                # Notes are small objects or rendered pages (bytes): counted at their own size.
                size += sys.getsizeof(rare.notes)
                size += sum(sys.getsizeof(note) for note in rare.notes.values())
        return size

    @property
    def exists(self) -> bool:
        return self.status == 200

    def note(self, key: str) -> object | None:
        """What a frontend derived from this entry and kept with it, or ``None``."""
        rare = self._rare
        return None if rare is None or rare.notes is None else rare.notes.get(key)

    def keep_note(self, key: str, value: object) -> None:
        """Keep ``value`` with the entry (the record page's labels and signature verdict):
        it goes when the entry does, on a change to the record or at its TTL."""
        if self._rare is None:
            self._rare = _Rare(None)
        if self._rare.notes is None:
            self._rare.notes = {}
        self._rare.notes[key] = value

    def record(self) -> Record | None:
        """The record, or ``None`` when the handle is not registered."""
        if not self.exists:
            return None
        handle = Handle.parse(self.key)
        if self.private_text is not None:
            return Record(handle, decode_values(self.private_text))
        values = orjson.loads(self.body)["values"]
        return Record(handle, tuple(HandleValue.from_storage(item) for item in values))

    def answer(
        self, private: bool, indexes: Iterable[int] = (), types: Iterable[str] = ()
    ) -> tuple[int, bytes]:
        """Status and bytes for a caller (``private``: may see non-public values) and filters."""
        variant: Variant = (private and self.private_text is not None, *_normal(indexes, types))
        if variant == (False, (), ()):
            return self.status, self.body
        if self._rare is None:
            self._rare = _Rare(None)
        cached = self._rare.variants.get(variant)
        if cached is not None:
            return cached
        record = self.record()
        assert record is not None, "answer() is only asked of found entries"
        if not variant[0]:
            record = record.public()
        values = record.select(variant[1], variant[2])
        if (variant[1] or variant[2]) and not values:
            answer = (200, _no_match_body(self.key))
        else:
            answer = (200, handle_body(self.key, values))
        if len(self._rare.variants) < MAX_VARIANTS and _keepable(variant):
            self._rare.variants[variant] = answer
        return answer

    @property
    def variants(self) -> int:
        """Filtered answers kept with this entry (``answer``); the cache counts their bytes."""
        return 0 if self._rare is None else len(self._rare.variants)


def _keepable(variant: Variant) -> bool:
    _, indexes, types = variant
    return (
        len(indexes) + len(types) <= MAX_VARIANT_FILTERS
        and sum(len(kind) for kind in types) <= MAX_VARIANT_TYPES_LENGTH
    )


def _normal(
    indexes: Iterable[int], types: Iterable[str]
) -> tuple[tuple[int, ...], tuple[str, ...]]:
    return tuple(sorted(set(indexes))), tuple(sorted(set(types)))
