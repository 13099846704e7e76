"""SQL of the SNMS paths: metadata templates, and records written in batches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, exists, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from .models import RecordRow, TemplateRow
from .repository import Outbox

__all__ = ["BulkRecords", "Templates"]

_STAGING = "records_staging"
_COPY_COLUMNS = ("handle", "prefix", "values", "template_version", "created_at", "updated_at")
_QUOTED = ", ".join(f'"{name}"' for name in _COPY_COLUMNS)
# Temporary and emptied at every commit: each connection stages its own batches.
_STAGING_DDL = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (LIKE records INCLUDING DEFAULTS)"
    " ON COMMIT DELETE ROWS"
)
_OUTBOX_COLUMNS = ("kind", "subject", "payload", "created_at")
_STAGED_INSERT = (
    f"INSERT INTO records ({_QUOTED}) SELECT {_QUOTED} FROM {_STAGING}"
    " ON CONFLICT (handle) DO NOTHING RETURNING handle"
)

# Built once: a single SNMS registration reads its template with it.
_TEMPLATE_BODY = select(TemplateRow.body).where(
    TemplateRow.prefix == bindparam("prefix"), TemplateRow.version == bindparam("version")
)


class Templates:
    """Rows of ``templates``: one per (prefix, version), the template as JSON text."""

    def __init__(self, session: AsyncSession | AsyncConnection) -> None:
        self.session = session

    async def get(self, prefix: str, version: str) -> TemplateRow | None:
        statement = select(TemplateRow).where(
            TemplateRow.prefix == prefix, TemplateRow.version == version
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get_body(self, prefix: str, version: str) -> str | None:
        """The JSON text of a template, or None; one statement (``Database.lookup`` runs it)."""
        result = await self.session.execute(_TEMPLATE_BODY, {"prefix": prefix, "version": version})
        return result.scalar_one_or_none()

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
        if self.session.bind.dialect.name == "postgresql":
            return await self._copy_new(rows)
        table = RecordRow.__table__
        # Core, not the ORM's bulk path: the rows go straight to insertmanyvalues.
        statement = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=[table.c.handle])
            .returning(table.c.handle)
        )
        result = await self.session.execute(statement, list(rows))
        return set(result.scalars())

    async def _copy_new(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """PostgreSQL: binary COPY into a session-local staging table, then one INSERT … SELECT."""
        # Through SQLAlchemy first: that opens the transaction the raw driver calls then join.
        await self.session.execute(text(_STAGING_DDL))
        connection = await self.session.connection()
        pg = (await connection.get_raw_connection()).driver_connection
        await pg.copy_records_to_table(
            _STAGING,
            records=[tuple(row[name] for name in _COPY_COLUMNS) for row in rows],
            columns=_COPY_COLUMNS,
        )
        inserted = await pg.fetch(_STAGED_INSERT)
        return {record[0] for record in inserted}

    async def append_outbox(self, changes: Iterable[tuple[str, str, Any]], now: datetime) -> None:
        """Outbox rows for a batch's changes, in its transaction: binary COPY on PostgreSQL."""
        if self.session.bind.dialect.name != "postgresql":
            await Outbox(self.session).append_many(changes, now)
            return
        rows = [
            (kind, subject, orjson.dumps(payload).decode(), now)
            for kind, subject, payload in changes
        ]
        if not rows:
            return
        connection = await self.session.connection()
        pg = (await connection.get_raw_connection()).driver_connection
        if not pg.is_in_transaction():
            # COPY on the raw driver only joins a transaction SQLAlchemy has already begun.
            await Outbox(self.session).append_many(
                ((kind, subject, orjson.Fragment(payload)) for kind, subject, payload, _ in rows),
                now,
            )
            return
        await pg.copy_records_to_table("outbox", records=rows, columns=_OUTBOX_COLUMNS)

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
