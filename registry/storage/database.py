"""The storage engine: SQLite (embedded default) or PostgreSQL, chosen by one URL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util.concurrency import await_

from .._errors import Unavailable
from ._sqlite_direct import SqliteDirect
from ._sqlite_inline import InlineDBAPI
from .direct import NewRecord, PgDirect
from .repository import Records

__all__ = ["Database"]

T = TypeVar("T")

# How long a writer waits for its turn before the request fails as Unavailable.
SQLITE_BUSY_SECONDS = 30

_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # FULL: a committed transaction survives power loss, not just a crash of the process.
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}",
)


def _private_file(path: Path) -> None:
    """The SQLite file readable by its owner only: 0600, in a 0700 directory if one is made.

    SQLite gives its -wal and -shm files the database file's mode. A file an older version left
    readable by others is narrowed to 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)


def _on_disk(url: URL) -> bool:
    """A SQLite database in a file (not one in memory, which a second engine would not share)."""
    database = url.database or ""
    return bool(database) and ":memory:" not in database and url.query.get("mode") != "memory"


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, durability, foreign keys; BEGIN IMMEDIATE for writers so they queue instead of failing."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _inline_writer(url: str, engine_options: dict[str, Any]) -> AsyncEngine:
    """The engine of SQLite's write transactions: statements on the loop's thread (``_sqlite_inline``).

    Its connections apply ``_SQLITE_PRAGMAS`` as they open; every transaction is BEGIN IMMEDIATE.
    """
    module = InlineDBAPI(_SQLITE_PRAGMAS, busy_seconds=SQLITE_BUSY_SECONDS)
    engine = create_async_engine(url, module=module, **engine_options)
    # The dialect's own begin (pysqlite's does nothing): straight to the driver, no statement
    # machinery, and its errors translated as any statement's are.
    engine.sync_engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]
    return engine


def _begin_immediate(dbapi_connection: Any) -> None:
    dbapi_connection.begin_immediate()


def _one_trip_ping(dbapi_connection: Any) -> bool:
    """The pool's pre-ping of an idle asyncpg connection in one round trip (``;``).

    SQLAlchemy's own wraps the ``;`` in BEGIN … ROLLBACK (for pgbouncer's transaction mode):
    three round trips before the first statement of every session, a third of a single write's.
    A dead connection still fails the ping, and the pool replaces it (``test_database``).
    """
    try:
        await_(dbapi_connection._connection.fetchrow(";"))
    except Exception as error:
        dbapi_connection._handle_exception(error)
    return True


# A pooled connection returned this recently is not pinged when it is checked out again.
RECENT_SECONDS = 1.0
_IDLE_SINCE = "idnode_idle_since"


