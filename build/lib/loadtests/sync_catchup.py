"""Benchmark: how fast the outbox drains to the top-level node, against registration itself.

Runs a node and the simulated top-level node as real processes on 127.0.0.1 (SQLite in a
temporary directory), stops by itself, and prints one JSON object of rates and their ratios:

    python -m loadtests.sync_catchup --count 5000

1. baseline: ``count`` Handle REST PUTs while the top-level node is down (sync only queues);
2. catch-up: the top-level node starts; time until the outbox is empty;
3. live: ``count`` more PUTs with sync running beside them, and the lag left after the last one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from loadtests import free_port, stop_process, wait_until_answering

ADMIN = "bench-admin"
BOOTSTRAP = "bench-bootstrap"


def _start(args: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "node", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_answering(url, process)
    except RuntimeError as exc:
        stop_process(process)
        raise SystemExit(f"{args[0]} did not start: {exc}") from exc
    return process


async def _register(
    url: str, auth: httpx.BasicAuth, suffixes: list[str], concurrency: int
) -> float:
    """PUT one record per suffix; returns the rate in records per second."""
    queue = list(reversed(suffixes))
    async with httpx.AsyncClient(
        base_url=url, auth=auth, timeout=60, limits=httpx.Limits(max_connections=concurrency)
    ) as client:

        async def worker() -> None:
            while queue:
                suffix = queue.pop()
                body = {"values": [{"index": 1, "type": "URL", "data": f"https://e.com/{suffix}"}]}
                response = await client.put(f"/api/handles/88.118.8/{quote(suffix)}", json=body)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return len(suffixes) / (time.perf_counter() - started)


def _wait_synced(url: str, limit: float) -> float:
    """Seconds until the node's outbox is empty (bounded by ``limit``)."""
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {ADMIN}"}
    while time.perf_counter() - started < limit:
        status = httpx.get(f"{url}/admin/sync", headers=headers, timeout=30).json()
        if status["pendingRows"] == 0 and status["inflightSeq"] is None:
            return time.perf_counter() - started
        time.sleep(0.05)
    raise SystemExit(f"sync did not catch up within {limit}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--limit", type=float, default=300, help="longest wait for catch-up, s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        node_port, top_port = free_port(), free_port()
        node_url, top_url = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{top_port}"
        env = {
            "IDNODE_DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'node.db'}",
            "IDNODE_ADMIN_TOKEN": ADMIN,
            "IDNODE_TOPLEVEL_URL": top_url,
            "IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN": BOOTSTRAP,
            "IDNODE_KEYS_DIR": str(Path(tmp) / "keys"),
            "IDNODE_TOPLEVEL_ROOT_DIR": str(Path(tmp) / "root"),
            "IDNODE_SYNC_BACKOFF_MAX_SECONDS": "1",
        }
        subprocess.run(
            [sys.executable, "-m", "node", "migrate"],
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        node = _start(["serve", "--port", str(node_port), "--log-level", "warning"], env, node_url)
        top = None
        try:
            created = httpx.post(
                f"{node_url}/admin/enterprises",
                json={"name": "Bench", "prefix": "88.118.8"},
                headers={"Authorization": f"Bearer {ADMIN}"},
            ).json()["credential"]
            auth = httpx.BasicAuth(quote(created["username"], safe=""), created["password"])
            baseline = asyncio.run(
                _register(node_url, auth, [f"A{i}" for i in range(args.count)], args.concurrency)
            )
            top_args = ["toplevel", "--port", str(top_port), "--db", str(Path(tmp) / "top.db")]
            top = _start([*top_args, "--log-level", "warning"], env, top_url)
            drain_seconds = _wait_synced(node_url, args.limit)
            live = asyncio.run(
                _register(node_url, auth, [f"B{i}" for i in range(args.count)], args.concurrency)
            )
            lag_after = _wait_synced(node_url, args.limit)
        finally:
            stop_process(node)
            if top is not None:
                stop_process(top)
    drain = (args.count + 2) / drain_seconds
    print(
        json.dumps(
            {
                "count": args.count,
                "registrations_per_s_sync_down": round(baseline, 1),
                "catch_up_rows_per_s": round(drain, 1),
                "registrations_per_s_sync_live": round(live, 1),
                "lag_after_last_live_put_s": round(lag_after, 3),
                "ratio_catch_up_to_registration": round(drain / baseline, 2),
                "ratio_registration_live_to_down": round(live / baseline, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
