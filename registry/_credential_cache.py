"""Verified credentials, remembered so a client that sends its password (HTTP Basic) or its token
on every request pays neither scrypt nor a read for each.

Keys are keyed BLAKE2b MACs, under a random key this process never stores or shows, of the
username and the presented secret: a dump of the cache holds no password, hash or token, and a guess
cannot be checked against it without the key. Values are the principal the credential proved.

Whatever may change a credential or what it owns (revocation, prefix allocation) forgets every
entry, in every process, before it is acknowledged: through ``changed`` (a resolver invalidation
watcher, so PostgreSQL's LISTEN/NOTIFY brings other workers' and instances' changes) and, on a
SQLite file that several processes share, through a stamp file beside it that ``bump`` rewrites
in place and every cache hit reads (one ``pread`` of 16 bytes on a descriptor kept open; not a
memory map, which a truncated file would turn into a crash). An authentication read that began
before a change is not remembered after it (``generation``).

A hit is on the path of every authenticated request: one MAC from a keyed BLAKE2b state made
once, that ``pread`` on SQLite, and one table lookup.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from cachebox import TTLCache
from sqlalchemy.engine import make_url

from ._principal import Principal
from .storage.database import Database

__all__ = ["VerifiedCredentials", "stamp_file_for"]

# A remembered credential is checked against storage again after this long regardless.
REMEMBER_SECONDS = 300.0
MAX_ENTRIES = 10_000
STAMP_BYTES = 16
ADMIN_HANDLE_SUFFIX = "/ADMIN"
PREFIX_RECORDS = "0.NA/"


def touches_credentials(handle: str) -> bool:
    """True for the records whose writes come with credential or prefix changes."""
    return handle.endswith(ADMIN_HANDLE_SUFFIX) or handle.upper().startswith(PREFIX_RECORDS)


def stamp_file_for(db: Database) -> Path | None:
    """The stamp file beside a SQLite database file (``None`` on PostgreSQL or in memory)."""
    database = make_url(db.url).database
    if not db.is_sqlite or not database or database == ":memory:":
        return None
    path = Path(database)
    return path.with_name(f"{path.name}-credentials")


class VerifiedCredentials:
    """``key`` a presented secret, ``get``/``put`` its principal, ``forget_all`` on any change."""

    def __init__(
        self,
        stamp_file: Path | None = None,
        *,
        ttl: float = REMEMBER_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        key = secrets.token_bytes(32)
        # Keyed once; each MAC is a copy of these states fed the message.
        self._plain = hashlib.blake2b(key=key, digest_size=32)
        self._header = hashlib.blake2b(key=key, digest_size=32, person=b"header")
        self._entries: TTLCache[bytes, tuple[Principal, float | None]] = TTLCache(max_entries, ttl)
        self._clock = clock
        self._stamp_file = stamp_file
        self._fd: int | None = None
        self._stamp = self._read_stamp()
        # Bumped by every forget: a read that began under an older generation is not kept.
        self.generation = 0

    def key(self, kind: str, username: str, secret: str) -> bytes:
        """The entry key for ``secret`` presented as ``username`` (``kind``: basic, token…)."""
        mac = self._plain.copy()
        mac.update(f"{kind}\0{username}\0{secret}".encode())
        return mac.digest()

    def header_key(self, header: bytes) -> bytes:
        """The entry key for a whole ``Authorization`` header as received."""
        mac = self._header.copy()
        mac.update(header)
        return mac.digest()

    def get(self, key: bytes) -> Principal | None:
        """The remembered principal, unless it expired or a change was seen since."""
        found = self.entry(key)
        return None if found is None else found[0]

    def entry(self, key: bytes) -> tuple[Principal, float | None] | None:
        """The remembered principal and its expiry (``None``: only ``REMEMBER_SECONDS``)."""
        self._check_stamp()
        found = self._entries.get(key)
        if found is None:
            return None
        expires = found[1]
        if expires is not None and expires <= self._clock():
            self._entries.pop(key, None)
            return None
        return found

    def put(
        self, key: bytes, principal: Principal, generation: int, expires: float | None = None
    ) -> None:
        """Remember ``principal`` (until ``expires``, a wall-clock time, if given) unless a
        change was seen since ``generation`` was taken."""
        if generation == self.generation:
            self._entries[key] = (principal, expires)

    def __len__(self) -> int:
        return len(self._entries)

    def dump(self) -> list[tuple[bytes, tuple[Principal, float | None]]]:
        """Every entry as it is held (for tests and diagnostics)."""
        return list(self._entries.items())

    def forget_all(self) -> None:
        """Forget every remembered credential in this process."""
        self.generation += 1
        self._entries.clear()

    def changed(self, handles: Sequence[str] | None) -> None:
        """A resolver invalidation watcher: forget all when a credential may have changed."""
        if handles is None or any(touches_credentials(handle) for handle in handles):
            self.forget_all()

    def bump(self) -> None:
        """Forget all here and tell the other processes on the same SQLite file."""
        self.forget_all()
        descriptor = self._descriptor()
        if descriptor is None:
            return
        stamp = secrets.token_bytes(STAMP_BYTES)
        os.pwrite(descriptor, stamp, 0)
        self._stamp = stamp

    def close(self) -> None:
        """Close the stamp file's descriptor (opened again if needed)."""
        descriptor, self._fd = self._fd, None
        if descriptor is not None:
            os.close(descriptor)

    def _descriptor(self) -> int | None:
        if self._stamp_file is None:
            return None
        if self._fd is None:
            # Written in place, never replaced: every process keeps reading the same file.
            self._fd = os.open(self._stamp_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        return self._fd

    def _read_stamp(self) -> bytes | None:
        descriptor = self._descriptor()
        return None if descriptor is None else os.pread(descriptor, STAMP_BYTES, 0)

    def _check_stamp(self) -> None:
        if self._stamp_file is None:
            return
        stamp = self._read_stamp()
        if stamp != self._stamp:
            # A torn read of a concurrent bump only forgets once more.
            self._stamp = stamp
            self.forget_all()
