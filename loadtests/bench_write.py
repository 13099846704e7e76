"""Single registrations (one identifier per request) beside what the storage alone costs.

Starts a node as a child process on a fresh database with a signing key (every record is sealed
with an ES256 signature, as in production), then registers identifiers one per request through
Handle REST (``PUT /api/handles/…``, the admin token: no password check per request) and SNMS
(``POST /identityv2/data`` with a template, a bearer token from ``/identity/token``) from 1, 4 and
16 concurrent clients. In the same run, on the same database, the storage floor: the raw driver
inserting one row and committing per identifier from as many clients (aiosqlite with WAL and
``synchronous=FULL`` behind one writer lock; asyncpg, one autocommitted INSERT per identifier).
Prints p50/p99 and identifiers/s for each, node/floor ratios, and the node's CPU per write
(``cpu ms/id``: user + system time of the node process and its children, every worker and the
sealing helpers, from ``/proc`` before and after each leg, over the writes made) and this load
generator's (``client ms/id``: the latencies include it). The timed writes go through the kit's
aiohttp client (``loadtests/_http.py``); setup goes through httpx.

    .venv/bin/python -m loadtests.bench_write
    .venv/bin/python -m loadtests.bench_write --backend postgresql --postgres postgresql://…
    .venv/bin/python -m loadtests.bench_write --quick --json
    .venv/bin/python -m loadtests.bench_write --retried   # also each SNMS registration sent twice

Goals (issue 19): one client p50 ≤ 2 ms on SQLite, ≤ 3 ms on PostgreSQL; ≥ 2,000 signed single
registrations/s from 16 clients on PostgreSQL. Targets only 127.0.0.1; each leg stops after
``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiosqlite
import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from loadtests import CpuMeter, Http, ratios, started_node
from loadtests.bench_register import (
    PREFIX,
    VERSION,
    Write,
    closed_loops,
    database,
    signing_key,
    templated_credential,
    values,
)

ADMIN_TOKEN = "bench-admin-token"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
APIS = ("rest", "snms")
GOALS = {"sqlite": 2.0, "postgresql": 3.0}  # one client's p50, ms
GOAL_PG_16 = 2000  # signed single registrations/s from 16 clients on PostgreSQL

# One request (or one raw insert) from a numbered identifier; True when it succeeded.


def rest_writer(client: Http, tag: str) -> Write:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    async def write(n: int) -> bool:
        handle = f"{PREFIX}/rest-{tag}-{n:09d}"
        reply = await client.put(
            f"/api/handles/{quote(handle, safe='/')}",
            json={"values": values(handle)},
            headers=headers,
        )
        return reply.status in (200, 201)

    return write


def snms_writer(client: Http, token: str, tag: str) -> Write:
    headers = {"Authorization": f"Bearer {token}"}

    async def write(n: int) -> bool:
        handle = f"{PREFIX}/snms-{tag}-{n:09d}"
        body = {"handle": handle, "templateVersion": VERSION, "value": values(handle)}
        reply = await client.post("/identityv2/data", json=body, headers=headers)
        return reply.status == 200 and reply.json().get("status") == 1

    return write


def retried_writer(client: Http, token: str, tag: str) -> Write:
    """SNMS, each registration sent twice, as a station whose answer was lost sends it again:
    the second is answered "already exists" (status -2). One pair per identifier."""
    headers = {"Authorization": f"Bearer {token}"}

    async def write(n: int) -> bool:
        handle = f"{PREFIX}/retry-{tag}-{n:09d}"
        body = {"handle": handle, "templateVersion": VERSION, "value": values(handle)}
        first = await client.post("/identityv2/data", json=body, headers=headers)
        again = await client.post("/identityv2/data", json=body, headers=headers)
        return first.json().get("status") == 1 and again.json().get("status") == -2

    return write


def _payload(handle: str) -> bytes:
    return orjson.dumps(values(handle))


async def sqlite_floor(path: Path, *, count: int, clients: int, max_seconds: float) -> dict:
    """One row inserted and committed per identifier: WAL, ``synchronous=FULL``, one writer."""
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=FULL")
        await db.execute(
            "CREATE TABLE IF NOT EXISTS floor (handle TEXT PRIMARY KEY, data BLOB NOT NULL)"
        )
        await db.commit()
        lock = asyncio.Lock()
        tag = f"c{clients}"

        async def write(n: int) -> bool:
            handle = f"{PREFIX}/floor-{tag}-{n:09d}"
            async with lock:
                await db.execute("INSERT INTO floor VALUES (?, ?)", (handle, _payload(handle)))
                await db.commit()
            return True

        return await closed_loops(write, count=count, clients=clients, max_seconds=max_seconds)


async def postgres_floor(url: str, *, count: int, clients: int, max_seconds: float) -> dict:
    """One autocommitted INSERT per identifier through asyncpg, one connection per client."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    async with asyncpg.create_pool(dsn, min_size=clients, max_size=clients) as pool:
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS floor (handle TEXT PRIMARY KEY, data BYTEA NOT NULL)"
        )
        tag = f"c{clients}"

        async def write(n: int) -> bool:
            handle = f"{PREFIX}/floor-{tag}-{n:09d}"
            await pool.execute("INSERT INTO floor VALUES ($1, $2)", handle, _payload(handle))
            return True

        return await closed_loops(write, count=count, clients=clients, max_seconds=max_seconds)


