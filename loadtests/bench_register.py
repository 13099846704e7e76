"""Bulk registration through SNMS ``batchCreate`` over HTTP, on SQLite and PostgreSQL.

Starts a node as a child process on a fresh database with a signing key (every record is sealed
with an ES256 signature, as in production), creates an enterprise and a template, then registers
N identifiers with several concurrent clients and prints identifiers/s, p50/p99 batch latency and
the node's RSS (peak, and the most in each third of the run: flat is the goal). The baseline, run
beside it against the same node, registers identifiers one by one through ``POST
/identityv2/data``; the report gives the ratio.

    .venv/bin/python -m loadtests.bench_register --count 200000 --clients 4
    .venv/bin/python -m loadtests.bench_register --backend postgresql --count 20000

Targets only 127.0.0.1 and stops by itself (``--max-seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from loadtests import (
    Credential,
    LatencyRecorder,
    RssSampler,
    bulk_create,
    ensure_credential,
    ratios,
    snms_token,
    started_node,
)
from loadtests.bench_sign import fresh_postgres

ADMIN_TOKEN = "bench-admin-token"
PREFIX = "88.118.8"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
VERSION = "1.0"
TEMPLATE = {
    "prefix": PREFIX,
    "version": VERSION,
    "description": "bench",
    "type": 1,
    "items": [
        {
            "name": "productName",
            "idType": "productName",
            "idIndex": 2000,
            "required": True,
            "state": 1,
            "metadata": {"type": "string", "minLength": 1, "maxLength": 64},
        },
        {
            "name": "batchNo",
            "idType": "batchNo",
            "idIndex": 2001,
            "required": False,
            "state": 1,
            "metadata": {"type": "string", "minLength": 0, "maxLength": 32},
        },
    ],
}


async def templated_credential(
    client: httpx.AsyncClient, admin_token: str, name: str
) -> tuple[Credential, str]:
    """A credential for ``PREFIX``, an SNMS token for it, and ``TEMPLATE`` registered with it."""
    credential = await ensure_credential(
        client, admin_token=admin_token, username=None, password=None, prefix=PREFIX, name=name
    )
    token = await snms_token(client, credential)
    created = await client.post(
        "/snms/api/v5/template", json=TEMPLATE, headers={"Authorization": token}
    )
    created.raise_for_status()
    return credential, token


def values(handle: str) -> list[dict[str, Any]]:
    """A product identifier's values: its URL and the template's two items."""
    return [
        {"index": 1, "type": "URL", "data": f"https://example.com/p/{handle}"},
        {"index": 2000, "type": "productName", "data": {"format": "string", "value": "Motor"}},
        {"index": 2001, "type": "batchNo", "data": {"format": "string", "value": "B2106023"}},
    ]


@asynccontextmanager
async def database(backend: str, workdir: Path, server: str = POSTGRES) -> AsyncIterator[str]:
    """A fresh database URL for the node; a PostgreSQL one (on ``server``) is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    async with fresh_postgres(server) as url:
        yield url.replace("postgresql://", "postgresql+asyncpg://", 1)


