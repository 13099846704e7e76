"""The resolution read on PostgreSQL: one prepared statement straight on an asyncpg pool.

A cold resolution is one point lookup by primary key. Through SQLAlchemy it also paid a greenlet
switch, a pool checkout with its reset, the compiled-statement cache and result processing, each
time: most of the miss path's cost, measured (issue 19). Here it is the driver alone: asyncpg
keeps the statement prepared per connection, and the pool hands out connections with no
transaction (each lookup is a single autocommitted statement). Outages become ``Unavailable``
(so the resolver can answer stale), and a connection found dead is replaced and the read retried
once, as ``Database.lookup`` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from .._errors import Unavailable

__all__ = ["PgPointReads"]

T = TypeVar("T")

_VALUES_OF = 'SELECT "values" FROM records WHERE handle = $1'
_VALUES_OF_MANY = 'SELECT handle, "values" FROM records WHERE handle = ANY($1::varchar[])'
# What a lost or unreachable server looks like through asyncpg.
_OUTAGES = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
)


async def _no_reset(_connection: asyncpg.Connection) -> None:
    """Nothing to reset between lookups (no transaction, no session state): the default reset
    would be one more round trip per lookup."""


class PgPointReads:
    """``values_text(handle)`` and ``values_texts(handles)`` over a pool opened on first use."""

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

    async def values_text(self, handle: str) -> str | None:
        """The JSON text of a record's values, or ``None`` when it is not registered."""
        return await self._run(lambda connection: connection.fetchval(_VALUES_OF, handle))

    async def values_texts(self, handles: Sequence[str]) -> dict[str, str]:
        """The JSON text of the values of each of ``handles`` that exists: one statement."""
        rows = await self._run(lambda connection: connection.fetch(_VALUES_OF_MANY, list(handles)))
        return {row[0]: row[1] for row in rows}

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _run(self, read: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        for attempt in (1, 2):
            try:
                pool = self._pool or await self._open()
                async with pool.acquire(timeout=self.statement_timeout) as connection:
                    return await read(connection)
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
