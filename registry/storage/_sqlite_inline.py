"""SQLite write connections whose statements run on the event loop's own thread.

aiosqlite runs every statement on a thread of its own and wakes the event loop with the result:
a write (BEGIN, a lookup, the insert, the outbox row, COMMIT) paid five to seven such round trips,
each hundreds of microseconds on a busy machine, for statements that take microseconds on a
page-cached WAL database. Here a write transaction's statements run inline, on the loop's thread,
and only what may wait leaves it, on this connection's one worker thread:

- ``COMMIT`` (the fsync);
- ``BEGIN IMMEDIATE`` when another connection holds the write lock: tried first without waiting
  (the connection's busy timeout is 0), then again on the worker with the usual busy timeout, so
  the loop never sleeps in SQLite's busy handler;
- everything outside a transaction (opening the connection and its pragmas);
- the next statement of a task that has kept the loop for ``INLINE_BUDGET`` seconds since its
  first inline statement without giving the loop a turn (a batch of thousands, an import), and any
  ``executemany`` of more than a few rows. That hop gives the loop its turn, and the budget
  starts again: the loop never waits much longer than the budget, however long the transaction,
  and a transaction shared by many writers that yield in between (group commit) stays inline.

The worker serialises with the loop thread: a statement arriving while an earlier one is still on
the worker (a cancelled request's COMMIT) queues behind it there. Only the writer engine uses
these connections, one task at a time (``Database``'s writer lock), so ``check_same_thread`` is
off. The dialect is SQLAlchemy's aiosqlite dialect with this module as its DBAPI.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.engine import AdaptedConnection
from sqlalchemy.util.concurrency import await_

__all__ = ["INLINE_BUDGET", "INLINE_MANY", "InlineDBAPI", "is_busy", "open_writer", "waiting"]

T = TypeVar("T")

# Wall time a task's inline statements may keep the loop without a turn before the next one goes
# to the worker.
INLINE_BUDGET = 0.005
# An executemany of more rows than this runs on the worker.
INLINE_MANY = 16
_SQLITE_BUSY = 5  # the primary result code; extended codes (BUSY_RECOVERY …) share its low byte


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (another connection holds the lock)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == _SQLITE_BUSY
    return "locked" in str(exc)


def open_writer(
    connect: Callable[[], sqlite3.Connection], pragmas: Sequence[str]
) -> sqlite3.Connection:
    """``connect()`` with ``pragmas`` applied, then a busy timeout of 0: its statements on the
    loop's thread never wait for a lock; those that may wait set it with ``waiting``."""
    connection = connect()
    try:
        for pragma in pragmas:
            connection.execute(pragma)
        connection.execute("PRAGMA busy_timeout=0")
    except BaseException:
        connection.close()
        raise
    return connection


