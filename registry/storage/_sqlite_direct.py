"""A lone new record on a SQLite file, straight on ``sqlite3``: ``PgDirect.insert_new``'s twin.

A single registration through the write engine paid a session, its transaction's bookkeeping and
two compiled statements: more CPU than the record's own storage, measured (issue 19). Here it is
one connection of its own: ``BEGIN IMMEDIATE``, the insert (telling whether a quota may apply)
and the outbox row on the event loop's thread, as ``_sqlite_inline`` runs a write's statements,
and the ``COMMIT`` (the fsync) on the connection's one worker thread. A ``BEGIN`` that finds the
file locked by another connection waits on the worker, with the usual busy timeout, and then
fails as ``Unavailable``.

``Database.insert_alone`` calls it only for a write that finds no other writer of this process
at work and holds the process's write turn meanwhile: concurrent writers still share one COMMIT
(group commit), which a slow disk needs. A caller cancelled while its COMMIT runs leaves it to
finish on the worker; whatever this connection runs next queues behind it there.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy.dialects import sqlite

from .._errors import Unavailable
from ._sqlite_inline import is_busy, open_writer, waiting
from .direct import NewRecord
from .models import RecordRow

__all__ = ["SqliteDirect"]

T = TypeVar("T")

# The record if its handle is free (and, guarded, its template unchanged); RETURNING whether a
# quota may apply to the prefix's owner, which only a transaction of the write engine checks.
_INSERT = """
INSERT INTO records (handle, prefix, "values", template_version, created_at, updated_at)
SELECT ?1, ?2, ?3, ?4, ?5, ?5
WHERE ?6 IS NULL OR EXISTS (
    SELECT 1 FROM templates AS t WHERE t.prefix = ?2 AND t.version = ?4 AND t.body = ?6
)
ON CONFLICT (handle) DO NOTHING
RETURNING EXISTS (
    SELECT 1 FROM quotas AS q JOIN prefixes AS p ON p.enterprise_id = q.enterprise_id
    WHERE p.prefix = records.prefix
)
"""
_OUTBOX = "INSERT INTO outbox (kind, subject, payload, created_at) VALUES (?, ?, ?, ?)"

# A moment as the write engine stores it on SQLite (``Timestamp`` through SQLAlchemy's dialect).
_DIALECT = sqlite.dialect()
_STORED_MOMENT = RecordRow.__table__.c.created_at.type.dialect_impl(_DIALECT).bind_processor(
    _DIALECT
)
assert _STORED_MOMENT is not None


class SqliteDirect:
    """``insert_new(record)`` on its own connection to the SQLite file at ``path``."""

    def __init__(self, path: str, pragmas: Sequence[str], *, busy_seconds: float) -> None:
        self.path = path
        self.pragmas = tuple(pragmas)
        self.busy_ms = int(busy_seconds * 1000)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-direct")
        self._connection: sqlite3.Connection | None = None
        # The worker's last call: what a statement of this connection must wait behind.
        self._pending: Future[Any] | None = None

    async def insert_new(self, record: NewRecord) -> tuple[bool, bool]:
        """Insert ``record`` as a transaction of its own, committed when this returns:
        ``(inserted, a quota may apply)``; nothing is written unless ``(True, False)``.

        The caller holds the process's write turn (``Database``)."""
        try:
            connection = self._connection or await self._on_worker(self._open)
            await self._begin(connection)
        except sqlite3.Error as exc:
            raise Unavailable(f"storage is unavailable: {exc}") from exc
        try:
            moment = _STORED_MOMENT(record.now)
            row = connection.execute(
                _INSERT,
                (
                    record.handle,
                    record.prefix,
                    record.values,
                    record.template_version,
                    moment,
                    record.template_body,
                ),
            ).fetchone()
            if row is None or row[0]:
                connection.execute("ROLLBACK")
                return False, row is not None
            connection.execute(_OUTBOX, (record.kind, record.handle, record.payload, moment))
        except BaseException as exc:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise Unavailable(f"storage is unavailable: {exc}") from exc
            raise
        try:
            await self._on_worker(connection.commit)
        except sqlite3.Error as exc:
            self._rollback_soon()
            raise Unavailable(f"storage is unavailable: {exc}") from exc
        return True, False

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            # Behind a statement still on the worker (its caller was cancelled).
            await asyncio.wrap_future(self._worker.submit(connection.close))
        self._worker.shutdown(wait=False)

    def _open(self) -> sqlite3.Connection:
        def connect() -> sqlite3.Connection:
            return sqlite3.connect(
                self.path,
                check_same_thread=False,
                isolation_level=None,
                timeout=self.busy_ms / 1000,  # while the pragmas run
            )

        self._connection = open_writer(connect, self.pragmas)
        return self._connection

    async def _begin(self, connection: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE: here if the file's write lock is free now, else waiting for it on
        the worker; a caller cancelled meanwhile has the transaction rolled back there."""
        if self._pending is None or self._pending.done():
            try:
                connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
        begin = waiting(connection, self.busy_ms, lambda: connection.execute("BEGIN IMMEDIATE"))
        try:
            await self._on_worker(begin)
        except asyncio.CancelledError:
            self._rollback_soon()
            raise

    def _rollback_soon(self) -> None:
        """Roll back on the worker, behind whatever it runs now, if a transaction is open."""
        connection = self._connection
        if connection is None:
            return

        def rollback() -> None:
            if connection.in_transaction:
                connection.execute("ROLLBACK")

        self._pending = self._worker.submit(rollback)

    async def _on_worker(self, call: Callable[[], T]) -> T:
        # The worker's own future is done only once the call has ended there, even if the
        # caller was cancelled: the next call queues behind it.
        future = self._pending = self._worker.submit(call)
        return await asyncio.wrap_future(future)
