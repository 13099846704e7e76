"""Bulk registration through SNMS ``batchCreate`` over HTTP, on SQLite and PostgreSQL.

Starts a node as a child process on a fresh database, creates an enterprise and a template, then
registers N identifiers with several concurrent clients and prints identifiers/s, p50/p99 batch
latency and the node's RSS (peak, and at the start, middle and end of the run: flat is the goal).
The baseline, run beside it against the same node, registers identifiers one by one through
``POST /identityv2/data``; the report gives the ratio.

    .venv/bin/python -m loadtests.bench_register --count 200000 --clients 4
    .venv/bin/python -m loadtests.bench_register --backend postgresql --count 20000

Targets only 127.0.0.1 and stops by itself (``--max-seconds``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson

ADMIN_TOKEN = "bench-admin-token"
PREFIX = "88.118.8"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TEMPLATE = {
    "prefix": PREFIX,
    "version": "1.0",
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes)."""
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += _tree(int(child))
    return found


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident memory of the node: the process and its workers, summed."""
    total = 0
    for member in _tree(pid):
        for line in Path(f"/proc/{member}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                total += int(line.split()[1])
    return total


class RssSampler(threading.Thread):
    """Samples the node's resident memory every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.samples.append(_rss_kib(self.pid))
            except OSError:
                return

    def stop(self) -> None:
        self.stopped.set()
        self.join()


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh database URL for the node; dropped afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/bench.db"
        return
    name = f"idnode_bench_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(POSTGRES, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def node(url: str, workers: int = 1) -> Iterator[tuple[str, int]]:
    """``python -m node serve`` on a free port of 127.0.0.1; (base URL, pid)."""
    env = {**os.environ, "IDNODE_DATABASE_URL": url, "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN}
    subprocess.run(
        [sys.executable, "-m", "node", "migrate"], env=env, check=True, capture_output=True
    )
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "node", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the node did not start")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def setup(base: str) -> dict[str, str]:
    """An enterprise, its SNMS token and the template; the headers to call with."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    created = httpx.post(
        f"{base}/admin/enterprises", json={"name": "Bench", "prefix": PREFIX}, headers=admin
    )
    credential = created.raise_for_status().json()["credential"]
    login = {"username": credential["username"], "password": credential["password"]}
    token = httpx.post(f"{base}/identity/token", json=login).json()["data"]["token"]
    headers = {"Authorization": token, "Content-Type": "application/json"}
    httpx.post(f"{base}/snms/api/v5/template", json=TEMPLATE, headers=headers).raise_for_status()
    return headers


def item(run: str, n: int) -> dict[str, Any]:
    return {
        "handle": f"{PREFIX}/{run}-{n:09d}",
        "templateVersion": "1.0",
        "value": [
            {"index": 1, "type": "URL", "data": f"https://example.com/p/{run}-{n}"},
            {"index": 2000, "type": "productName", "data": {"format": "string", "value": "Motor"}},
            {"index": 2001, "type": "batchNo", "data": {"format": "string", "value": run}},
        ],
    }


async def drive(
    base: str,
    headers: dict[str, str],
    path: str,
    count: int,
    size: int,
    clients: int,
    max_seconds: float,
) -> dict[str, Any]:
    """Send ``count`` items in requests of ``size`` (1: the single-item path) from ``clients``."""
    run = uuid.uuid4().hex[:8]
    starts = iter(range(0, count, size))
    latencies: list[float] = []
    failures = 0
    done = 0
    deadline = time.monotonic() + max_seconds

    async def client() -> None:
        nonlocal failures, done
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
            for start in starts:
                if time.monotonic() > deadline:
                    return
                items = [item(run, n) for n in range(start, min(start + size, count))]
                body = orjson.dumps(items if size > 1 else items[0])
                began = time.perf_counter()
                response = await http.post(path, content=body)
                latencies.append(time.perf_counter() - began)
                answer = response.json()
                if size > 1:
                    failures += sum(line["msg"] != "success" for line in answer["data"] or [])
                elif answer["status"] != 1:
                    failures += 1
                done += len(items)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "ids": done,
        "failed": failures,
        "seconds": round(elapsed, 2),
        "ids_per_s": round(done / elapsed),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
    }


def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with database(backend) as url, node(url, args.workers) as (base, pid):
        headers = setup(base)
        baseline = asyncio.run(
            drive(base, headers, "/identityv2/data", args.baseline_count, 1, args.clients, 60)
        )
        sampler = RssSampler(pid)
        sampler.start()
        batch = asyncio.run(
            drive(
                base,
                headers,
                "/identityv2/data/batchCreate",
                args.count,
                args.batch,
                args.clients,
                args.max_seconds,
            )
        )
        sampler.stop()
        peak = max(_rss_kib(pid, "VmHWM"), *sampler.samples)
    samples = sampler.samples or [0]
    third = max(1, len(samples) // 3)
    return {
        "backend": backend,
        "batch": batch,
        "baseline_single": baseline,
        "ratio": round(batch["ids_per_s"] / max(baseline["ids_per_s"], 1), 1),
        "rss_peak_mib": round(peak / 1024, 1),
        "rss_mib_first_mid_last_third": [
            round(max(part) / 1024, 1)
            for part in (samples[:third], samples[third : 2 * third], samples[2 * third :])
            if part
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=200_000, help="identifiers to register")
    parser.add_argument("--batch", type=int, default=2000, help="items per batchCreate")
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument("--workers", type=int, default=1, help="node worker processes")
    parser.add_argument("--baseline-count", type=int, default=2000, help="single-item creates")
    parser.add_argument("--max-seconds", type=float, default=300, help="stop the run after this")
    parser.add_argument("--json", action="store_true", help="print one JSON object per backend")
    args = parser.parse_args()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        result = bench(backend, args)
        if args.json:
            print(orjson.dumps(result).decode())
            continue
        b, s = result["batch"], result["baseline_single"]
        print(
            f"{backend:10} batchCreate: {b['ids']} ids in {b['seconds']} s = {b['ids_per_s']} ids/s"
            f" (failed {b['failed']}), batch p50 {b['p50_ms']} ms p99 {b['p99_ms']} ms\n"
            f"{'':10} baseline one-by-one: {s['ids_per_s']} ids/s (p50 {s['p50_ms']} ms);"
            f" batch/baseline = {result['ratio']}x\n"
            f"{'':10} node RSS peak {result['rss_peak_mib']} MiB; max per third of the run"
            f" {result['rss_mib_first_mid_last_third']} MiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
