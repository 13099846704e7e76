"""One scenario run from setup to report, as a function: what the CLI and benchmarks call."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass
from typing import Any

import httpx

from ._bulk import snms_token
from ._driver import run_open_loop
from ._http import Http
from ._keys import seeded_suffix
from ._report import build_report
from ._scenarios import READS, WRITES, Plan, build_scenario
from ._setup import Credential, SetupError, ensure_credential, put_handles

__all__ = ["RunSpec", "client_for", "credential_for", "run_scenario"]

# Keys a run creates for itself when no seeded key space is named (keyspace).
_DEFAULT_KEYS = {"resolve-hot": 1, "resolve-zipf": 1000, "mixed": 1000}
_MAX_COLD_KEYS = 2000


@dataclass
class RunSpec:
    """Everything a run needs; the fields mirror ``python -m loadtests run`` options."""

    scenario: str
    rate: float
    duration: float
    target: str
    admin_token: str | None = None
    username: str | None = None
    password: str | None = None
    prefix: str | None = None
    keyspace: int | None = None
    keys: int | None = None
    batch_size: int = 100
    register_share: float = 0.05
    zipf_s: float = 1.0
    seed: int = 7
    warmup: float = 0.0
    connections: int = 100
    timeout: float = 10.0
    progress: bool = True
    label: str | None = None


def client_for(target: str, *, connections: int = 100, timeout: float = 10.0) -> httpx.AsyncClient:
    """An HTTP client for load: keep-alive, at most ``connections`` open, one timeout for all."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(base_url=target, timeout=timeout, limits=limits)


async def credential_for(client: httpx.AsyncClient, spec: Any) -> Credential:
    """The credential ``spec`` names, or a new load-test enterprise made with its admin token."""
    return await ensure_credential(
        client,
        admin_token=spec.admin_token,
        username=spec.username,
        password=spec.password,
        prefix=spec.prefix,
        name="idnode load test",
    )


async def _prepare(
    client: httpx.AsyncClient, spec: RunSpec, plan: Plan, notes: list[str]
) -> tuple[Credential | None, str | None]:
    name = plan.scenario
    credential = None
    if name == "recursive" and not (spec.prefix and spec.keyspace):
        raise SetupError(
            "recursive resolves another node's identifiers: give --prefix (served elsewhere) and "
            "--keyspace (seeded there with `python -m loadtests seed --target OTHER`)"
        )
    needs_keys = name in READS and not spec.keyspace
    if name in WRITES or needs_keys or (name == "not-found" and not spec.prefix):
        credential = await credential_for(client, spec)
        plan.prefix = credential.prefix
    else:
        plan.prefix = spec.prefix or ""
    if spec.keyspace:
        plan.keyspace = spec.keyspace
    elif name in READS:
        requests = round(spec.rate * spec.duration)
        keys = spec.keys or _DEFAULT_KEYS.get(name) or min(requests, _MAX_COLD_KEYS)
        if name == "resolve-cold" and keys < requests:
            notes.append(
                f"resolve-cold visited {keys} identifiers for {requests} requests, so repeats may "
                "hit the cache: seed more and pass --keyspace"
            )
        assert credential is not None
        if spec.progress:
            print(f"creating {keys} identifier(s) under {plan.prefix} …", file=sys.stderr)
        await put_handles(client, credential, (seeded_suffix(i) for i in range(keys)))
        plan.keyspace = keys
    token = None
    if name == "batch-register" and credential is not None:
        token = await snms_token(client, credential)
    return credential, token


async def run_scenario(spec: RunSpec) -> dict[str, Any]:
    """Set up, drive at a fixed rate, and return the report (``write_report`` saves it)."""
    plan = Plan(
        scenario=spec.scenario,
        batch_size=spec.batch_size,
        register_share=spec.register_share,
        zipf_s=spec.zipf_s,
        seed=spec.seed,
    )
    notes: list[str] = []
    load_before = _load_average()
    async with client_for(spec.target, timeout=max(spec.timeout, 30.0)) as client:
        credential, token = await _prepare(client, spec, plan, notes)
    scenario = build_scenario(plan, credential, token)
    async with Http(spec.target, connections=spec.connections, timeout=spec.timeout) as http:
        result = await run_open_loop(
            lambda i: scenario(http, i),
            rate=spec.rate,
            duration=spec.duration,
            warmup=spec.warmup,
            progress=spec.progress,
            label=spec.label or plan.scenario,
        )
    return build_report(
        result,
        scenario=plan.scenario,
        target=spec.target,
        prefix=plan.prefix,
        keyspace=plan.keyspace,
        items_per_request=scenario.items_per_request,
        connections=spec.connections,
        host={
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": _load_average(),
            "python": platform.python_version(),
        },
        notes=notes,
    )


def _load_average() -> list[float] | None:
    # A busy machine explains a bad run: the report says how busy it was.
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None
