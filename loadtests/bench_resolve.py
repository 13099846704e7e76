"""Resolution benchmark: the node beside a bare Starlette baseline, driven by wrk.

    python -m loadtests.bench_resolve            # 1,000,000 identifiers, 15 s per scenario
    python -m loadtests.bench_resolve --quick    # 50,000 identifiers, under a minute

Starts, in one run, (a) the node (``idnode serve``, one uvicorn worker) on PostgreSQL, seeded
through the bulk insert (executemany) path, and (b) a bare Starlette app on the same server stack
(uvicorn, same loop and HTTP implementation, one worker) that answers every request with the
bytes of a real record of the same size. wrk drives both at 32 connections over loopback and the
script prints requests/s and p50/p99/p99.9 per scenario:

- hot:       1,000 handles, cached (the node's hot path) — and the same against the baseline
- zipf:      Zipf (s≈1) over all identifiers
- uniform:   uniform over all identifiers (mostly cache misses: storage reads)
- not-found: uniform over unregistered names (negative answers)

then ``hot ratio = node / baseline`` and the node's RSS. wrk comes from Debian:
``sudo apt-get install -y wrk``. PostgreSQL: ``--postgres`` (default: the local test server);
the database ``idnode_bench_<count>`` is created and seeded once and reused by later runs.
``--profile`` samples the node with py-spy during the hot scenario (``pip install py-spy``).
Everything binds to 127.0.0.1 and every phase has a bounded duration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx

__all__ = ["main"]

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
PREFIX = "88.118.8"
CONNECTIONS = 32
HOT_HANDLES = 1000
SEED_CHUNK = 10_000
ADMIN_TOKEN = "bench-admin-token"

# wrk scripts: each request picks a path; done() prints one JSON line with the figures.
_LUA_COMMON = """
math.randomseed(os.time() + tonumber(tostring({{}}):sub(8), 16) % 1000)
local n = {count}
local hot = {hot}
local kind = "{kind}"
local base = "/api/handles/{prefix}/"
request = function()
  local i
  if kind == "hot" then
    i = math.random(hot)
  elseif kind == "zipf" then
    -- P(k) ~ 1/k: the inverse CDF of log-uniform is n^u.
    i = math.floor(n ^ math.random())
  elseif kind == "fill" then
    counter = (counter or 0) + 1
    i = counter
  else
    i = math.random(n)
  end
  if kind == "notfound" then
    return wrk.format("GET", base .. string.format("MISSING%07d", i))
  end
  return wrk.format("GET", base .. string.format("B%07d", i))
end
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    'RESULT {{"requests": %d, "seconds": %.3f, "errors": %d, "non2xx": %d, "p50": %.3f, "p99": %.3f, "p999": %.3f}}\\n',
    summary.requests, summary.duration / 1e6, errors, summary.errors.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
"""

_BASELINE_APP = """
import sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

BODY = open(sys.argv[2], "rb").read()


async def record(request):
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/api/handles/{handle:path}", record)])
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop="auto",
            http="auto", proxy_headers=False)
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _values_text(i: int) -> str:
    """A typical product record: URL, contact, description, batch (about 400 bytes stored)."""
    from registry import HandleValue, encode_values

    stamp = "2026-01-01T00:00:00Z"
    return encode_values(
        [
            HandleValue(1, "URL", "string", f"https://example.com/products/B{i:07d}", 86400, stamp),
            HandleValue(2, "EMAIL", "string", "quality@example.com", 86400, stamp),
            HandleValue(3, "DESC", "string", f"Motor controller, batch {i % 9973}", 86400, stamp),
            HandleValue(4, "BATCH", "string", f"2106-{i % 97:02d}", 86400, stamp),
        ]
    )


