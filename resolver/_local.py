"""Resolution of handles this node serves, from storage."""

from __future__ import annotations

from registry import Handle, Record, RecordService

__all__ = ["Resolver"]


class Resolver:
    """Answers ``resolve(handle)`` with the stored record, or ``None`` when it is not registered."""

    def __init__(self, records: RecordService) -> None:
        self.records = records

    async def resolve(self, handle: Handle) -> Record | None:
        return await self.records.get(handle)
