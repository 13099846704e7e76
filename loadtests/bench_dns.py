"""DNS benchmark: the node's DNS frontend beside Unbound serving the same names, driven by dnsperf.

    python -m loadtests.bench_dns            # 100,000 identifiers, 10 s per cached scenario
    python -m loadtests.bench_dns --quick    # 20,000 identifiers, under a minute

Starts, in one run, (a) the node (the kit's ``started_node``: ``idnode serve``, one worker, the
DNS frontend on a free loopback port, no response-rate limit) on PostgreSQL, seeded with the
kit's identifiers (``bench_resolve``'s database ``idnode_bench_<count>_<schema head>``, reused by later runs)
and (b) Unbound (Debian ``unbound``) on another loopback port answering the same owner names
with the same URI records from ``local-data``. dnsperf (Debian ``dnsperf``) sends the queries.

- cached: ``HOT`` names asked over and over (after one warm-up pass): the node's ready-answer
  cache against Unbound's local data;
- cold (node only): every seeded name once (``dnsperf -n 1``), each a miss of both the DNS and
  the record cache, so a PostgreSQL read.

Reports queries/s and server CPU per query (utime+stime from ``/proc/<pid>/stat`` of the
server's process tree, before and after), and the ratios node / Unbound. dnsperf shares the two
cores with the servers and is the bottleneck in wall-clock q/s; CPU per query is the figure to
compare. Goals (issue 18): CPU per cached answer ≤ 1.5 × Unbound's; cold ≥ 3,000 q/s.
Everything binds to 127.0.0.1 and every phase is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dns.name

from loadtests import (
    cpu_seconds,
    free_port,
    process_tree,
    ratio_table,
    ratios,
    seeded_suffix,
    started_node,
    stop_process,
)
from loadtests.bench_resolve import DEFAULT_POSTGRES, PREFIX, _database, _seed
from registry import Handle
from registry.codec import handle_to_name

__all__ = ["main"]

ZONE = dns.name.from_text("idis.internal.")
HOT = 1000
ADMIN_TOKEN = "bench-admin-token"
_QPS = re.compile(r"Queries per second:\s+([\d.]+)")
_COMPLETED = re.compile(r"Queries completed:\s+(\d+)")
_LOST = re.compile(r"Queries lost:\s+(\d+)")


def owner_names(count: int) -> list[str]:
    """The owner names of the kit's seeded identifiers 0 … count-1."""
    return [
        handle_to_name(Handle.parse(f"{PREFIX}/{seeded_suffix(i)}"), ZONE).to_text()
        for i in range(count)
    ]


