"""The run report: ``<scenario>.json`` (figures operators and scripts read) beside an HTML page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from ._driver import RunResult

__all__ = ["build_report", "write_report"]

# Past this the load generator, not the node, shaped the latencies: say so in the report.
_LAG_WARNING_S = 0.010


def build_report(
    result: RunResult, *, scenario: str, target: str, **details: Any
) -> dict[str, Any]:
    """The JSON report of a run; ``details`` (key space, batch size, …) are added as they are."""
    summary = result.latency.summary()
    items_per_s = result.items_ok / result.elapsed if result.elapsed else 0.0
    notes = list(details.pop("notes", []))
    lag = result.lag.summary()
    if lag["p99"] > _LAG_WARNING_S * 1000:
        notes.append(
            f"the load generator itself ran late (p99 {lag['p99']} ms, max {lag['max']} ms behind "
            "its schedule); latencies include that delay: lower --rate or run several drivers"
        )
    if result.interrupted:
        notes.append(f"interrupted after {result.elapsed:.1f} s: figures cover what completed")
    if result.errors:
        notes.append(f"{sum(result.errors.values())} request(s) failed; see errors")
    return {
        "scenario": scenario,
        "target": target,
        "started_at": dt.datetime.fromtimestamp(result.started_at, dt.UTC).isoformat(),
        "duration_s": result.duration,
        "warmup_s": result.warmup,
        "warmup_errors": result.warmup_errors,
        "interrupted": result.interrupted,
        "elapsed_s": round(result.elapsed, 3),
        "offered_rate": result.rate,
        "achieved_rate": round(result.completed / result.elapsed, 2) if result.elapsed else 0.0,
        "success_rate": round(result.succeeded / result.elapsed, 2) if result.elapsed else 0.0,
        "items_per_s": round(items_per_s, 2),
        "requests": result.scheduled,
        "completed": result.completed,
        "succeeded": result.succeeded,
        "error_count": sum(result.errors.values()),
        "errors": dict(sorted(result.errors.items())),
        "latency_unit": "ms",
        **summary,
        "service_time": result.service.summary(),
        "generator_max_lag_ms": round(result.max_lag * 1000, 3),
        "generator_lag": {key: lag[key] for key in ("p50", "p99", "max")},
        **details,
        "notes": notes,
        "timeline": [row.as_dict() for row in result.timeline],
        "percentile_curve": [[round(p, 4), round(v, 3)] for p, v in result.latency.curve()],
        "service_curve": [[round(p, 4), round(v, 3)] for p, v in result.service.curve()],
        "hdr_histogram": result.latency.encode(),
    }


def write_report(report: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``out/<scenario>.json`` and ``out/<scenario>.html``; return both paths."""
    from ._html import render_html

    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{report['scenario']}.json"
    html_path = out / f"{report['scenario']}.html"
    json_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path
