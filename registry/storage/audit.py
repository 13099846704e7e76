"""The SQL of the audit log: rows are appended and read, never changed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AuditRow

__all__ = ["AuditLog"]

_COLUMNS = (
    "at",
    "actor",
    "role",
    "via",
    "client",
    "request_id",
    "action",
    "target",
    "summary",
)


class AuditLog:
    """Rows of ``audit_log`` over one session: ``append`` and ``find``, nothing else."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (column name to value) in the session's transaction; a batch's by
        binary COPY on PostgreSQL, as its outbox rows."""
        if not rows:
            return
        if len(rows) > 1 and self.session.bind.dialect.name == "postgresql":
            connection = await self.session.connection()
            pg = (await connection.get_raw_connection()).driver_connection
            # COPY on the raw driver only joins a transaction SQLAlchemy has already begun.
            if pg.is_in_transaction():
                records = [tuple(row[name] for name in _COLUMNS) for row in rows]
                await pg.copy_records_to_table("audit_log", records=records, columns=_COLUMNS)
                return
        # Core, not the ORM's bulk path (which costs more per row than the row's write).
        await self.session.execute(insert(AuditRow.__table__), list(rows))

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