def _ping_unless_recent(engine: AsyncEngine) -> None:
    """The pool's pre-ping, skipped for a connection back in the pool less than
    ``RECENT_SECONDS`` ago whose socket asyncpg has not seen closed.

    Under steady writes every session starts on a connection used a moment ago: the ping
    (``_one_trip_ping``) would be one round trip in five of a single write. A connection that
    dies within that second (the server restarts, an administrator ends it) fails its next
    statement instead, which the callers see as ``Unavailable`` (503, retry), never a 500; a
    connection asyncpg already saw closed (the server's goodbye arrived) is pinged and replaced.
    """

    def alive(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        recent = since is not None and time.monotonic() - since < RECENT_SECONDS
        if recent and not dbapi_connection._connection.is_closed():
            return
        try:
            _one_trip_ping(dbapi_connection)
        except Exception as error:
            # The pool replaces the connection (and tries the checkout again).
            raise DisconnectionError(f"pre-ping failed: {error!r}") from error

    event.listen(engine.sync_engine, "connect", alive)
    event.listen(engine.sync_engine, "checkin", alive)
    event.listen(engine.sync_engine, "checkout", checkout)


class Database:
    """Owns the engine and hands out read and write units of work."""

    def __init__(
        self,
        url: str,
        *,
        connect_timeout: float = 5.0,
        statement_timeout: float = 15.0,
        **engine_options: Any,
    ) -> None:
        """On PostgreSQL, a hung server fails a request as ``Unavailable`` within the timeouts."""
        parsed = make_url(url)
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        # asyncpg's own timeouts: connecting, and every statement (pre-ping and rollback too).
        bounded: dict[str, Any] = {
            "connect_args": {"timeout": connect_timeout, "command_timeout": statement_timeout},
            "pool_timeout": statement_timeout,
        }
        asyncpg = not self.is_sqlite and parsed.get_driver_name() == "asyncpg"
        pre_ping = False
        if not self.is_sqlite:
            engine_options.setdefault("pool_size", 10)
            engine_options.setdefault("max_overflow", 10)
            engine_options.setdefault("pool_pre_ping", True)
            engine_options = {**bounded, **engine_options}
            if asyncpg:
                # Pinged on checkout by ``_ping_unless_recent`` instead.
                pre_ping, engine_options["pool_pre_ping"] = engine_options["pool_pre_ping"], False
        self.engine = create_async_engine(url, **engine_options)
        if pre_ping:
            _ping_unless_recent(self.engine)
        # SQLite's writes run their statements on the loop's thread (``_sqlite_inline``).
        self._inline: AsyncEngine | None = None
        writer: AsyncEngine = self.engine
        if self.is_sqlite:
            _prepare_sqlite(self.engine)
            if parsed.get_driver_name() == "aiosqlite" and _on_disk(parsed):
                writer = self._inline = _inline_writer(url, engine_options)
            else:
                writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        # A lone new record on a SQLite file: straight on sqlite3 (``_sqlite_direct``).
        self._sqlite_direct = (
            SqliteDirect(parsed.database, _SQLITE_PRAGMAS, busy_seconds=SQLITE_BUSY_SECONDS)
            if self._inline is not None and parsed.database
            else None
        )
        # The engine write transactions run on (its events see every write's statements).
        self.write_engine: AsyncEngine = self._inline or self.engine
        self._reader = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writer = async_sessionmaker(writer, expire_on_commit=False)
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        # The resolution read path: one statement, no transaction (no BEGIN/ROLLBACK round
        # trips) and no pre-ping (three more); a dead pooled connection is retried in lookup().
        self._lookup = (
            self.engine
            if self.is_sqlite
            else create_async_engine(
                # Callers queue for a pooled connection rather than open and close overflow ones.
                url,
                pool_size=16,
                max_overflow=0,
                pool_pre_ping=False,
                isolation_level="AUTOCOMMIT",
                **bounded,
            )
        )
        # On PostgreSQL the resolution read skips SQLAlchemy altogether (``direct``).
        self._direct = (
            None
            if self.is_sqlite
            else PgDirect(url, connect_timeout=connect_timeout, statement_timeout=statement_timeout)
        )

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; storage outages become ``Unavailable``."""
        with _outages_unavailable():
            async with self._reader() as session:
                yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises.

        On a SQLite file its statements run on the loop's thread and its COMMIT on a worker
        (``_sqlite_inline``); a long transaction moves to the worker after ``INLINE_BUDGET``.
        """
        async with self._writer_turn():
            with _outages_unavailable():
                async with self._writer() as session, session.begin():
                    yield session

    @asynccontextmanager
    async def _writer_turn(self) -> AsyncIterator[None]:
        """On SQLite, this process's writers queue here rather than in SQLite's busy handler.

        SQLite takes one writer at a time; one kept waiting by ``BEGIN IMMEDIATE`` sleeps and
        polls (1, 2, 5, 10 … 100 ms), so it starts up to tens of milliseconds after the lock is
        free. Queued on a lock, the next writer starts as the last one commits. Writers in other
        processes (commands, more workers) still meet in SQLite's busy handler.
        """
        if not self.is_sqlite:
            yield
            return
        lock = self._write_lock()
        try:
            async with asyncio.timeout(SQLITE_BUSY_SECONDS):
                await lock.acquire()
        except TimeoutError:
            raise Unavailable(
                f"storage is busy: no write turn within {SQLITE_BUSY_SECONDS} s"
            ) from None
        try:
            yield
        finally:
            lock.release()

    def _write_lock(self) -> asyncio.Lock:
        """This event loop's writer lock (SQLite)."""
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    async def lookup(self, read: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """``await read(connection)`` on a bare connection: the resolution path's one-statement reads.

        A pooled connection found dead (the server restarted) is replaced and the read retried once.
        """
        for attempt in (1, 2):
            try:
                with _outages_unavailable():
                    async with self._lookup.connect() as connection:
                        return await read(connection)
            except Unavailable as exc:
                cause = exc.__cause__
                stale = isinstance(cause, DBAPIError) and cause.connection_invalidated
                if attempt == 2 or not stale:
                    raise
        raise AssertionError("unreachable")

    async def values_text(self, handle: str) -> str | None:
        """The JSON text of a record's values, or ``None``: the resolution read."""
        if self._direct is not None:
            return await self._direct.values_text(handle)
        return await self.lookup(lambda connection: Records(connection).get_values_text(handle))

    async def values_texts(self, handles: Sequence[str]) -> dict[str, str]:
        """The JSON text of the values of each of ``handles`` that exists: one statement."""
        if self._direct is not None:
            return await self._direct.values_texts(handles)
        return await self.lookup(lambda connection: Records(connection).get_values_texts(handles))

    async def insert_alone(self, record: NewRecord) -> tuple[bool, bool] | None:
        """``record`` inserted as a short transaction of its own, straight on the driver, where
        storage offers that: ``(inserted, a quota may apply)``, committed when this returns.

        PostgreSQL: one statement (``PgDirect.insert_new``), which under load carries the
        other new records of the same moment. A SQLite file: only while no other writer of this
        process is at work (``SqliteDirect.insert_new``, holding the write turn); with others,
        ``None``, so that the write shares their COMMIT. ``None`` elsewhere too (nothing
        written)."""
        if self._direct is not None:
            return await self._direct.insert_new(record)
        if self._sqlite_direct is None or self._write_lock().locked():
            return None
        async with self._writer_turn():
            return await self._sqlite_direct.insert_new(record)

    def single_insert_counts(self) -> dict[str, int] | None:
        """PostgreSQL's statements of new single records so far (``statements``), the records
        they carried (``records``) and those that stalled on a row held elsewhere (``stalls``);
        ``None`` on SQLite, where there are none."""
        if self._direct is None:
            return None
        inserts = self._direct.inserts
        return {
            "statements": inserts.statements,
            "records": inserts.items,
            "stalls": inserts.stalls,
        }

    async def ping(self) -> None:
        """Raise ``Unavailable`` unless storage answers a trivial query."""
        async with self.read() as session:
            await session.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._direct is not None:
            await self._direct.close()
        await self.engine.dispose()
        if self._inline is not None:
            await self._inline.dispose()
        if self._sqlite_direct is not None:
            await self._sqlite_direct.close()
        if self._lookup is not self.engine:
            await self._lookup.dispose()


@contextmanager
def _outages_unavailable() -> Iterator[None]:
    """Translate a storage outage into ``Unavailable``; other database errors pass through."""
    try:
        yield
    except PoolTimeout as exc:
        raise Unavailable("storage is unavailable: no free connection in time") from exc
    except (OSError, DBAPIError) as exc:
        if isinstance(exc, DBAPIError) and not (exc.connection_invalidated or _is_outage(exc)):
            raise
        state = getattr(getattr(exc, "orig", None), "sqlstate", None)
        if state in _RETRYABLE_SQLSTATES:
            raise Unavailable(
                f"storage is busy: the transaction was aborted by a conflicting one "
                f"(SQLSTATE {state}); retry"
            ) from exc
        raise Unavailable(f"storage is unavailable: {type(exc).__name__}") from exc


# SQLSTATEs of a transaction PostgreSQL aborted for others' sake, which a retry may pass:
# serialization_failure, deadlock_detected, lock_not_available (a lock or statement timeout).
_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def _is_outage(exc: DBAPIError) -> bool:
    """Connection-level failures (server gone, refused), and transactions aborted to break a
    deadlock or a serialization conflict (a retry may pass), as opposed to a bad statement.

    Group commit holds a batch's row locks across its members, so a batch and a bulk write
    that lock the same handles in crossing order deadlock; PostgreSQL aborts one of them
    (40P01). That caller gets ``Unavailable`` (503 and Retry-After), never a 500.
    """
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    original = getattr(exc, "orig", None)
    if getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    name = type(original).__name__ if original is not None else ""
    return "Connection" in name or "CannotConnectNow" in name or "AdminShutdown" in name