def waiting(connection: sqlite3.Connection, busy_ms: int, call: Callable[[], T]) -> Callable[[], T]:
    """``call`` with the busy timeout in force (on a worker thread, where waiting is allowed)."""

    def run() -> T:
        connection.execute(f"PRAGMA busy_timeout={busy_ms}")
        try:
            return call()
        finally:
            connection.execute("PRAGMA busy_timeout=0")

    return run


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module handed to the aiosqlite dialect (``create_async_engine(module=…)``)."""

    def __init__(self, pragmas: Sequence[str], busy_seconds: float) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.pragmas = tuple(pragmas)
        self.busy_ms = int(busy_seconds * 1000)

    def connect(self, *args: Any, **kwargs: Any) -> InlineConnection:  # type: ignore[override]
        kwargs.pop("async_creator_fn", None)
        kwargs.update(check_same_thread=False, isolation_level=None)
        kwargs.setdefault("timeout", self.busy_ms / 1000)  # while the pragmas run
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")

        def open_() -> sqlite3.Connection:
            return open_writer(lambda: sqlite3.connect(*args, **kwargs), self.pragmas)

        try:
            connection = await_(asyncio.get_running_loop().run_in_executor(worker, open_))
        except BaseException:
            worker.shutdown(wait=False)
            raise
        return InlineConnection(self, connection, worker)


class InlineConnection(AdaptedConnection):
    """A DBAPI connection over ``sqlite3``: inline inside a write transaction, else on the worker."""

    __slots__ = ("_closed", "_pending", "_since", "_turn_asked", "_worker", "dbapi")

    _connection: sqlite3.Connection

    def __init__(
        self, dbapi: InlineDBAPI, connection: sqlite3.Connection, worker: ThreadPoolExecutor
    ) -> None:
        self.dbapi = dbapi
        self._connection = connection
        self._worker = worker
        self._pending: Future[Any] | None = None
        # Since when (perf_counter) this connection's statements have kept the loop without a
        # turn, while a turn is asked for.
        self._since = 0.0
        self._turn_asked = False
        self._closed = False

    # -- the two ways a statement runs --------------------------------------------------------

    def _on_worker(self, call: Callable[[], T]) -> T:
        # The worker's own future: done only once the call has ended there, even if the caller
        # was cancelled (the asyncio future wrapping it is done at once, then).
        future = self._pending = self._worker.submit(call)
        return await_(asyncio.wrap_future(future))  # type: ignore[no-any-return]

    def _inline_ok(self) -> bool:
        pending = self._pending
        if pending is not None and not pending.done():
            return False  # keep order behind a cancelled caller's statement
        if not self._connection.in_transaction:
            return False
        # Within budget: the loop has had a turn since, or not waited long for one.
        return not self._turn_asked or time.perf_counter() - self._since < INLINE_BUDGET

    def _run(self, call: Callable[[], T]) -> T:
        if not self._inline_ok():
            return self._on_worker(self._waiting(call))
        self._hold_the_loop()
        return call()

    def _hold_the_loop(self) -> None:
        """Start the budget's clock unless it runs already; the loop's next turn stops it."""
        if not self._turn_asked:
            asyncio.get_running_loop().call_soon(self._loop_had_a_turn)
            self._turn_asked = True
            self._since = time.perf_counter()

    def _loop_had_a_turn(self) -> None:
        self._turn_asked = False

    def _waiting(self, call: Callable[[], T]) -> Callable[[], T]:
        """``call`` with the busy timeout in force (on the worker, where waiting is allowed)."""
        return waiting(self._connection, self.dbapi.busy_ms, call)

    def begin_immediate(self) -> None:
        """Take the write lock: at once if it is free, else waiting for it on the worker."""
        connection = self._connection
        self._begin(lambda: connection.execute("BEGIN IMMEDIATE"))

    def _begin(self, call: Callable[[], T]) -> T:
        """BEGIN: inline if the write lock is free now, else on the worker, waiting for it."""
        pending = self._pending
        if pending is None or pending.done():
            self._hold_the_loop()
            try:
                return call()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
        return self._on_worker(self._waiting(call))

    # -- DBAPI --------------------------------------------------------------------------------

    def cursor(self, server_side: bool = False) -> InlineCursor:
        return InlineCursor(self)

    def commit(self) -> None:
        # The fsync: always on the worker. (Python's commit is a no-op outside a transaction.)
        if self._connection.in_transaction:
            self._on_worker(self._connection.commit)

    def rollback(self) -> None:
        # Rolling back a WAL transaction discards pages in memory: no I/O to wait for.
        pending = self._pending
        if pending is None or pending.done():
            self._connection.rollback()
        else:
            self._on_worker(self._connection.rollback)

    def close(self) -> None:
        # Behind a statement still on the worker (its caller was cancelled), the close queues
        # there: closing under it here would block the loop until that statement ends.
        if self._closed:
            return
        self._closed = True
        pending = self._pending
        if pending is not None and not pending.done():
            self._worker.submit(self._connection.close)
        else:
            self._connection.close()
        self._worker.shutdown(wait=False)

    def terminate(self) -> None:
        self.close()

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection.create_function(*args, **kwargs)


class InlineCursor:
    """A DBAPI cursor: runs through its connection's ``_run``, results buffered in full."""

    __slots__ = ("_adapt", "_cursor", "_rows", "arraysize", "description", "lastrowid", "rowcount")

    server_side = False

    def __init__(self, adapt: InlineConnection) -> None:
        self._adapt = adapt
        self._cursor = adapt._connection.cursor()
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def _ran(self, call: Callable[[], Any]) -> Callable[[], list[Any] | None]:
        cursor = self._cursor

        def run() -> list[Any] | None:
            call()
            return cursor.fetchall() if cursor.description else None

        return run

    def _finish(self, rows: list[Any] | None) -> None:
        cursor = self._cursor
        self.description = cursor.description
        self.rowcount = cursor.rowcount
        self.lastrowid = cursor.lastrowid
        self._rows = collections.deque(rows) if rows else collections.deque()

    def execute(self, operation: str, parameters: Any = None) -> None:
        cursor = self._cursor
        if parameters is None:
            run = self._ran(lambda: cursor.execute(operation))
        else:
            run = self._ran(lambda: cursor.execute(operation, parameters))
        adapt = self._adapt
        rows = adapt._begin(run) if operation[:5].upper() == "BEGIN" else adapt._run(run)
        self._finish(rows)

    def executemany(self, operation: str, seq_of_parameters: Sequence[Any]) -> None:
        seq = list(seq_of_parameters)
        run = self._ran(lambda: self._cursor.executemany(operation, seq))
        adapt = self._adapt
        rows = adapt._on_worker(adapt._waiting(run)) if len(seq) > INLINE_MANY else adapt._run(run)
        self._finish(rows)

    async def _async_soft_close(self) -> None:
        """The rows are buffered already: the statement is done with (SQLAlchemy's hook)."""
        pending = self._adapt._pending
        if pending is None or pending.done():
            self._cursor.close()

    def close(self) -> None:
        self._rows.clear()
        pending = self._adapt._pending
        if pending is None or pending.done():
            self._cursor.close()

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def setinputsizes(self, *sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass
