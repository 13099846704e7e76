"""Cache invalidation across processes through PostgreSQL LISTEN/NOTIFY.

Each process keeps one asyncpg connection that LISTENs on a channel. The writer's transactions
send their NOTIFY themselves, on their own connection just before their COMMIT (``announce``):
PostgreSQL delivers it at the COMMIT, atomically with the data, never for a rolled-back
transaction, and at no round trip of its own. Their payloads start with this process's
``origin`` line, so the listener skips the NOTIFYs of its own process (which invalidated its
cache itself). Changes made outside the writer are sent over the listening connection
(``publish``). When the connection drops it is re-opened with backoff; notifications sent while
we were not listening are lost, so every (re)connect clears the whole local cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["CHANNEL", "PgInvalidation"]

logger = logging.getLogger("idnode.resolver")

CHANNEL = "idnode_invalidate"
# NOTIFY payloads must stay under 8000 bytes; handles are at most 255 characters each.
MAX_PAYLOAD = 7000
FLUSH_ALL = "*"
PING_SECONDS = 5.0
MAX_BACKOFF = 5.0


def asyncpg_dsn(database_url: str) -> str:
    """A SQLAlchemy ``postgresql+asyncpg://`` URL as a plain libpq DSN for asyncpg."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


# One statement, however many payloads: the NOTIFYs of one write transaction.
_NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
)


def _payloads(handles: Sequence[str], first: str | None = None) -> list[str]:
    """``handles`` one a line in payloads under ``MAX_PAYLOAD``, each led by ``first`` if given."""
    head = [] if first is None else [first]
    base = sum(len(line.encode()) + 1 for line in head)
    chunks: list[str] = []
    current, size = list(head), base
    for handle in handles:
        length = len(handle.encode()) + 1
        if len(current) > len(head) and size + length > MAX_PAYLOAD:
            chunks.append("\n".join(current))
            current, size = list(head), base
        current.append(handle)
        size += length
    if len(current) > len(head):
        chunks.append("\n".join(current))
    return chunks


def _settle(
    waiting: Sequence[tuple[Sequence[str], asyncio.Future[None]]], error: Exception | None
) -> None:
    for _, future in waiting:
        if not future.done():
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


class PgInvalidation:
    """``publish(handles)`` to every listening process; ``on_change(handles | None)`` on receipt."""

    def __init__(
        self,
        database_url: str,
        on_change: Callable[[Sequence[str] | None], None],
        *,
        channel: str = CHANNEL,
    ) -> None:
        self.dsn = asyncpg_dsn(database_url)
        self.on_change = on_change
        self.channel = channel
        # The first line of this process's ``announce`` payloads (a handle never starts with @).
        self.origin = f"@{os.getpid()}.{secrets.token_hex(4)}"
        self.connected = asyncio.Event()
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Publications waiting for the connection: sent together by one flusher task.
        self._waiting: list[tuple[Sequence[str], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def start(self, *, wait: float = 5.0) -> None:
        """Start listening in the background; waits up to ``wait`` seconds for the first connect."""
        self._task = asyncio.create_task(self._run(), name="idnode-invalidation-listener")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await self.connected.wait()

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()

    async def publish(self, handles: Sequence[str]) -> None:
        """NOTIFY the other processes (over a one-off connection while the listener is down).

        Returns once the handles are sent. Writers publishing while a NOTIFY is in flight are
        sent together in the next one: one round trip for all of them, not one each in turn.
        """
        if self._connection is None:
            # Not listening (a CLI command, or the listener is reconnecting): still tell the others.
            await self._notify_once(handles)
            return
        sent: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((handles, sent))
        if self._flusher is None:
            # A task of its own: a publisher that is cancelled strands nobody else's handles.
            self._flusher = asyncio.create_task(self._flush(), name="idnode-invalidation-publish")
        await sent

    async def announce(self, session: AsyncSession, handles: Sequence[str]) -> None:
        """NOTIFY the other processes of ``handles`` within ``session``'s transaction.

        PostgreSQL delivers the notification when that transaction commits, and never if it
        rolls back; one statement whatever the number of payloads (a ``RecordWriter`` announcer).
        """
        payloads = _payloads(handles, self.origin)
        await session.execute(_NOTIFY_ALL, {"channel": self.channel, "payloads": payloads})

    async def _flush(self) -> None:
        batch: list[tuple[Sequence[str], asyncio.Future[None]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                handles = [handle for each, _ in batch for handle in each]
                try:
                    connection = self._connection
                    if connection is None:
                        await self._notify_once(handles)
                    else:
                        async with self._lock:
                            await self._notify(connection, handles)
                except Exception as exc:
                    _settle(batch, exc)
                else:
                    _settle(batch, None)
        finally:
            self._flusher = None
            # Cancelled (closing): nobody waits for ever.
            failed = ConnectionError("the invalidation publisher stopped")
            _settle(batch + self._waiting, failed)
            self._waiting = []

    async def _notify_once(self, handles: Sequence[str]) -> None:
        once = await asyncpg.connect(self.dsn, timeout=5)
        try:
            await self._notify(once, handles)
        finally:
            await once.close()

    async def _notify(self, connection: asyncpg.Connection, handles: Sequence[str]) -> None:
        for payload in _payloads(handles):
            await connection.execute("SELECT pg_notify($1, $2)", self.channel, payload)

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._connect()
                backoff = 0.1
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("invalidation listener lost: %r; reconnecting", exc)
            await self._drop()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _connect(self) -> None:
        connection = await asyncpg.connect(self.dsn, timeout=5)
        self._lost.clear()
        connection.add_termination_listener(lambda _conn: self._lost.set())
        await connection.add_listener(self.channel, self._received)
        self._connection = connection
        # Whatever changed while nobody listened is unknown: start from an empty cache.
        self.on_change(None)
        self.connected.set()

    async def _watch(self) -> None:
        """Return when the connection is lost (closed, or no longer answering a ping)."""
        while True:
            # ``asyncio.timeout``, not ``wait_for``: on Python 3.11 a ``wait_for`` whose wait
            # ended as the task was cancelled dropped the cancellation, and ``close`` waited
            # for ever for a listener that went on pinging.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PING_SECONDS):
                    await self._lost.wait()
            if self._lost.is_set():
                return
            async with self._lock, asyncio.timeout(PING_SECONDS):
                await self._connection.execute("SELECT 1")  # type: ignore[union-attr]

    async def _drop(self) -> None:
        self.connected.clear()
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()

    def _received(self, connection: Any, _pid: int, _channel: str, payload: str) -> None:
        # Our own NOTIFYs come back too; the write already invalidated here, so skip them.
        if connection is self._connection and _pid == connection.get_server_pid():
            return
        if payload == FLUSH_ALL:
            self.on_change(None)
            return
        lines = payload.split("\n")
        if lines[0].startswith("@"):
            if lines[0] == self.origin:
                return  # this process's own write: its cache was invalidated at the commit
            del lines[0]
        self.on_change(lines)