async def _prepare_database(admin_url: str, count: int, reseed: bool) -> str:
    """Create, migrate and seed ``idnode_bench_<count>`` once; later runs reuse it."""
    import asyncpg
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from registry import Database, upgrade

    # The bulk path itself (executemany); the load-test kit will share one seeding module.
    from registry._repository import Records

    name = f"idnode_bench_{count}"
    admin_dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(False)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(admin_dsn, timeout=10)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and reseed:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    db = Database(url)
    try:
        await upgrade(db)
        async with db.read() as session:
            have = await session.scalar(text("SELECT count(*) FROM records"))
        if have != count:
            async with db.write() as session:
                await session.execute(text("DELETE FROM records"))
            started = time.monotonic()
            now = datetime.now(UTC)
            for low in range(1, count + 1, SEED_CHUNK):
                rows = [
                    {
                        "handle": f"{PREFIX}/B{i:07d}",
                        "prefix": PREFIX,
                        "values": _values_text(i),
                        "template_version": None,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in range(low, min(low + SEED_CHUNK, count + 1))
                ]
                async with db.write() as session:
                    await Records(session).insert_many(rows)
            async with db.write() as session:
                await session.execute(text("ANALYZE records"))
            print(f"seeded {count:,} identifiers in {time.monotonic() - started:.1f} s", flush=True)
        else:
            print(f"reusing {name} ({count:,} identifiers)", flush=True)
    finally:
        await db.dispose()
    return url


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in time")


def _wrk(url: str, kind: str, count: int, seconds: float, workdir: Path) -> dict[str, float]:
    script = workdir / f"{kind}.lua"
    script.write_text(
        _LUA_COMMON.format(count=count, hot=HOT_HANDLES, kind=kind, prefix=PREFIX), encoding="utf-8"
    )
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            figures = json.loads(line.removeprefix("RESULT "))
            figures["rps"] = figures["requests"] / figures["seconds"]
            return figures
    raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _worker_pid(parent: int) -> int:
    """uvicorn with one worker serves in its own process; with ``--workers 1`` it is the parent."""
    children = Path(f"/proc/{parent}/task/{parent}/children")
    kids = children.read_text().split() if children.exists() else []
    return int(kids[-1]) if kids else parent


def _profile(pid: int, seconds: float, workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = workdir / "hot.collapsed"
    process = subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, out


def _summarise_profile(path: Path, top: int = 18) -> str:
    """Self time per function and inclusive time of a few landmarks, from collapsed stacks."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        count = int(samples)
        total += count
        frames = [
            frame.split(" (")[0] + " (" + frame.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
            for frame in stack.split(";")
        ]
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples; self time:"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in self_time.most_common(top)]
    landmarks = (
        "HotPath.__call__ (hot.py)",
        "RecordCache.fresh (_cache.py)",
        "_send (hot.py)",
        "RequestResponseCycle.send (httptools_impl.py)",
        "HttpToolsProtocol.data_received (httptools_impl.py)",
        "FastAPI.__call__ (applications.py)",
        "Resolver._read (_resolver.py)",
    )
    lines.append("inclusive:")
    lines += [
        f"  {100 * inclusive[name] / total:5.1f}%  {name}" for name in landmarks if inclusive[name]
    ]
    return "\n".join(lines)


def _fill(url: str, count: int, workdir: Path) -> int:
    """Resolve every identifier once so the whole set is cached (bounded by a time limit).

    Returns how many requests were answered (``count`` when every record is now cached).
    """
    script = workdir / "fill.lua"
    script.write_text(
        _LUA_COMMON.format(count=count, hot=HOT_HANDLES, kind="fill", prefix=PREFIX)
        + f"\nresponse = function() filled = (filled or 0) + 1 if filled >= {count} then wrk.thread:stop() end end\n",
        encoding="utf-8",
    )
    limit = max(60, count // 400)
    result = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{limit}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        timeout=limit + 60,
        check=False,
    )
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return int(json.loads(line.removeprefix("RESULT "))["requests"])
    return 0


def run(args: argparse.Namespace) -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: sudo apt-get install -y wrk", file=sys.stderr)
        return 2
    count = 50_000 if args.quick else args.count
    seconds = 5.0 if args.quick else args.seconds
    if args.quick:
        args.rounds = min(args.rounds, 2)
    database_url = asyncio.run(_prepare_database(args.postgres, count, args.reseed))
    workdir = Path(tempfile.mkdtemp(prefix="bench-resolve-"))
    node_port, base_port = _free_port(), _free_port()
    node_url, base_url = f"http://127.0.0.1:{node_port}", f"http://127.0.0.1:{base_port}"
    env = {
        **os.environ,
        "IDNODE_DATABASE_URL": database_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_NODE_CODE": "88.118",
    }
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "node",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(node_port),
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    processes = [node]
    try:
        _wait_ready(node_url + "/healthz", node)
        sample = httpx.get(f"{node_url}/api/handles/{PREFIX}/B0000001", timeout=10)
        assert sample.status_code == 200, sample.text
        body_file = workdir / "record.json"
        body_file.write_bytes(sample.content)
        baseline_script = workdir / "baseline.py"
        baseline_script.write_text(textwrap.dedent(_BASELINE_APP), encoding="utf-8")
        baseline = subprocess.Popen(
            [sys.executable, str(baseline_script), str(base_port), str(body_file)]
        )
        processes.append(baseline)
        _wait_ready(base_url + "/", baseline)
        print(
            f"record size {len(sample.content)} bytes; {CONNECTIONS} connections; {seconds:.0f} s per scenario"
        )

        results: dict[str, dict[str, float]] = {}
        # Warm the hot set, and the servers, before measuring.
        _wrk(node_url, "hot", count, 2, workdir)
        _wrk(base_url, "hot", count, 2, workdir)
        # Baseline and node alternate, so a burst of load from elsewhere hits both alike;
        # the best of the rounds is reported for each.
        profile = None
        rounds: dict[str, list[dict[str, float]]] = {"baseline hot": [], "node hot": []}
        for round_number in range(args.rounds):
            rounds["baseline hot"].append(_wrk(base_url, "hot", count, seconds, workdir))
            if args.profile and round_number == 0:
                profile = _profile(_worker_pid(node.pid), max(2, seconds - 1), workdir)
            rounds["node hot"].append(_wrk(node_url, "hot", count, seconds, workdir))
        for name, runs in rounds.items():
            results[name] = max(runs, key=lambda r: r["rps"])
        results["node zipf"] = _wrk(node_url, "zipf", count, seconds, workdir)
        results["node uniform"] = _wrk(node_url, "uniform", count, seconds, workdir)
        results["node not-found"] = _wrk(node_url, "notfound", count, seconds, workdir)
        rss_before_fill = _rss_mib(_worker_pid(node.pid))

        print(
            f"\n{'scenario':<18}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'p99.9 ms':>10}{'non-2xx':>9}{'errors':>8}"
        )
        for name, r in results.items():
            print(
                f"{name:<18}{r['rps']:>10.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}{r['p999']:>10.2f}{r['non2xx']:>9.0f}{r['errors']:>8.0f}"
            )
        ratio = results["node hot"]["rps"] / results["baseline hot"]["rps"]
        print(
            f"\nhot ratio = node / baseline = {ratio:.2f} (best of {args.rounds} alternating rounds)"
        )
        for name, runs in rounds.items():
            print(f"  {name} rounds: " + ", ".join(f"{r['rps']:.0f}" for r in runs) + " req/s")
        print(f"node RSS after the scenarios: {rss_before_fill:.0f} MiB")
        if args.fill:
            started = time.monotonic()
            answered = _fill(node_url, count, workdir)
            rss = _rss_mib(_worker_pid(node.pid))
            print(
                f"node RSS after resolving {min(answered, count):,} of {count:,} records once:"
                f" {rss:.0f} MiB (in {time.monotonic() - started:.0f} s)"
            )
        if profile:
            spy, out = profile
            spy.wait(timeout=60)
            print("\npy-spy, node during the hot scenario:")
            print(_summarise_profile(out) if out.exists() else "py-spy wrote no profile")
        print(
            "\n(one shared 2-core machine: wrk, the servers and PostgreSQL compete for the CPUs;"
            " compare the ratio, not the absolute figures)"
        )
        return 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_resolve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="50,000 identifiers, 5 s per scenario")
    parser.add_argument("--count", type=int, default=1_000_000, help="identifiers to seed")
    parser.add_argument("--seconds", type=float, default=15.0, help="duration of each scenario")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin URL of the server")
    parser.add_argument("--rounds", type=int, default=3, help="alternating hot rounds")
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument("--fill", action="store_true", help="cache every record, then report RSS")
    parser.add_argument("--profile", action="store_true", help="py-spy the node's hot scenario")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
