"""Sealing batches in worker processes, so signatures use a core the event loop does not.

One P-256 signature costs about as much CPU as everything else a batch registration does for a
record; made in the request's process it halves the rate one process registers at. A
``SealingPool`` hands a batch, split evenly, to processes that each run the node's ``RecordSigner``
(it pickles; see there) on the records' stored text, and get back each record's sealed text, or
the ``NodeError`` that refused it. A pool whose process died is replaced and the batch is sealed
in the caller instead: a crashed signer never fails a write.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, TypeVar, runtime_checkable

from .._errors import NodeError
from .._grammar import Handle
from .._values import HandleValue, encode_values
from .signer import RecordSigner

__all__ = [
    "BatchSealer",
    "SealItems",
    "Sealer",
    "SealingPool",
    "each_or_refusal",
    "seal_each",
    "seal_in_process",
]

logger = logging.getLogger("idnode.sealing")

# Called on every write path with the values about to be stored; returns what is stored
# (the trust layer adds or refreshes signatures here; what it returns is stored in the write's
# transaction, so a record and its signature commit together).
Sealer = Callable[[Handle, list[HandleValue]], list[HandleValue]]
# A batch's records to seal: each handle with the values about to be stored.
SealItems = Sequence[tuple[Handle, list[HandleValue]]]

A = TypeVar("A")
B = TypeVar("B")

# Below this many records a batch is sealed in the caller: a round trip to a process costs
# more than a few signatures.
MIN_POOLED_ITEMS = 16
PARENT_CHECK_SECONDS = 0.5


class SealingPool:
    """Processes that seal batches; they start with the first batch large enough to need them.

    Not at start-up: a spawned process imports the ``idnode`` command's module and this package
    (about 0.2 s of CPU; no database layer, no web stack), which most short-lived uses (commands,
    tests) would pay for nothing.
    """

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a sealing pool needs at least one process")
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        """Whether the processes have been started (by a batch large enough to need them)."""
        return self._executor is not None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.processes,
                # spawn: a fork of a process running an event loop and threads is not safe.
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
        return self._executor

    async def seal(self, signer: RecordSigner, items: SealItems) -> list[str | NodeError]:
        """Each item's stored text sealed by ``signer``, or the error that refused it, in order."""
        if len(items) < MIN_POOLED_ITEMS:
            return seal_in_process(signer, items)
        loop = asyncio.get_running_loop()
        pool = self._pool()
        jobs: list[asyncio.Future[list[str | NodeError]]] = []
        broken = False
        try:
            # One job per process: each hand-over between threads and processes costs the event
            # loop's core more than a smaller job would save.
            size = -(-len(items) // self.processes)
            for start in range(0, len(items), size):
                chunk = _stored(items[start : start + size])
                jobs.append(loop.run_in_executor(pool, _seal_chunk, signer, chunk))
        except BrokenProcessPool:
            broken = True
        # Every job awaited, even after a failure, so none is left with an unread exception.
        parts = await asyncio.gather(*jobs, return_exceptions=True)
        if broken or any(isinstance(part, BrokenProcessPool) for part in parts):
            logger.warning("a sealing process died; restarting the pool, sealing this batch here")
            self._replace(pool)
            return seal_in_process(signer, items)
        for part in parts:
            if isinstance(part, BaseException):
                raise part
        return [result for part in parts for result in part]  # type: ignore[union-attr]

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is broken:
            self._executor = None
        broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the processes (each finishes the chunk it holds)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def seal_in_process(signer: RecordSigner, items: SealItems) -> list[str | NodeError]:
    """A batch sealed here as a sealing process seals it: each record on its stored form."""
    return _seal_chunk(signer, _stored(items))


def _stored(items: SealItems) -> list[tuple[str, str]]:
    return [(str(handle), encode_values(values)) for handle, values in items]


def _start_worker(parent: int) -> None:
    # Ctrl-C reaches the whole process group; the node, not its helpers, decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The modules imported so far live as long as the process: keep full collections off them.
    gc.freeze()
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    # A node killed outright (SIGKILL, OOM) cannot stop its pool: the orphan notices and goes.
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _seal_chunk(signer: RecordSigner, chunk: Sequence[tuple[str, str]]) -> list[str | NodeError]:
    return each_or_refusal(signer.seal_stored, chunk)


@runtime_checkable
class BatchSealer(Protocol):
    """A sealer that also seals a whole batch at once (the trust layer, over its process pool)."""

    def __call__(self, handle: Handle, values: list[HandleValue]) -> list[HandleValue]: ...

    async def seal_many(self, items: SealItems) -> list[str | NodeError]: ...


def each_or_refusal(
    work: Callable[[A, B], str], items: Iterable[tuple[A, B]]
) -> list[str | NodeError]:
    """``work(*item)`` for each item, or the ``NodeError`` that refused the item."""
    results: list[str | NodeError] = []
    for first, second in items:
        try:
            results.append(work(first, second))
        except NodeError as exc:
            results.append(exc)
    return results


def seal_each(sealer: Sealer, items: SealItems) -> list[str | NodeError]:
    """Each item's sealed values as stored text, or the ``NodeError`` that refused the item."""
    return each_or_refusal(lambda handle, values: encode_values(sealer(handle, values)), items)