async def bench(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every API and concurrency, and the floor, against one fresh node on ``backend``."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = {**signing_key(workdir), **args.node_env}
        async with database(backend, workdir, args.postgres) as url:
            with started_node(
                workdir, ADMIN_TOKEN, database_url=url, workers=args.workers, env=env
            ) as node:
                async with httpx.AsyncClient(base_url=node.url, timeout=60) as setup:
                    _, token = await templated_credential(setup, ADMIN_TOKEN, "Bench")
                # The timed writes go through the kit's lean client (``_http``): httpx's own
                # CPU per request would be counted as the node's latency.
                async with Http(node.url, connections=max(args.clients), timeout=60) as client:
                    writers: dict[str, Callable[[str], Write]] = {
                        "rest": lambda tag: rest_writer(client, tag),
                        "snms": lambda tag: snms_writer(client, token, tag),
                        "retry": lambda tag: retried_writer(client, token, tag),
                    }
                    # Warm the node up (connections, caches, the sealing process) before timing.
                    for api in APIS:
                        await closed_loops(
                            writers[api]("warm"), count=20, clients=2, max_seconds=10
                        )
                    for clients in args.clients:
                        limit = {"count": args.count, "clients": clients}
                        limit["max_seconds"] = args.max_seconds
                        if backend == "sqlite":
                            floor = await sqlite_floor(workdir / "floor.db", **limit)
                        else:
                            floor = await postgres_floor(url, **limit)
                        rows.append({"api": "floor", "clients": clients, **floor})
                        for api in (*APIS, "retry") if args.retried else APIS:
                            write = writers[api](f"c{clients}")
                            # The node's CPU (every worker and helper process) per write:
                            # the figure that noise on a shared machine moves least; and the
                            # load generator's own, to show what the latencies include.
                            with CpuMeter(node.pid) as meter:
                                result = await closed_loops(write, **limit)
                            assert meter.use is not None
                            spent = meter.use.node + meter.use.helpers
                            ids = max(result["ids"], 1)
                            result["cpu_ms"] = round(spent * 1000 / ids, 2)
                            result["client_cpu_ms"] = round(meter.use.client * 1000 / ids, 2)
                            against = ratios(floor, result, ("p50", "p99", "items_per_s"))
                            rows.append({"api": api, "clients": clients, **result, **{
                                f"{key}_over_floor": value for key, value in against.items()
                            }})  # fmt: skip
    return {"backend": backend, "workers": args.workers, "signed": True, "rows": rows}


def _goals(result: dict[str, Any]) -> list[str]:
    backend = result["backend"]
    lines = []
    for row in result["rows"]:
        if row["api"] not in APIS:
            continue
        if row["clients"] == 1:
            met = row["p50"] <= GOALS[backend]
            lines.append(
                f"goal {row['api']} one client p50 <= {GOALS[backend]} ms: {row['p50']} ms"
                f" ({'met' if met else 'not met'})"
            )
        if backend == "postgresql" and row["clients"] == 16:
            met = row["items_per_s"] >= GOAL_PG_16
            lines.append(
                f"goal {row['api']} 16 clients >= {GOAL_PG_16} ids/s: {row['items_per_s']}"
                f" ({'met' if met else 'not met'})"
            )
    return lines


def render(result: dict[str, Any]) -> str:
    lines = [
        f"{result['backend']} (signed, {result['workers']} worker(s))",
        f"{'api':6}{'clients':>8}{'ids':>7}{'ids/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p50/floor':>11}{'ids/s/floor':>13}{'cpu ms/id':>11}{'client ms/id':>14}",
    ]
    for row in result["rows"]:
        p50_ratio = row.get("p50_over_floor", "")
        rate_ratio = row.get("items_per_s_over_floor", "")
        lines.append(
            f"{row['api']:6}{row['clients']:>8}{row['ids']:>7}{row['items_per_s']:>8}"
            f"{row['p50']:>9}{row['p99']:>9}{p50_ratio!s:>11}{rate_ratio!s:>13}"
            f"{row.get('cpu_ms', '')!s:>11}{row.get('client_cpu_ms', '')!s:>14}"
            + (f"  failed {row['failed']}" if row["failed"] else "")
        )
    return "\n".join(lines + _goals(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("IDNODE_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="PostgreSQL server URL (a fresh database is created there and dropped)",
    )
    parser.add_argument("--count", type=int, default=3000, help="identifiers per leg")
    parser.add_argument(
        "--clients", default="1,4,16", help="comma-separated concurrent client counts"
    )
    parser.add_argument("--workers", type=int, default=1, help="node worker processes")
    parser.add_argument("--max-seconds", type=float, default=30, help="stop each leg after this")
    parser.add_argument(
        "--node-env", action="append", default=[], metavar="KEY=VALUE", help="a node setting"
    )
    parser.add_argument(
        "--retried",
        action="store_true",
        help="also SNMS registrations each sent twice (retry: ids/s and p50 per pair)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny legs: done in under a minute")
    parser.add_argument("--json", action="store_true", help="print one JSON object per backend")
    args = parser.parse_args(argv)
    args.clients = [int(part) for part in args.clients.split(",")]
    args.node_env = dict(item.split("=", 1) for item in args.node_env)
    if args.quick:
        args.count, args.max_seconds = min(args.count, 30), min(args.max_seconds, 2)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    for backend in backends:
        result = asyncio.run(bench(backend, args))
        print(orjson.dumps(result).decode() if args.json else render(result), flush=True)


if __name__ == "__main__":
    main()
