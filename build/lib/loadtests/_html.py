"""The HTML report: a summary table and three plots (inline SVG, no scripts, opens offline)."""

from __future__ import annotations

import html
import io
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import FixedFormatter, FixedLocator

__all__ = ["render_html"]

_SUMMARY_KEYS = ["p50", "p90", "p99", "p99.9", "max", "mean"]
_PERCENTILE_TICKS = [0.0, 90.0, 99.0, 99.9, 99.99, 99.999]


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _nines(curve: list[list[float]]) -> tuple[list[float], list[float]]:
    # x = 1/(1-p): equal room for each "nine", as HdrHistogram's own plots draw it. The 100 %
    # point (the max) has no place on that axis; the table shows it.
    points = [(p, v) for p, v in curve if p < 100.0]
    return [1 / (1 - p / 100) for p, _ in points], [v for _, v in points]


def _percentile_plot(report: dict[str, Any]) -> str:
    figure = Figure(figsize=(8, 3.6))
    axes = figure.add_subplot()
    xs, ys = _nines(report["percentile_curve"])
    axes.step(xs, ys, where="post", color="tab:blue", label="response time (from due time)")
    sx, sy = _nines(report.get("service_curve", []))
    if sx:
        axes.step(sx, sy, where="post", color="tab:grey", label="service time (from send)")
    axes.set_xscale("log")
    top = max(xs + sx, default=10.0)
    ticks = [t for t in _PERCENTILE_TICKS if 1 / (1 - t / 100) <= top * 1.01]
    axes.xaxis.set_major_locator(FixedLocator([1 / (1 - t / 100) for t in ticks]))
    axes.xaxis.set_major_formatter(FixedFormatter([f"{t:g}%" for t in ticks]))
    axes.xaxis.set_minor_locator(FixedLocator([]))
    axes.set_xlim(1, top)
    axes.set_xlabel("percentile")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Latency by percentile")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left")
    return _svg(figure)


def _throughput_plot(report: dict[str, Any]) -> str:
    figure = Figure(figsize=(8, 3.2))
    axes = figure.add_subplot()
    rows = report["timeline"]
    seconds = [row["t"] for row in rows]
    axes.plot(
        seconds, [row["completed"] for row in rows], "o-", label="completed/s", color="tab:green"
    )
    axes.plot(seconds, [row["errors"] for row in rows], "o-", label="errors/s", color="tab:red")
    axes.axhline(report["offered_rate"], linestyle="--", color="grey", label="offered rate")
    axes.set_xlabel("seconds into the run")
    axes.set_ylabel("requests per second")
    axes.set_title("Throughput over time")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="lower right")
    return _svg(figure)


def _latency_plot(report: dict[str, Any]) -> str:
    figure = Figure(figsize=(8, 3.2))
    axes = figure.add_subplot()
    rows = report["timeline"]
    seconds = [row["t"] for row in rows]
    for key, color in (("p50", "tab:blue"), ("p99", "tab:orange"), ("max", "tab:red")):
        axes.plot(seconds, [row[key] for row in rows], "o-", label=key, color=color)
    axes.set_xlabel("seconds into the run")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Latency over time (per second of completion)")
    axes.grid(True, alpha=0.3)
    axes.legend(loc="upper left")
    return _svg(figure)


def _row(name: str, value: Any) -> str:
    return f"<tr><th>{html.escape(name)}</th><td>{html.escape(str(value))}</td></tr>"


def render_html(report: dict[str, Any]) -> str:
    """The whole report page for one run."""
    title = f"idnode load test: {report['scenario']}"
    overview = [
        ("target", report["target"]),
        ("started", report["started_at"]),
        ("duration (s)", report["duration_s"]),
        ("offered rate (req/s)", report["offered_rate"]),
        ("achieved rate (req/s)", report["achieved_rate"]),
        ("successful (req/s)", report["success_rate"]),
        ("identifiers/s", report["items_per_s"]),
        (
            "requests / completed / succeeded",
            f"{report['requests']} / {report['completed']} / {report['succeeded']}",
        ),
        ("generator max lag (ms)", report["generator_max_lag_ms"]),
    ]
    host = report.get("host")
    if host:
        overview.append(
            ("machine", f"{host['cpus']} CPUs, load average {host['load_average_before']} before, "
             f"{host['load_average_after']} after")
        )  # fmt: skip
    latency = "".join(
        f"<tr><th>{k}</th><td>{report[k]}</td><td>{report['service_time'][k]}</td></tr>"
        for k in _SUMMARY_KEYS
    )
    errors = "".join(_row(kind, count) for kind, count in report["errors"].items()) or (
        "<tr><td>none</td></tr>"
    )
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in report["notes"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5em 0 1.5em; }}
th, td {{ border: 1px solid #ccc; padding: 0.25em 0.7em; text-align: left; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<table>{"".join(_row(k, v) for k, v in overview)}</table>
{f"<ul>{notes}</ul>" if notes else ""}
<h2>Latency (ms)</h2>
<p>Response time is measured from when each request was due on the fixed schedule, so waiting
behind a slow answer counts (coordinated omission corrected). Service time is from sending to the
answer, for comparison: a large gap between them means requests queued.</p>
<table><tr><th></th><th>response time</th><th>service time</th></tr>{latency}</table>
<h2>Errors</h2><table>{errors}</table>
<h2>Plots</h2>
{_percentile_plot(report)}
{_throughput_plot(report)}
{_latency_plot(report)}
</body></html>
"""
