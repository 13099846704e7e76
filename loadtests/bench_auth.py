"""Authenticated resolution benchmark: ``GET`` with HTTP Basic and with a bearer token beside the
same ``GET`` anonymous, on one node in one run, as ratios.

    python -m loadtests.bench_auth              # 1,000 handles, 3 rounds of 5 s per leg
    python -m loadtests.bench_auth --quick      # 100 handles, 1 round of 2 s per leg

Starts one node (the kit's ``started_node``: ``idnode serve``, one worker, SQLite unless
``--database-url``), creates an enterprise, registers the handles with its credential and
resolves each once, so every leg reads the same warm cache. Then bench_native's closed-loop
driver keeps ``--connections`` requests in flight on keep-alive connections for each leg:

- anonymous: ``GET /api/handles/<handle>``
- basic:     the same with ``Authorization: Basic pct(300:<prefix>/ADMIN):password``
- bearer:    the same with the enterprise's token from ``POST /identity/token``

Legs alternate round by round, so load from elsewhere hits them alike; the best round of each
is kept. It prints resolutions/s, p50/p99 and the node's CPU per answer per leg, then
``basic/anonymous`` and ``bearer/anonymous`` (the goal: p50 within 1.2x). Everything binds
127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from loadtests import ratio_table, ratios, record_values, started_node
from loadtests.bench_native import _leg

__all__ = ["main"]

ADMIN_TOKEN = "bench-auth-admin-token"
PREFIX = "88.118.8"
CONNECTIONS = 16
KEYS = ("achieved_rate", "p50", "p99", "node_cpu_us")
LEGS = ("anonymous", "basic", "bearer")


def _handles(count: int) -> list[str]:
    return [f"{PREFIX}/BA{i:06d}" for i in range(count)]


async def _prepare(url: str, handles: Sequence[str]) -> dict[str, str]:
    """An enterprise owning the handles; returns the Authorization header of each leg."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        created = await client.post(
            "/admin/enterprises",
            json={"name": "Bench Works", "prefix": PREFIX},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        created.raise_for_status()
        credential = created.json()["credential"]
        user, password = credential["username"], credential["password"]
        auth = httpx.BasicAuth(quote(user, safe=""), password)
        semaphore = asyncio.Semaphore(8)

        async def put(handle: str) -> None:
            async with semaphore:
                answer = await client.put(
                    f"/api/handles/{handle}", json={"values": record_values(handle)}, auth=auth
                )
                answer.raise_for_status()
                (await client.get(f"/api/handles/{handle}")).raise_for_status()

        await asyncio.gather(*(put(h) for h in handles))
        login = await client.post("/identity/token", json={"username": user, "password": password})
        login.raise_for_status()
        token = login.json()["data"]["token"]
    basic = base64.b64encode(f"{quote(user, safe='')}:{password}".encode()).decode()
    return {"anonymous": "", "basic": f"Basic {basic}", "bearer": f"Bearer {token}"}


def _requests(handles: Sequence[str], port: int, authorization: str) -> list[bytes]:
    header = f"Authorization: {authorization}\r\n" if authorization else ""
    return [
        f"GET /api/handles/{h} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{header}\r\n".encode()
        for h in handles
    ]


async def run(
    count: int, seconds: float, rounds: int, connections: int, database_url: str | None
) -> dict[str, Any]:
    handles = _handles(count)
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as workdir:
        env = {"IDNODE_SIGN_RECORDS": "false"}
        with started_node(Path(workdir), ADMIN_TOKEN, database_url=database_url, env=env) as node:
            headers = await _prepare(node.url, handles)
            port = int(node.url.rsplit(":", 1)[1])
            requests = {leg: _requests(handles, port, headers[leg]) for leg in LEGS}
            runs: dict[str, list[dict[str, Any]]] = {leg: [] for leg in LEGS}
            for _ in range(rounds):
                for leg in LEGS:
                    figures = await _leg(
                        "http", port, requests[leg], seconds, connections, node.pid
                    )
                    runs[leg].append({**figures, "leg": leg})
    best = {leg: max(runs[leg], key=lambda r: r["achieved_rate"]) for leg in LEGS}
    return {
        "handles": count,
        "seconds": seconds,
        "rounds": rounds,
        "connections": connections,
        "legs": best,
        "ratios": {
            f"{leg}/anonymous": ratios(best["anonymous"], best[leg], KEYS)
            for leg in ("basic", "bearer")
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_auth", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="100 handles, 1 round of 2 s")
    parser.add_argument("--handles", type=int, help="handles cycled through (default 1000)")
    parser.add_argument("--seconds", type=float, help="measured seconds per leg (default 5)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 3)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--database-url", help="the node's database (default: SQLite)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    count = args.handles or (100 if args.quick else 1000)
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    rounds = args.rounds or (1 if args.quick else 3)
    report = asyncio.run(run(count, seconds, rounds, args.connections, args.database_url))
    if args.json:
        print(json.dumps(report))
        return 0
    print(
        f"cached resolution of {count} handles, {args.connections} connections,"
        f" best of {rounds} round(s) of {seconds} s per leg"
    )
    for leg in report["legs"].values():
        print(
            f"  {leg['leg']:9} {leg['achieved_rate']:>10.1f} resolutions/s"
            f"  p50 {leg['p50']:.3f} ms  p99 {leg['p99']:.3f} ms"
            f"  node CPU {leg['node_cpu_us']:.1f} us/answer  errors {leg['errors']}"
        )
    for leg in ("basic", "bearer"):
        print(f"\n{leg}/anonymous (goal: p50 within 1.2x)")
        print(ratio_table(report["legs"]["anonymous"], report["legs"][leg], KEYS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
