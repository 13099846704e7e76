"""The SQL of the audit log: rows are appended and read, never changed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AuditRow

__all__ = ["AuditLog"]


class AuditLog:
    """Rows of ``audit_log`` over one session: ``append`` and ``find``, nothing else."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (column name to value) in the session's transaction."""
        if rows:
            await self.session.execute(insert(AuditRow), list(rows))

    async def find(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> list[AuditRow]:
        """Newest first: rows at or after ``since``, before ``until``, of ``actor`` and
        ``action`` exactly, whose target starts with ``target``, with an id below ``before``."""
        statement = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if since is not None:
            statement = statement.where(AuditRow.at >= since)
        if until is not None:
            statement = statement.where(AuditRow.at < until)
        if actor is not None:
            statement = statement.where(AuditRow.actor == actor)
        if action is not None:
            statement = statement.where(AuditRow.action == action)
        if target:
            # substr, not LIKE: SQLite's LIKE ignores case, and a suffix's case matters.
            statement = statement.where(func.substr(AuditRow.target, 1, len(target)) == target)
        if before is not None:
            statement = statement.where(AuditRow.id < before)
        return list((await self.session.execute(statement)).scalars())
