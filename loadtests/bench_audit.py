"""What the audit log costs a batch deletion, on SQLite and PostgreSQL.

A batch deletion writes one audit entry per deleted identifier in its transaction (a binary COPY
on PostgreSQL, as its outbox rows). In the node's own process, on a fresh migrated database,
this deletes ``--batch`` identifiers at a time through ``BatchService.delete_many``, ``--rounds``
times, and the baseline — the same deletions with the audit write replaced by nothing — in
alternate rounds of the same run; it prints the median milliseconds of each and their ratio.

    .venv/bin/python -m loadtests.bench_audit --backend both --batch 2000 --rounds 10
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson

import registry._writer as writer_module
from loadtests.bench_sign import fresh_postgres
from migrations.runner import upgrade
from registry import ADMIN, BatchService, Handle, HandleValue, RecordService, TemplateService
from registry.storage import Database

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
_VALUES = [HandleValue(1, "URL", "string", "https://example.com/p")]


async def _no_audit(*args: Any, **kwargs: Any) -> None:
    """The baseline's audit write: none."""


@asynccontextmanager
async def _database(backend: str, postgres: str) -> AsyncIterator[str]:
    if backend == "postgresql":
        async with fresh_postgres(postgres) as url:
            yield url
        return
    with tempfile.TemporaryDirectory(prefix="idnode-bench-audit-") as directory:
        yield f"sqlite+aiosqlite:///{Path(directory) / 'bench.db'}"


async def _delete_once(
    records: RecordService, batches: BatchService, stem: str, size: int
) -> float:
    handles = [Handle.parse(f"88.118.1/{stem}-{n}") for n in range(size)]
    stored = orjson.dumps([value.to_json() for value in _VALUES]).decode()
    async with records.writer.transaction() as tx:
        await tx.insert_new([(handle, stored, None) for handle in handles])
    started = time.perf_counter()
    results = await batches.delete_many(ADMIN, handles)
    elapsed = time.perf_counter() - started
    assert not any(results), "every handle of the batch existed"
    return elapsed


async def bench(backend: str, size: int, rounds: int, postgres: str) -> dict[str, Any]:
    """Median seconds of a batch deletion with the audit log, without it, and their ratio."""
    async with _database(backend, postgres) as url:
        db = Database(url)
        try:
            await upgrade(db)
            records = RecordService(db)
            batches = BatchService(db, records, TemplateService(db))
            audited = writer_module.audit_many
            timings: dict[str, list[float]] = {"audited": [], "baseline": []}
            for n in range(rounds * 2):
                leg = "audited" if n % 2 else "baseline"
                writer_module.audit_many = audited if leg == "audited" else _no_audit
                try:
                    timings[leg].append(await _delete_once(records, batches, f"R{n}", size))
                finally:
                    writer_module.audit_many = audited
        finally:
            await db.dispose()
    audited_ms = statistics.median(timings["audited"]) * 1000
    baseline_ms = statistics.median(timings["baseline"]) * 1000
    return {
        "backend": backend,
        "batch": size,
        "rounds": rounds,
        "audited_ms": round(audited_ms, 2),
        "baseline_ms": round(baseline_ms, 2),
        "ratio": round(audited_ms / baseline_ms, 3) if baseline_ms else None,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench_audit", description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--batch", type=int, default=2000, help="identifiers per deletion")
    parser.add_argument("--rounds", type=int, default=10, help="deletions per leg")
    parser.add_argument("--postgres", default=POSTGRES, help="a PostgreSQL server to use")
    parser.add_argument("--json", action="store_true", help="one JSON object per backend")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        result = asyncio.run(bench(backend, args.batch, args.rounds, args.postgres))
        if args.json:
            print(orjson.dumps(result).decode())
        else:
            print(
                f"{backend}: batch deletion of {result['batch']}: {result['audited_ms']} ms with"
                f" the audit log, {result['baseline_ms']} ms without (ratio {result['ratio']})"
            )


if __name__ == "__main__":
    main()
