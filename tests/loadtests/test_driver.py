"""The driver against a real node: the CLI's report, errors by kind, the library API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from loadtests import (
    Credential,
    Http,
    Outcome,
    Plan,
    RunSpec,
    build_scenario,
    run_open_loop,
    run_scenario,
)

from ..conftest import ADMIN_TOKEN
from ..node.helpers import basic_auth, create_enterprise
from ..servers import ThreadedServer

REPORT_KEYS = {
    "scenario",
    "target",
    "offered_rate",
    "achieved_rate",
    "requests",
    "completed",
    "succeeded",
    "errors",
    "p50",
    "p90",
    "p99",
    "p99.9",
    "max",
    "service_time",
    "timeline",
    "percentile_curve",
    "hdr_histogram",
}


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadtests", "run", "--no-progress", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_writes_a_json_and_html_report(node_server: ThreadedServer, tmp_path: Path) -> None:
    done = _run_cli(
        "--scenario", "resolve-zipf", "--rate", "40", "--duration", "3",
        "--target", node_server.url, "--out", str(tmp_path), "--keys", "20",
        "--admin-token", ADMIN_TOKEN, "--fail-on-errors",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "resolve-zipf.json").read_text())
    assert set(report) >= REPORT_KEYS
    assert report["scenario"] == "resolve-zipf"
    assert report["offered_rate"] == 40
    assert report["requests"] == report["completed"] == report["succeeded"] == 120
    assert report["errors"] == {} and report["error_count"] == 0
    assert report["achieved_rate"] > 0
    assert report["keyspace"] == 20
    assert 0 < report["p50"] <= report["p90"] <= report["p99"] <= report["p99.9"] <= report["max"]
    assert sum(row["completed"] for row in report["timeline"]) == 120
    assert report["percentile_curve"][-1][0] == 100.0
    page = (tmp_path / "resolve-zipf.html").read_text()
    assert page.count("<svg") == 3
    for title in ("Latency by percentile", "Throughput over time", "Latency over time"):
        assert title in page
    assert "p99.9" in done.stdout


def test_wrong_answers_are_counted_by_kind(node_server: ThreadedServer, tmp_path: Path) -> None:
    prefix = create_enterprise(node_server.url, "Empty")["prefix"]
    # A seeded key space that was never seeded: every resolution is a 404, an error here.
    done = _run_cli(
        "--scenario", "resolve-hot", "--rate", "20", "--duration", "1",
        "--target", node_server.url, "--out", str(tmp_path),
        "--prefix", prefix, "--keyspace", "1", "--fail-on-errors",
    )  # fmt: skip
    assert done.returncode == 1
    report = json.loads((tmp_path / "resolve-hot.json").read_text())
    assert report["errors"] == {"http-404": 20}
    assert report["succeeded"] == 0


def test_setup_errors_name_what_is_missing(tmp_path: Path) -> None:
    done = _run_cli(
        "--scenario", "recursive", "--rate", "1", "--duration", "1",
        "--target", "http://127.0.0.1:9", "--out", str(tmp_path),
    )  # fmt: skip
    assert done.returncode == 2
    assert "--prefix" in done.stderr and "--keyspace" in done.stderr


async def test_library_run_registers_through_handle_rest(node_server: ThreadedServer) -> None:
    credential = create_enterprise(node_server.url, "Writer")
    plan = Plan(scenario="register", prefix=credential["prefix"], run_id="t1")
    scenario = build_scenario(plan, Credential(**credential))
    async with Http(node_server.url) as http:
        result = await run_open_loop(
            lambda i: scenario(http, i), rate=20, duration=1, progress=False
        )
    assert result.succeeded == 20 and not result.errors
    listed = httpx.get(
        f"{node_server.url}/api/handles",
        params={"prefix": credential["prefix"]},
        auth=basic_auth(credential),
    )
    assert listed.status_code == 200, listed.text
    created = [h for h in listed.json()["handles"] if "/LTN-t1-" in h]
    assert len(created) == 20


async def test_failing_calls_become_errors_not_crashes() -> None:
    async def call(i: int) -> Outcome:
        if i % 2:
            raise httpx.ConnectError("refused")
        return Outcome(True)

    result = await run_open_loop(call, rate=50, duration=0.2, progress=False)
    assert result.completed == 10
    assert result.succeeded == 5
    assert dict(result.errors) == {"connect": 5}
    assert result.latency.count == 10


async def test_run_scenario_is_the_cli_without_argv(node_server: ThreadedServer) -> None:
    report = await run_scenario(
        RunSpec(
            scenario="not-found",
            rate=20,
            duration=1,
            target=node_server.url,
            admin_token=ADMIN_TOKEN,
            progress=False,
        )
    )
    assert report["succeeded"] == report["requests"] == 20
    assert report["errors"] == {}
    assert set(report["generator_lag"]) == {"p50", "p99", "max"}


async def test_warmup_requests_run_but_are_not_measured() -> None:
    seen: list[int] = []

    async def call(i: int) -> Outcome:
        seen.append(i)
        return Outcome(i >= 5, "early")

    result = await run_open_loop(call, rate=50, duration=0.2, warmup=0.1, progress=False)
    assert sorted(seen) == list(range(15))
    assert result.scheduled == result.completed == result.succeeded == 10
    assert result.warmup_errors == 5
    assert result.latency.count == 10 and not result.errors


async def test_a_cancelled_run_returns_what_it_measured() -> None:
    calls: list[int] = []

    async def call(i: int) -> Outcome:
        calls.append(i)
        return Outcome(True)

    run = asyncio.create_task(run_open_loop(call, rate=200, duration=600, progress=False))
    while len(calls) < 5:
        await asyncio.sleep(0.01)
    run.cancel()
    result = await run
    assert result.interrupted
    assert result.scheduled == result.completed == result.succeeded >= 5
    assert result.latency.count == result.completed
