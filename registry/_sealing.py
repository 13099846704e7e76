"""Sealing the records of a batch in worker threads.

Signing is the sealer's main cost, and the JOSE library's signature (OpenSSL, through
``cryptography``) releases the GIL while it works. So a batch's records are sealed in a few
threads at once: the signatures of one part overlap the Python work of another, and the event
loop stays free to read the next request meanwhile. Callers still await this inside their write
transaction, so every stored value is sealed as ``RecordService.seal`` promises.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence

from ._errors import NodeError
from ._grammar import Handle
from ._records import RecordService
from ._values import HandleValue

__all__ = ["seal_many"]

# Below this, handing work to threads costs more than it saves.
_PARALLEL_FROM = 64
_THREADS = max(2, min(4, os.cpu_count() or 2))

Item = tuple[Handle, Sequence[HandleValue]]
Sealed = list[HandleValue] | NodeError


def _seal_part(records: RecordService, items: Sequence[Item]) -> list[Sealed]:
    sealed: list[Sealed] = []
    for handle, values in items:
        try:
            sealed.append(records.seal(handle, values))
        except NodeError as exc:
            sealed.append(exc)
    return sealed


async def seal_many(records: RecordService, items: Sequence[Item]) -> list[Sealed]:
    """``records.seal`` of each item, in order; an item the sealer refuses gets its NodeError."""
    if len(items) < _PARALLEL_FROM or not records.has_sealers:
        return _seal_part(records, items)
    size = -(-len(items) // _THREADS)
    parts = [items[i : i + size] for i in range(0, len(items), size)]
    done = await asyncio.gather(*(asyncio.to_thread(_seal_part, records, part) for part in parts))
    return [sealed for part in done for sealed in part]
