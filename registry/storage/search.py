"""SQL of an enterprise's identifier search: one prefix, filtered, in pages by handle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import RecordRow

__all__ = ["RecordFilter", "RecordSearch"]


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Which records of ``prefix``: a suffix pattern (``*`` any run, ``?`` one character, exact
    case), a template version, and a half-open creation window."""

    prefix: str
    suffix: str | None = None
    template_version: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def _glob(pattern: str) -> str:
    # SQLite's GLOB is case-sensitive (its LIKE is not); only '[' needs quoting in ours.
    return pattern.replace("[", "[[]")


class RecordSearch:
    """Pages of ``records`` rows matching a ``RecordFilter``, ordered by handle (keyset)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _statement(self, where: RecordFilter) -> Select[tuple[RecordRow]]:
        statement = select(RecordRow).where(RecordRow.prefix == where.prefix)
        if where.suffix:
            head = f"{where.prefix}/"
            if self.session.bind.dialect.name == "sqlite":
                statement = statement.where(RecordRow.handle.op("GLOB")(_glob(head + where.suffix)))
            else:
                statement = statement.where(
                    RecordRow.handle.like(_like(head) + _like(where.suffix), escape="\\")
                )
        if where.template_version:
            statement = statement.where(RecordRow.template_version == where.template_version)
        if where.created_from is not None:
            statement = statement.where(RecordRow.created_at >= where.created_from)
        if where.created_before is not None:
            statement = statement.where(RecordRow.created_at < where.created_before)
        return statement

    async def page(self, where: RecordFilter, after: str | None, limit: int) -> list[RecordRow]:
        """Up to ``limit`` rows whose handle sorts after ``after``."""
        statement = self._statement(where)
        if after:
            statement = statement.where(RecordRow.handle > after)
        statement = statement.order_by(RecordRow.handle).limit(limit)
        return list((await self.session.execute(statement)).scalars())
