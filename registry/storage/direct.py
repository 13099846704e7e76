"""The hottest statements on PostgreSQL, each one prepared statement straight on an asyncpg pool.

A cold resolution is one point lookup by primary key; a single registration is one new record
with its outbox row. Through SQLAlchemy each also paid a greenlet switch, a pool checkout with
its reset, the compiled-statement cache and result processing, and the registration a BEGIN and
a COMMIT round trip of its own: most of their cost, measured (issue 19). Here it is the driver
alone: asyncpg keeps the statements prepared per connection, and the pool hands out connections
with no transaction, so each statement is a transaction of its own, committed (durably) when its
answer arrives. Under load, new records of the same moment go in as one statement
(``StatementBatcher``): one round trip, one commit and one WAL flush for all of them, each told
its own outcome; a statement the server refuses is run again one record at a time, so a bad
record fails alone. Inserts hold at most ``size - READ_RESERVE`` of the pool's connections: a
flood of them waiting on rows another transaction holds (an import not yet committed, a client
retrying the same handle) leaves cold reads theirs. Outages become
``Unavailable`` (so the resolver can answer stale); a connection found dead is replaced and a read
retried once, as ``Database.lookup`` does (never a write: it may have committed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from .._errors import Unavailable
from ._statement_batch import StatementBatcher

__all__ = ["NewRecord", "PgDirect"]

T = TypeVar("T")

# Connections of the pool that inserts never take, so reads always have some.
READ_RESERVE = 4

_VALUES_OF = 'SELECT "values" FROM records WHERE handle = $1'
_VALUES_OF_MANY = 'SELECT handle, "values" FROM records WHERE handle = ANY($1::varchar[])'

# One new record and its outbox row: one statement, so one transaction. Nothing is written when
# the handle exists, when a quota may apply to the prefix's owner (the caller then goes through a
# transaction that checks it under lock) or, guarded ($8), when the template is no longer stored
# as the text the values were checked against. Data-modifying CTEs run once each. No NOTIFY in
# it: PostgreSQL commits the transactions that NOTIFY one at a time (a database-wide lock held
# through the WAL flush), which cost concurrent single writes a third of their rate, measured.
_INSERT_NEW = """
WITH quota AS (
    SELECT EXISTS (
        SELECT 1 FROM quotas AS q JOIN prefixes AS p ON p.enterprise_id = q.enterprise_id
        WHERE p.prefix = $2::varchar
    ) AS applies
), inserted AS (
    INSERT INTO records (handle, prefix, "values", template_version, created_at, updated_at)
    SELECT $1::varchar, $2::varchar, $3::text, $4::varchar, $5::timestamptz, $5::timestamptz
    FROM quota
    WHERE NOT quota.applies AND ($8::text IS NULL OR EXISTS (
        SELECT 1 FROM templates AS t
        WHERE t.prefix = $2::varchar AND t.version = $4::varchar AND t.body = $8::text
    ))
    ON CONFLICT (handle) DO NOTHING
    RETURNING handle
), shipped AS (
    INSERT INTO outbox (kind, subject, payload, created_at)
    SELECT $6::varchar, handle, $7::text, $5::timestamptz FROM inserted
)
SELECT (SELECT count(*) FROM inserted), (SELECT applies FROM quota)
"""
# The same for several new records of distinct handles (the columns of ``NewRecord.parameters``
# as arrays): a row per record, in order, telling whether it went in and whether a quota may
# apply. Inserted in the order given (the caller sorts by handle), so two such statements
# racing for the same new handles wait on each other in one order and never deadlock.
_INSERT_MANY = """
WITH batch AS (
    SELECT * FROM unnest(
        $1::varchar[], $2::varchar[], $3::text[], $4::varchar[], $5::timestamptz[],
        $6::varchar[], $7::text[], $8::text[]
    ) WITH ORDINALITY
    AS b (handle, prefix, vals, template_version, stamp, kind, payload, template_body, n)
), quota AS (
    SELECT b.n, EXISTS (
        SELECT 1 FROM quotas AS q JOIN prefixes AS p ON p.enterprise_id = q.enterprise_id
        WHERE p.prefix = b.prefix
    ) AS applies
    FROM batch AS b
), inserted AS (
    INSERT INTO records (handle, prefix, "values", template_version, created_at, updated_at)
    SELECT b.handle, b.prefix, b.vals, b.template_version, b.stamp, b.stamp
    FROM batch AS b JOIN quota ON quota.n = b.n
    WHERE NOT quota.applies AND (b.template_body IS NULL OR EXISTS (
        SELECT 1 FROM templates AS t
        WHERE t.prefix = b.prefix AND t.version = b.template_version AND t.body = b.template_body
    ))
    ORDER BY b.n
    ON CONFLICT (handle) DO NOTHING
    RETURNING handle
), shipped AS (
    INSERT INTO outbox (kind, subject, payload, created_at)
    SELECT b.kind, inserted.handle, b.payload, b.stamp
    FROM inserted JOIN batch AS b ON b.handle = inserted.handle
    ORDER BY b.n
)
SELECT inserted.handle IS NOT NULL, quota.applies
FROM batch AS b JOIN quota ON quota.n = b.n LEFT JOIN inserted ON inserted.handle = b.handle
ORDER BY b.n
"""
# What a lost or unreachable server looks like through asyncpg.
_OUTAGES = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
    # A connection whose protocol a server-side termination left mid-operation.
    asyncpg.InternalClientError,
)


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Nothing to reset between lookups (no transaction, no session state): the default reset
    would be one more round trip per lookup."""


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record for ``PgDirect.insert_new``: its row and its outbox row."""

    handle: str
    prefix: str
    values: str
    template_version: str | None
    now: datetime
    # The outbox row: its kind and payload text.
    kind: str
    payload: str
    # Insert only while the template is stored as exactly this text.
    template_body: str | None = None

    def parameters(self) -> tuple[object, ...]:
        return (
            self.handle,
            self.prefix,
            self.values,
            self.template_version,
            self.now,
            self.kind,
            self.payload,
            self.template_body,
        )


class PgDirect:
    """``values_text(handle)``, ``values_texts(handles)`` and ``insert_new(record)`` over a pool
    opened on first use."""

    def __init__(
        self,
        url: str,
        *,
        size: int = 16,
        connect_timeout: float = 5.0,
        statement_timeout: float = 15.0,
    ) -> None:
        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.size = size
        self.connect_timeout = connect_timeout
        self.statement_timeout = statement_timeout
        self._pool: asyncpg.Pool | None = None
        self._opening: asyncio.Lock | None = None
        self._insert_slots = asyncio.Semaphore(max(1, size - READ_RESERVE))
        self.inserts: StatementBatcher[NewRecord, tuple[bool, bool]] = StatementBatcher(
            self._insert_many, lambda record: record.handle
        )

    async def values_text(self, handle: str) -> str | None:
        """The JSON text of a record's values, or ``None`` when it is not registered."""
        return await self._run(lambda connection: connection.fetchval(_VALUES_OF, handle))

    async def values_texts(self, handles: Sequence[str]) -> dict[str, str]:
        """The JSON text of the values of each of ``handles`` that exists: one statement."""
        rows = await self._run(lambda connection: connection.fetch(_VALUES_OF_MANY, list(handles)))
        return {row[0]: row[1] for row in rows}

    async def insert_new(self, record: NewRecord) -> tuple[bool, bool]:
        """Insert ``record`` in a transaction committed when this returns (shared with the new
        records of the same moment): ``(inserted, a quota may apply)``. Nothing of it is
        written when either is not ``(True, False)``."""
        return await self.inserts.submit(record)

    async def _insert_many(
        self, records: Sequence[NewRecord]
    ) -> Sequence[tuple[bool, bool] | BaseException]:
        if len(records) == 1:
            return [await self._insert_one(records[0])]
        ordered = sorted(range(len(records)), key=lambda i: records[i].handle)
        rows_in = [records[i].parameters() for i in ordered]
        columns = [list(column) for column in zip(*rows_in, strict=True)]
        try:
            rows = await self._insert(lambda connection: connection.fetch(_INSERT_MANY, *columns))
        except asyncpg.PostgresError:
            # Refused (an outage is ``Unavailable`` by now), so nothing of it was written:
            # each record again on its own, so that only the one at fault fails.
            return await asyncio.gather(
                *(self._insert_one(record) for record in records), return_exceptions=True
            )
        answers: list[tuple[bool, bool]] = [(False, False)] * len(records)
        for i, row in zip(ordered, rows, strict=True):
            answers[i] = (bool(row[0]), bool(row[1]))
        return answers

    async def _insert_one(self, record: NewRecord) -> tuple[bool, bool]:
        row = await self._insert(
            lambda connection: connection.fetchrow(_INSERT_NEW, *record.parameters())
        )
        assert row is not None
        return bool(row[0]), bool(row[1])

    async def _insert(self, use: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """``use`` on a connection of the inserts' share of the pool, never retried (it may
        have committed); waiting for a share longer than a statement may run is ``Unavailable``."""
        slots = self._insert_slots
        if not slots.locked():
            await slots.acquire()  # free: taken at once, with no timer
        else:
            try:
                async with asyncio.timeout(self.statement_timeout):
                    await slots.acquire()
            except TimeoutError:
                raise Unavailable(
                    "storage is busy: every connection for new records is waiting on held rows"
                ) from None
        try:
            return await self._run(use, retry=False)
        finally:
            slots.release()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _run(
        self, use: Callable[[asyncpg.Connection], Awaitable[T]], *, retry: bool = True
    ) -> T:
        for attempt in (1, 2) if retry else (2,):
            try:
                pool = self._pool or await self._open()
                async with pool.acquire(timeout=self.statement_timeout) as connection:
                    return await use(connection)
            except _OUTAGES as exc:
                # A pooled connection the server dropped (a restart) fails its first use:
                # once more, on a fresh one, before calling storage unavailable.
                if attempt == 2:
                    raise Unavailable(f"storage is unavailable: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    async def _open(self) -> asyncpg.Pool:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self.dsn,
                    min_size=0,
                    max_size=self.size,
                    timeout=self.connect_timeout,
                    command_timeout=self.statement_timeout,
                    reset=_no_reset,
                )
            return self._pool
