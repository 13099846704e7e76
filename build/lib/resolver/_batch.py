"""Local reads gathered into one statement: what many concurrent cache misses cost in all.

A miss that asks for a batched read waits for the next event-loop turn; every miss asked for
by then is read with one ``RecordService.get_many`` (one statement of up to ``max_batch``
handles). At most ``max_running`` statements run at once; while they do, new misses gather,
so batches grow with the load. One read costs a connection checkout and a round trip of
about 200 µs of CPU; a batch of 20 costs about 13 µs per handle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from registry import Handle, Record

__all__ = ["ReadBatcher"]

FetchMany = Callable[[Sequence[Handle]], Awaitable[dict[str, Record]]]


class ReadBatcher:
    """``await batcher.get(handle)`` → the record or ``None``, read together with its neighbours."""

    def __init__(self, fetch_many: FetchMany, *, max_batch: int = 64, max_running: int = 4) -> None:
        self.fetch_many = fetch_many
        self.max_batch = max_batch
        self.max_running = max_running
        self.statements = 0
        self._waiting: list[tuple[Handle, asyncio.Future[Record | None]]] = []
        self._running = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, handle: Handle) -> Record | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Record | None] = loop.create_future()
        self._waiting.append((handle, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        while self._waiting and self._running < self.max_running:
            batch = self._waiting[: self.max_batch]
            del self._waiting[: self.max_batch]
            self._running += 1
            task = asyncio.ensure_future(self._read(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _read(self, batch: list[tuple[Handle, asyncio.Future[Record | None]]]) -> None:
        try:
            self.statements += 1
            found = await self.fetch_many([handle for handle, _ in batch])
        except BaseException as exc:  # every waiter gets the failure (Unavailable, cancellation)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for handle, future in batch:
                if not future.done():
                    future.set_result(found.get(str(handle)))
        finally:
            self._running -= 1
            if self._waiting:
                self._flush()
