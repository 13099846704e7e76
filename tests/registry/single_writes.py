"""Support for the single-write tests: a record for the direct paths, a node with quotas, new
handles held by a transaction not yet committed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction

from registry import (
    EnterpriseService,
    Prefix,
    QuotaService,
    RateCounters,
    RecordService,
    open_storage,
)
from registry.storage import Database
from registry.storage.direct import NewRecord


def new_record(handle: str, **extra: Any) -> NewRecord:
    """A ``NewRecord`` of ``handle`` (now, one value, its outbox row); ``extra`` as named."""
    return NewRecord(
        handle,
        handle.split("/")[0],
        '[{"index":1}]',
        extra.pop("template_version", None),
        extra.pop("now", datetime.now(UTC)),
        extra.pop("kind", "handle.upsert"),
        f'{{"handle":"{handle}"}}',
        **extra,
    )


async def quota_node(db: Database) -> tuple[RecordService, QuotaService, int]:
    """Records whose writer checks quotas, and the id of enterprise Acme (prefix 88.118.9)."""
    records = RecordService(db)
    quotas = QuotaService(db, RateCounters(open_storage("memory://")))
    records.writer.quota_check = quotas.check_new_records
    enterprises = EnterpriseService(db, records, Prefix.parse("88.118"))
    enterprises.quotas = quotas
    acme, _ = await enterprises.create("Acme", "88.118.9")
    return records, quotas, acme.id


async def holding(connection: asyncpg.Connection, *handles: str) -> Transaction:
    """A transaction on ``connection`` that inserted ``handles`` and has not committed (an
    import under way): an insert of one of them elsewhere waits on it until it ends."""
    held = connection.transaction()
    await held.start()
    for handle in handles:
        await connection.execute(
            'INSERT INTO records (handle, prefix, "values", created_at, updated_at)'
            " VALUES ($1, $2, '[]', now(), now())",
            handle,
            handle.split("/")[0],
        )
    return held
