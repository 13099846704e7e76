"""``python -m loadtests smoke``: start a throwaway node on SQLite, run each tool briefly, stop it.

What ``make loadtest`` runs. The node is a child process on a free loopback port with its own
database in a temporary directory; it is stopped however the smoke ends.
"""

from __future__ import annotations

import asyncio
import importlib.util
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import httpx

from ._bulk import bulk_create
from ._compare import ratios
from ._node import started_node
from ._report import write_report
from ._runner import RunSpec, client_for, run_scenario
from ._setup import SetupError, ensure_credential

__all__ = ["SMOKE_SCENARIOS", "run_smoke"]

SMOKE_SCENARIOS = [
    "healthz",
    "resolve-hot",
    "resolve-zipf",
    "resolve-cold",
    "not-found",
    "register",
    "mixed",
    "batch-register",
]
_SEED_PREFIX = "88.118.990"


def _serves_snms(url: str) -> bool:
    response = httpx.post(f"{url}/identity/token", json={"username": "", "password": ""})
    return response.status_code not in (404, 405)


def _locust(url: str, admin_token: str, out: Path, seconds: int) -> int:
    locustfile = Path(__file__).with_name("locustfile.py")
    command = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-H", url,
        "-u", "10", "-r", "10", "-t", f"{seconds}s", "--csv", str(out / "locust"),
        "--html", str(out / "locust.html"), "--admin-token", admin_token, "--keys", "100",
        "--only-summary", "--exit-code-on-error", "1", "Mixed",
    ]  # fmt: skip
    return subprocess.run(command, timeout=seconds + 120).returncode


async def _scenario(spec: RunSpec, out: Path) -> dict | str:
    """One run with its report written to ``out``; the reason instead when it could not run."""
    try:
        report = await run_scenario(spec)
    except (SetupError, httpx.TransportError) as exc:
        return f"{type(exc).__name__}: {exc}"
    write_report(report, out)
    return report


async def _seed(url: str, admin_token: str, count: int) -> str | None:
    """``count`` identifiers under ``_SEED_PREFIX`` through batchCreate; the failure, if any."""
    try:
        async with client_for(url, connections=4) as client:
            credential = await ensure_credential(
                client,
                admin_token=admin_token,
                username=None,
                password=None,
                prefix=_SEED_PREFIX,
                name="idnode load test",
            )
            result = await bulk_create(client, credential, count=count, clients=4)
    except (SetupError, httpx.TransportError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if result.failed:
        return f"{sum(result.failed.values())} failed, e.g. {result.failed.most_common(1)[0][0]}"
    return None


def _line(name: str, report: dict, baseline: dict | None) -> str:
    # Same run, same machine: the ratio to the bare HTTP server is the figure to quote.
    versus = ratios(baseline, report, ("p50", "p99")) if baseline else {}
    return (
        f"{name:15} achieved {report['achieved_rate']:>7}/s  p50 {report['p50']:>8} ms  "
        f"p99 {report['p99']:>8} ms  max {report['max']:>8} ms  errors {report['error_count']}"
        + (f"  (p50 ×{versus['p50']}, p99 ×{versus['p99']} of healthz)" if versus else "")
    )


def run_smoke(
    out: Path,
    *,
    rate: float = 50,
    duration: float = 3,
    warmup: float = 1,
    scenarios: Sequence[str] = SMOKE_SCENARIOS,
    locust: bool = True,
    progress: bool = True,
) -> int:
    """Run the smoke; 0 when every tool ran and no request failed."""
    token = secrets.token_urlsafe(16)
    failed: list[str] = []
    lines: list[str] = []
    baseline: dict | None = None
    with (
        tempfile.TemporaryDirectory(prefix="idnode-loadtest-") as tmp,
        started_node(Path(tmp), token) as node,
    ):
        url = node.url
        print(f"node on {url} (SQLite in {tmp})", file=sys.stderr)
        snms = _serves_snms(url)
        common = {"target": url, "admin_token": token, "progress": progress}
        for name in scenarios:
            if name == "batch-register" and not snms:
                lines.append(f"{name:15} skipped: this node does not serve SNMS batchCreate")
                continue
            spec = RunSpec(name, rate, duration, warmup=warmup, keys=100, batch_size=20, **common)
            report = asyncio.run(_scenario(spec, out))
            if isinstance(report, str):
                failed.append(name)
                lines.append(f"{name:15} FAILED: {report}")
                continue
            if report["error_count"] or report["interrupted"]:
                failed.append(name)
            if name == "healthz":
                baseline = report
            lines.append(_line(name, report, baseline))
        if snms:
            count = 2000
            cold = RunSpec(
                "resolve-cold", rate, duration, prefix=_SEED_PREFIX, keyspace=count, **common
            )
            problem = asyncio.run(_seed(url, token, count))
            report = problem or asyncio.run(_scenario(cold, out / "seeded"))
            if problem is not None:
                failed.append("seed")
                lines.append(f"seed            FAILED: {problem}")
            elif isinstance(report, str) or report["error_count"]:
                failed.append("resolve-cold on seeded data")
                lines.append(f"resolve-cold    FAILED on seeded data: {report}")
            else:
                lines.append(
                    f"seed            ok: {count} identifiers through batchCreate, then "
                    f"resolve-cold over them ({out / 'seeded'})"
                )
        else:
            lines.append("seed            skipped: this node does not serve SNMS batchCreate")
        if not locust:
            lines.append("locust          skipped (--no-locust)")
        elif importlib.util.find_spec("locust") is None:
            lines.append("locust          skipped: not installed (pip install -e '.[locust]')")
        elif _locust(url, token, out, max(3, int(duration))) != 0:
            failed.append("locust Mixed")
        else:
            lines.append(f"locust Mixed    ok: {out / 'locust.html'}, {out / 'locust_stats.csv'}")
    print("\n".join(["", "load-test smoke:", *lines]))
    print(f"FAILED: {', '.join(failed)}" if failed else f"all passed; reports in {out}")
    return 1 if failed else 0
