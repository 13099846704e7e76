"""SQL of the SNMS paths: metadata templates, and records written in batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ._models import RecordRow, TemplateRow

__all__ = ["BulkRecords", "Templates"]


class Templates:
    """Rows of ``templates``: one per (prefix, version), the template as JSON text."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, prefix: str, version: str) -> TemplateRow | None:
        statement = select(TemplateRow).where(
            TemplateRow.prefix == prefix, TemplateRow.version == version
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def of_prefix(self, prefix: str) -> list[TemplateRow]:
        statement = (
            select(TemplateRow).where(TemplateRow.prefix == prefix).order_by(TemplateRow.version)
        )
        return list((await self.session.execute(statement)).scalars())

    async def insert(self, prefix: str, version: str, body: str, now: datetime) -> None:
        self.session.add(
            TemplateRow(prefix=prefix, version=version, body=body, created_at=now, updated_at=now)
        )
        await self.session.flush()

    async def update(self, prefix: str, version: str, body: str, now: datetime) -> bool:
        result = await self.session.execute(
            update(TemplateRow)
            .where(TemplateRow.prefix == prefix, TemplateRow.version == version)
            .values(body=body, updated_at=now)
        )
        return result.rowcount > 0

    async def delete(self, prefix: str, version: str) -> bool:
        result = await self.session.execute(
            delete(TemplateRow).where(TemplateRow.prefix == prefix, TemplateRow.version == version)
        )
        return result.rowcount > 0

    async def in_use(self, prefix: str, version: str) -> bool:
        """True while a record of ``prefix`` is registered against the template ``version``."""
        statement = select(
            exists().where(RecordRow.prefix == prefix, RecordRow.template_version == version)
        )
        return bool(await self.session.scalar(statement))


class BulkRecords:
    """Many records in one statement each: the driver's executemany paths, never row by row."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_new(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """Insert the rows whose handle is free (``ON CONFLICT DO NOTHING``); the handles inserted."""
        if not rows:
            return set()
        dialect = sqlite if self.session.bind.dialect.name == "sqlite" else postgresql
        table = RecordRow.__table__
        # Core, not the ORM's bulk path: the rows go straight to insertmanyvalues.
        statement = (
            dialect.insert(table)
            .on_conflict_do_nothing(index_elements=[table.c.handle])
            .returning(table.c.handle)
        )
        result = await self.session.execute(statement, list(rows))
        return set(result.scalars())

    async def lock_existing(self, handles: Sequence[str]) -> dict[str, str | None]:
        """The template version of each handle that exists, its row locked until commit."""
        if not handles:
            return {}
        statement = (
            select(RecordRow.handle, RecordRow.template_version)
            .where(RecordRow.handle.in_(handles))
            .with_for_update()
        )
        return {handle: version for handle, version in await self.session.execute(statement)}

    async def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Rows keyed by ``handle`` with new ``values``, ``template_version`` and ``updated_at``."""
        if rows:
            await self.session.execute(update(RecordRow), list(rows))

    async def delete_many(self, handles: Sequence[str]) -> set[str]:
        """Delete the handles that exist; the handles deleted."""
        if not handles:
            return set()
        result = await self.session.execute(
            delete(RecordRow).where(RecordRow.handle.in_(handles)).returning(RecordRow.handle)
        )
        return set(result.scalars())
