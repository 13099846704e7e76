"""The load-test kit: open-loop driver, HdrHistogram latency, seeding, reports, Locust scenarios.

Benchmark scripts (``bench_register``, ``bench_resolve``, ``bench_sign``) build on these names
rather than timing things their own way. ``locustfile.py`` is separate: Locust imports gevent.
"""

from ._bulk import MAX_BATCH, BulkResult, batch_items, bulk_create, snms_token
from ._driver import Outcome, RunResult, run_open_loop
from ._keys import ColdOrder, ZipfKeys, missing_suffix, new_suffix, seeded_suffix
from ._latency import PERCENTILES, LatencyRecorder, Timeline
from ._report import build_report, write_report
from ._scenarios import SCENARIOS, Plan, Scenario, build_scenario
from ._setup import (
    Credential,
    SetupError,
    basic_auth,
    ensure_credential,
    put_handles,
    record_values,
)

__all__ = [
    "MAX_BATCH",
    "PERCENTILES",
    "SCENARIOS",
    "BulkResult",
    "ColdOrder",
    "Credential",
    "LatencyRecorder",
    "Outcome",
    "Plan",
    "RunResult",
    "Scenario",
    "SetupError",
    "Timeline",
    "ZipfKeys",
    "basic_auth",
    "batch_items",
    "build_report",
    "build_scenario",
    "bulk_create",
    "ensure_credential",
    "missing_suffix",
    "new_suffix",
    "put_handles",
    "record_values",
    "run_open_loop",
    "seeded_suffix",
    "snms_token",
    "write_report",
]
