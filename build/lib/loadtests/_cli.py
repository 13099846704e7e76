"""``python -m loadtests run|seed|smoke``: the open-loop driver, the bulk seeder, the smoke."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from tqdm import tqdm

from ._bulk import MAX_BATCH, bulk_create
from ._report import write_report
from ._runner import RunSpec, client_for, credential_for, run_scenario
from ._scenarios import SCENARIOS
from ._setup import SetupError

__all__ = ["main"]


def _env(name: str) -> str | None:
    return os.environ.get(f"LOADTEST_{name}") or None


def _add_target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default=_env("TARGET") or "http://127.0.0.1:8000",
        help="the node's base URL (env LOADTEST_TARGET)",
    )
    parser.add_argument(
        "--admin-token",
        default=_env("ADMIN_TOKEN") or os.environ.get("IDNODE_ADMIN_TOKEN"),
        help="creates a load-test enterprise when no credential is given (env LOADTEST_ADMIN_TOKEN or IDNODE_ADMIN_TOKEN)",
    )
    parser.add_argument(
        "--username",
        default=_env("USERNAME"),
        help="e.g. 300:88.118.8/ADMIN (env LOADTEST_USERNAME)",
    )
    parser.add_argument("--password", default=_env("PASSWORD"), help="(env LOADTEST_PASSWORD)")
    parser.add_argument(
        "--prefix",
        default=_env("PREFIX"),
        help="the prefix to load or read (env LOADTEST_PREFIX); a new one when omitted",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m loadtests``."""
    parser = argparse.ArgumentParser(prog="python -m loadtests", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run one scenario at a fixed rate and write its report")
    run.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    run.add_argument("--rate", type=float, required=True, help="requests per second (offered)")
    run.add_argument("--duration", type=float, required=True, help="seconds")
    run.add_argument(
        "--warmup", type=float, default=0.0, help="seconds at the same rate before measuring"
    )
    run.add_argument("--out", type=Path, default=Path("loadtest-results"), help="report directory")
    run.add_argument("--connections", type=int, default=100, help="most open connections")
    run.add_argument(
        "--keyspace",
        type=int,
        help="read the N identifiers LT000000000… a seed created under --prefix (no setup)",
    )
    run.add_argument(
        "--keys", type=int, help="identifiers to create for this run when no --keyspace"
    )
    run.add_argument("--batch-size", type=int, default=100, help="items per batch-register request")
    run.add_argument(
        "--register-share", type=float, default=0.05, help="mixed: share that registers"
    )
    run.add_argument(
        "--zipf-s", type=float, default=1.0, help="Zipf exponent for resolve-zipf/mixed"
    )
    run.add_argument("--seed", type=int, default=7, help="random seed (key order, mix)")
    run.add_argument("--fail-on-errors", action="store_true", help="exit 1 if any request failed")
    _add_target(run)

    seed = sub.add_parser("seed", help="bulk-load identifiers through SNMS batchCreate")
    seed.add_argument("--count", type=int, required=True, help="identifiers to create")
    seed.add_argument("--start", type=int, default=0, help="first index (LT000000000 is 0)")
    seed.add_argument(
        "--batch-size", type=int, default=MAX_BATCH, help=f"items per batch (≤ {MAX_BATCH})"
    )
    seed.add_argument("--clients", type=int, default=4, help="concurrent batch loops")
    seed.add_argument("--template-version", help="register against this template version")
    _add_target(seed)

    smoke = sub.add_parser("smoke", help="start a node on SQLite, run each tool briefly, stop it")
    smoke.add_argument("--out", type=Path, default=Path("var/loadtest"), help="report directory")
    smoke.add_argument("--rate", type=float, default=50, help="requests per second per scenario")
    smoke.add_argument("--duration", type=float, default=3, help="seconds per scenario")
    smoke.add_argument("--warmup", type=float, default=1, help="unmeasured seconds per scenario")
    smoke.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="repeatable")
    smoke.add_argument("--no-locust", action="store_true", help="skip the Locust run")
    smoke.add_argument("--no-progress", action="store_true", help="no progress bars")
    return parser


def _spec(args: argparse.Namespace) -> RunSpec:
    return RunSpec(
        scenario=args.scenario,
        rate=args.rate,
        duration=args.duration,
        target=args.target,
        admin_token=args.admin_token,
        username=args.username,
        password=args.password,
        prefix=args.prefix,
        keyspace=args.keyspace,
        keys=args.keys,
        batch_size=args.batch_size,
        register_share=args.register_share,
        zipf_s=args.zipf_s,
        seed=args.seed,
        warmup=args.warmup,
        connections=args.connections,
        timeout=args.timeout,
        progress=not args.no_progress,
    )


async def cmd_run(args: argparse.Namespace) -> int:
    report = await run_scenario(_spec(args))
    json_path, html_path = write_report(report, args.out)
    print(
        f"{report['scenario']}: offered {report['offered_rate']}/s, "
        f"achieved {report['achieved_rate']}/s, p50 {report['p50']} ms, p99 {report['p99']} ms, "
        f"p99.9 {report['p99.9']} ms, max {report['max']} ms, errors {report['error_count']}\n"
        f"report: {json_path}  {html_path}"
    )
    if report["interrupted"]:
        return 130
    return 1 if args.fail_on_errors and report["error_count"] else 0


async def cmd_seed(args: argparse.Namespace) -> int:
    async with client_for(args.target, connections=args.clients, timeout=args.timeout) as client:
        credential = await credential_for(client, args)
        with tqdm(total=args.count, unit="id", desc="seed", disable=args.no_progress) as bar:
            result = await bulk_create(
                client,
                credential,
                count=args.count,
                start=args.start,
                batch_size=args.batch_size,
                clients=args.clients,
                template_version=args.template_version,
                on_batch=bar.update,
            )
    latency = result.batch_latency.summary()
    print(
        f"seeded {credential.prefix}: {result.created} created, {result.existed} already there, "
        f"{sum(result.failed.values())} failed in {result.elapsed:.1f} s "
        f"({result.per_second:.0f} identifiers/s; batch p50 {latency['p50']} ms, p99 {latency['p99']} ms)\n"
        f"run against them with: --prefix {credential.prefix} --keyspace {args.start + args.count}"
    )
    for reason, count in result.failed.most_common(5):
        print(f"  {count} failed: {reason}", file=sys.stderr)
    return 1 if result.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m loadtests``."""
    args = build_parser().parse_args(argv)
    if args.command == "smoke":
        from ._smoke import SMOKE_SCENARIOS, run_smoke

        return run_smoke(
            args.out,
            rate=args.rate,
            duration=args.duration,
            warmup=args.warmup,
            scenarios=args.scenario or SMOKE_SCENARIOS,
            locust=not args.no_locust,
            progress=not args.no_progress,
        )
    command = cmd_run if args.command == "run" else cmd_seed
    try:
        return asyncio.run(command(args))
    except KeyboardInterrupt:
        print("loadtests: interrupted (a run's report covers what completed)", file=sys.stderr)
        return 130
    except SetupError as exc:
        print(f"loadtests: {exc}", file=sys.stderr)
        return 2
    except httpx.TransportError as exc:
        print(f"loadtests: cannot reach {args.target}: {exc}", file=sys.stderr)
        return 2