def signing_key(workdir: Path) -> dict[str, str]:
    """A key directory with one ES256 key: the node then signs every record it stores."""
    env = {"IDNODE_KEYS_DIR": str(workdir / "keys")}
    subprocess.run(
        [sys.executable, "-m", "node", "keys", "generate"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )
    return env


Write = Callable[[int], Awaitable[bool]]


async def closed_loops(write: Write, *, count: int, clients: int, max_seconds: float) -> dict:
    """``count`` writes from ``clients`` loops, each waiting for its answer before the next."""
    numbers = iter(range(count))
    latency = LatencyRecorder()
    done = failed = 0
    deadline = time.monotonic() + max_seconds

    async def loop() -> None:
        nonlocal done, failed
        for n in numbers:
            if time.monotonic() > deadline:
                return
            began = time.perf_counter()
            ok = await write(n)
            latency.record(time.perf_counter() - began)
            done += 1
            failed += not ok

    began = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    summary = latency.summary()
    return {
        "ids": done,
        "failed": failed,
        "seconds": round(elapsed, 3),
        "items_per_s": round(done / elapsed) if elapsed else 0,
        "p50": summary["p50"],
        "p99": summary["p99"],
    }


async def one_by_one(
    client: httpx.AsyncClient, token: str, count: int, clients: int, max_seconds: float
) -> dict[str, Any]:
    """The baseline: ``count`` records through ``POST /identityv2/data`` from ``clients`` loops."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def write(n: int) -> bool:
        handle = f"{PREFIX}/one-{n:09d}"
        body = {"handle": handle, "templateVersion": VERSION, "value": values(handle)}
        response = await client.post(
            "/identityv2/data", content=orjson.dumps(body), headers=headers
        )
        return response.status_code == 200 and response.json().get("status") == 1

    return await closed_loops(write, count=count, clients=clients, max_seconds=max_seconds)


def _thirds(samples: list[int]) -> list[float]:
    """The most RSS (MiB) in each third of the run."""
    third = max(1, len(samples) // 3)
    parts = (samples[:third], samples[third : 2 * third], samples[2 * third :])
    return [round(max(part) / 2**20, 1) for part in parts if part]


async def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Baseline and batch runs against one fresh node on ``backend``."""
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = signing_key(workdir)
        async with database(backend, workdir) as url:
            with started_node(
                workdir, ADMIN_TOKEN, database_url=url, workers=args.workers, env=env
            ) as node:
                async with httpx.AsyncClient(base_url=node.url, timeout=120) as client:
                    credential, token = await templated_credential(client, ADMIN_TOKEN, "Bench")
                    baseline = await one_by_one(
                        client, token, args.baseline_count, args.clients, 60
                    )
                    async with RssSampler(node.pid, interval=0.25) as rss:
                        result = await bulk_create(
                            client,
                            credential,
                            count=args.count,
                            batch_size=args.batch,
                            clients=args.clients,
                            template_version=VERSION,
                            values=values,
                            max_seconds=args.max_seconds,
                        )
    latency = result.batch_latency.summary()
    batch = {
        "ids": result.created,
        "existed": result.existed,
        "failed": sum(result.failed.values()),
        "seconds": round(result.elapsed, 2),
        "items_per_s": round(result.per_second),
        "p50": latency["p50"],
        "p99": latency["p99"],
    }
    samples = [value for _, value in rss.samples]
    return {
        "backend": backend,
        "workers": args.workers,
        "batch": batch,
        "baseline_single": baseline,
        "ratio": ratios(baseline, batch, ("items_per_s",))["items_per_s"],
        "rss_peak_mib": round(rss.peak / 2**20, 1),
        "rss_growth": round(rss.growth(), 3),
        "rss_mib_first_mid_last_third": _thirds(samples),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=200_000, help="identifiers to register")
    parser.add_argument("--batch", type=int, default=2000, help="items per batchCreate")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=1, help="node worker processes")
    parser.add_argument("--baseline-count", type=int, default=2000, help="single-item creates")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop the run after this")
    parser.add_argument("--json", action="store_true", help="print one JSON object per backend")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        result = asyncio.run(bench(backend, args))
        if args.json:
            print(orjson.dumps(result).decode(), flush=True)
            continue
        b, s = result["batch"], result["baseline_single"]
        print(
            f"{backend:10} batchCreate: {b['ids']} ids in {b['seconds']} s = {b['items_per_s']}"
            f" ids/s (failed {b['failed']}, existed {b['existed']}),"
            f" batch p50 {b['p50']} ms p99 {b['p99']} ms\n"
            f"{'':10} baseline one-by-one: {s['items_per_s']} ids/s (p50 {s['p50']} ms);"
            f" batch/baseline = {result['ratio']}x\n"
            f"{'':10} node RSS peak {result['rss_peak_mib']} MiB; max per third of the run"
            f" {result['rss_mib_first_mid_last_third']} MiB; last/first quarter"
            f" {result['rss_growth']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