def unbound_config(workdir: Path, port: int, names: list[str]) -> Path:
    """An Unbound configuration answering ``names`` with the node's URI records, from local-data."""
    lines = [
        "server:",
        "    interface: 127.0.0.1",
        f"    port: {port}",
        "    do-daemonize: no",
        '    chroot: ""',
        '    username: ""',
        f'    directory: "{workdir}"',
        '    pidfile: ""',
        "    use-syslog: no",
        f'    logfile: "{workdir / "unbound.log"}"',
        "    num-threads: 1",
        '    module-config: "iterator"',
        "    access-control: 127.0.0.0/8 allow",
        "    ratelimit: 0",
        "    ip-ratelimit: 0",
        f'    local-zone: "{ZONE}" static',
        f"    local-data: '{ZONE} 3600 IN SOA {ZONE} hostmaster.{ZONE} 1 3600 600 604800 60'",
    ]
    for i, name in enumerate(names):
        url = f"https://example.com/{PREFIX}/{seeded_suffix(i)}"
        lines.append(f"    local-data: '{name} 86400 IN URI 1 1 \"{url}\"'")
    path = workdir / "unbound.conf"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start_unbound(config: Path, port: int, timeout: float = 30.0) -> subprocess.Popen[bytes]:
    unbound = shutil.which("unbound") or "/usr/sbin/unbound"
    process = subprocess.Popen(
        [unbound, "-d", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"unbound exited with {process.returncode}; see {config.parent}")
        if _answers(port):
            return process
        time.sleep(0.1)
    stop_process(process)
    raise RuntimeError("unbound did not start answering")


def _answers(port: int) -> bool:
    import dns.message
    import dns.query

    try:
        dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1", port=port, timeout=0.3)
    except Exception:
        return False
    return True


def query_file(workdir: Path, name: str, owners: list[str]) -> Path:
    path = workdir / name
    path.write_text("".join(f"{owner} URI\n" for owner in owners), encoding="ascii")
    return path


def tree_cpu(pid: int) -> float:
    return sum(cpu_seconds(p) or 0.0 for p in process_tree(pid))


def dnsperf(
    port: int, queries: Path, server_pid: int, *, seconds: float | None, once: bool = False
) -> dict[str, float]:
    """Run dnsperf against 127.0.0.1:port; q/s, queries and the server's CPU µs per query."""
    args = [shutil.which("dnsperf") or "dnsperf", "-s", "127.0.0.1", "-p", str(port)]
    args += ["-d", str(queries), "-c", "1", "-T", "1", "-q", "200", "-t", "5"]
    args += ["-n", "1"] if once else ["-l", str(seconds)]
    limit = 600 if once else (seconds or 10) + 60
    before = tree_cpu(server_pid)
    started = time.monotonic()
    done = subprocess.run(args, capture_output=True, text=True, timeout=limit, check=False)
    elapsed = time.monotonic() - started
    spent = tree_cpu(server_pid) - before
    qps, completed = _QPS.search(done.stdout), _COMPLETED.search(done.stdout)
    if done.returncode != 0 or qps is None or completed is None:
        raise RuntimeError(f"dnsperf failed ({done.returncode}): {done.stdout[-800:]}{done.stderr}")
    count = int(completed.group(1))
    lost = _LOST.search(done.stdout)
    return {
        "qps": round(float(qps.group(1))),
        "queries": count,
        "lost": int(lost.group(1)) if lost else 0,
        "seconds": round(elapsed, 2),
        "cpu_us_per_query": round(spent * 1e6 / max(count, 1), 2),
    }


def run(args: argparse.Namespace) -> int:
    for tool in ("dnsperf", "unbound"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            print(f"{tool} is missing: make dns-tools (apt-get install dnsperf unbound)")
            return 2
    count = 20_000 if args.quick else args.count
    seconds = 4.0 if args.quick else args.seconds
    database_url = asyncio.run(_database(args.postgres, count, args.reseed))
    workdir = Path(tempfile.mkdtemp(prefix="bench-dns-"))
    dns_port, unbound_port = free_port(udp=True), free_port(udp=True)
    env = {
        "IDNODE_NODE_CODE": "88.118",
        "IDNODE_SIGN_RECORDS": "false",
        "IDNODE_DNS_PORT": str(dns_port),
        "IDNODE_DNS_ZONE": ZONE.to_text(),
        "IDNODE_DNS_RESPONSES_PER_SECOND": "0",
    }
    unbound = None
    try:
        names = owner_names(count)
        hot = query_file(workdir, "hot.txt", names[:HOT])
        cold = query_file(workdir, "cold.txt", names[HOT:])
        unbound = start_unbound(unbound_config(workdir, unbound_port, names), unbound_port)
        with started_node(
            workdir, ADMIN_TOKEN, database_url=database_url, workers=1, timeout=60, env=env
        ) as node:
            asyncio.run(_seed(node.url, database_url, count, not args.no_progress))
            # Cold first, on caches nothing has filled: every answer is a PostgreSQL read.
            cold_node = dnsperf(dns_port, cold, node.pid, seconds=None, once=True)
            for port, pid in ((dns_port, node.pid), (unbound_port, unbound.pid)):
                dnsperf(port, hot, pid, seconds=None, once=True)  # warm up
            cached_node = dnsperf(dns_port, hot, node.pid, seconds=seconds)
            cached_unbound = dnsperf(unbound_port, hot, unbound.pid, seconds=seconds)
        keys = ("qps", "cpu_us_per_query")
        print(f"\n{count:,} identifiers; cached: {HOT} names for {seconds:.0f} s each")
        print("cached answers, Unbound (baseline) vs node (candidate):")
        print(ratio_table(cached_unbound, cached_node, keys))
        cpu_ratio = ratios(cached_unbound, cached_node, keys)["cpu_us_per_query"]
        print(f"\nCPU per cached answer: node / Unbound = {cpu_ratio} (goal ≤ 1.5)")
        print(
            f"cold answers (PostgreSQL reads, {cold_node['queries']:,} names once):"
            f" {cold_node['qps']:,} q/s, {cold_node['cpu_us_per_query']} µs CPU per query"
            f" (goal ≥ 3,000 q/s); lost {cold_node['lost']}"
        )
        figures = {
            "identifiers": count,
            "cached_node": cached_node,
            "cached_unbound": cached_unbound,
            "cpu_ratio": cpu_ratio,
            "cold_node": cold_node,
        }
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(
            "\n(one shared 2-core machine: dnsperf, the servers and PostgreSQL compete for the"
            " CPUs; compare CPU per query and the ratio, not the absolute q/s)"
        )
        return 0
    finally:
        if unbound is not None:
            stop_process(unbound)
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_dns",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="20,000 identifiers, 4 s scenarios")
    parser.add_argument("--count", type=int, default=100_000, help="identifiers to seed")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of a cached run")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin URL of the server")
    parser.add_argument("--reseed", action="store_true", help="drop and seed the database again")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar while seeding")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
