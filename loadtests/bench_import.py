"""Import benchmark: rows/s and peak memory of a CSV import of 100,000 rows against a smaller
file in the same run, reported as ratios (memory must stay flat as files grow).

    python -m loadtests.bench_import [--rows 100000] [--small 10000] [--quick] [--json FILE]

Each size runs in a child process of its own (so its peak RSS is its own), on a fresh SQLite
file: the CSV is written row by row, then checked (the dry run: parse and the template's compiled
schema) and imported (the import job: chunks through ``BatchService.create_many`` and the record
writer, signing off). The demo product template (``node.demo.DEMO_TEMPLATE``) is the template.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]


def _write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["suffix", "产品名称", "型号", "生产日期", "重量(kg)", "数量", "等级", "说明书"]
        )
        for n in range(rows):
            writer.writerow(
                [f"B{n:08d}", f"电机控制器 {n}", f"JX-{n % 997}", f"2026-{n % 12 + 1:02d}-15",
                 f"{n % 500}.5", str(n % 1000 + 1), "ABC"[n % 3],
                 f"https://example.com/manuals/{n}.pdf"]
            )  # fmt: skip


async def _child(rows: int, directory: Path) -> dict[str, Any]:
    from migrations.runner import upgrade
    from node.demo import DEMO_PREFIX, DEMO_TEMPLATE

    version = DEMO_TEMPLATE["version"]
    from registry import ADMIN, BatchService, ImportService, RecordService, TemplateService
    from registry.storage import Database

    source = directory / f"rows-{rows}.csv"
    _write_csv(source, rows)
    db = Database(f"sqlite+aiosqlite:///{directory / f'bench-{rows}.db'}")
    try:
        await upgrade(db)
        templates = TemplateService(db)
        await templates.create(ADMIN, DEMO_TEMPLATE)
        batches = BatchService(db, RecordService(db), templates)
        imports = ImportService(db, batches, templates, directory / f"jobs-{rows}")
        started = time.perf_counter()
        report = await imports.dry_run(ADMIN, DEMO_PREFIX, version, {}, source, "csv")
        checked = time.perf_counter() - started
        upload = directory / f"upload-{rows}.csv"
        upload.write_bytes(source.read_bytes())
        started = time.perf_counter()
        status = await imports.start(ADMIN, DEMO_PREFIX, version, {}, upload, "csv", f"b{rows:08x}")
        job = imports.jobs[status["id"]]
        assert job.task is not None
        await job.task
        imported = time.perf_counter() - started
    finally:
        await db.dispose()
    return {
        "rows": rows,
        "valid": report["valid"],
        "registered": job.registered,
        "dry_run_rows_per_s": rows / checked,
        "import_rows_per_s": rows / imported,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _run_child(rows: int, directory: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests.bench_import", "--child", str(rows), "--dir", str(directory)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the {rows}-row leg failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench_import")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large file")
    parser.add_argument("--small", type=int, default=10_000, help="rows of the baseline file")
    parser.add_argument("--quick", action="store_true", help="2,000 against 200 rows")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(await _child(args.child, args.dir)))
        return 0
    large, small = (2_000, 200) if args.quick else (args.rows, args.small)
    with tempfile.TemporaryDirectory(prefix="idnode-bench-import-") as directory:
        legs = [
            await asyncio.to_thread(_run_child, rows, Path(directory)) for rows in (small, large)
        ]
    base, big = legs
    figures = {
        "legs": legs,
        "ratios": {
            "peak_rss": big["peak_rss_mb"] / base["peak_rss_mb"],
            "dry_run_rows_per_s": big["dry_run_rows_per_s"] / base["dry_run_rows_per_s"],
            "import_rows_per_s": big["import_rows_per_s"] / base["import_rows_per_s"],
        },
    }
    print(f"{'rows':>8} {'dry run rows/s':>15} {'import rows/s':>14} {'peak RSS MB':>12}")
    for leg in legs:
        print(
            f"{leg['rows']:>8} {leg['dry_run_rows_per_s']:>15.0f} {leg['import_rows_per_s']:>14.0f}"
            f" {leg['peak_rss_mb']:>12.1f}"
        )
    ratios = figures["ratios"]
    print(
        f"{large} rows / {small} rows: peak RSS x{ratios['peak_rss']:.2f} (flat is about 1),"
        f" dry run rows/s x{ratios['dry_run_rows_per_s']:.2f},"
        f" import rows/s x{ratios['import_rows_per_s']:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
