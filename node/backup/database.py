"""The database's rows, table by table, as JSON lines: every table the schema has, reflected.

Tables are found in the database itself, not in a list kept here, so a table a later migration
adds is backed up and restored without a change to this module. A row is a JSON array in the
order of its table's columns; values JSON lacks are tagged objects (``{"$bytes": base64}``).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, Table, func, select, text
from sqlalchemy.engine import Connection

from registry import InvalidInput
from registry.storage import Base, Database

from .archive import BackupReader, BackupWriter

__all__ = ["dump_database", "load_database", "node_is_empty"]

_ALEMBIC = "alembic_version"
_BATCH = 1000


def _tables(connection: Connection) -> list[Table]:
    """The schema's tables, parents before children, each typed as the models type it if known."""
    reflected = MetaData()
    reflected.reflect(connection)
    tables = []
    for table in reflected.sorted_tables:
        if table.name == _ALEMBIC:
            continue
        model = Base.metadata.tables.get(table.name)
        known = model is not None and set(model.c.keys()) == set(table.c.keys())
        tables.append(model if known and model is not None else table)
    return tables


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, time):
        return {"$time": value.isoformat()}
    if isinstance(value, timedelta):
        return {"$seconds": value.total_seconds()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, dict | list):
        return {"$json": value}  # a JSON column: kept apart from the tags
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


_DECODERS = {
    "$bytes": base64.b64decode,
    "$datetime": datetime.fromisoformat,
    "$date": date.fromisoformat,
    "$time": time.fromisoformat,
    "$seconds": lambda s: timedelta(seconds=s),
    "$decimal": Decimal,
    "$json": lambda v: v,
}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        ((tag, inner),) = value.items()
        return _DECODERS[tag](inner)
    return value


async def dump_database(db: Database, writer: BackupWriter) -> dict[str, dict[str, Any]]:
    """Write every table's rows as ``db/<table>.jsonl``, all read in one snapshot.

    Returns each table's columns and row count, for the manifest.
    """
    options: dict[str, Any] = {} if db.is_sqlite else {"isolation_level": "REPEATABLE READ"}
    async with db.engine.connect() as connection:
        connection = await connection.execution_options(**options)
        async with connection.begin():
            tables = await connection.run_sync(_tables)
            summary = {}
            for table in tables:
                rows = 0
                columns = list(table.c.keys())
                with writer.member(f"db/{table.name}.jsonl") as out:
                    order = list(table.primary_key.columns) or list(table.c)
                    result = await connection.stream(select(table).order_by(*order))
                    async for partition in result.partitions(_BATCH):
                        lines = [
                            json.dumps([_encode(v) for v in row], ensure_ascii=False) + "\n"
                            for row in partition
                        ]
                        out.write("".join(lines).encode())
                        rows += len(partition)
                summary[table.name] = {"columns": columns, "rows": rows}
    return summary


async def node_is_empty(db: Database) -> list[str]:
    """The tables that hold rows (none: the node is empty, or has no schema yet)."""
    async with db.engine.connect() as connection:
        tables = await connection.run_sync(_tables)
        full = []
        for table in tables:
            count = await connection.scalar(select(func.count()).select_from(table))
            if count:
                full.append(table.name)
    return full


async def load_database(db: Database, reader: BackupReader) -> dict[str, int]:
    """Insert the archive's rows into the (migrated, empty) database; the rows per table."""
    wanted = reader.manifest.tables
    loaded: dict[str, int] = {}
    async with db.engine.begin() as connection:
        tables = {t.name: t for t in await connection.run_sync(_tables)}
        if missing := sorted(set(wanted) - set(tables)):
            raise InvalidInput(f"the database has no table {missing[0]}, which the backup holds")
        for name, table in tables.items():
            if name not in wanted:
                continue
            columns = [str(c) for c in wanted[name]["columns"]]
            if unknown := [c for c in columns if c not in table.c]:
                raise InvalidInput(f"the table {name} has no column {unknown[0]}")
            count = 0
            for batch in _batches(reader, f"db/{name}.jsonl", columns):
                await connection.execute(table.insert(), batch)
                count += len(batch)
            loaded[name] = count
        if not db.is_sqlite:
            for table in tables.values():
                await _advance_sequences(connection, table)
    return loaded


def _batches(reader: BackupReader, member: str, columns: list[str]) -> Iterator[list[dict]]:
    batch: list[dict[str, Any]] = []
    for line in reader.lines(member):
        values = json.loads(line)
        batch.append({c: _decode(v) for c, v in zip(columns, values, strict=True)})
        if len(batch) == _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _advance_sequences(connection: Any, table: Table) -> None:
    """PostgreSQL: move each serial column's sequence past the ids restored."""
    for column in table.primary_key.columns:
        if not column.autoincrement or column.type.python_type is not int:
            continue
        await connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column),"
                f' coalesce(max("{column.name}"), 1), max("{column.name}") IS NOT NULL)'
                f' FROM "{table.name}"'
            ),
            {"table": f'"{table.name}"', "column": column.name},
        )
