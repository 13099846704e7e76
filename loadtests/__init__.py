"""The load-test kit: open-loop driver, HdrHistogram latency, seeding, reports, Locust scenarios.

Benchmark scripts (``bench_register``, ``bench_resolve``, ``bench_sign``) build on these names
rather than timing things their own way. ``locustfile.py`` is separate: Locust imports gevent.
"""

from ._bounded import PHASE_GRACE, PhaseTimeout, within
from ._bulk import MAX_BATCH, BulkResult, batch_items, bulk_create, snms_token
from ._compare import COMPARED, ratio_table, ratios
from ._driver import Outcome, RunResult, run_open_loop
from ._http import Http, Reply, error_kind
from ._keys import ColdOrder, ZipfKeys, missing_suffix, new_suffix, seeded_suffix
from ._latency import PERCENTILES, LatencyRecorder, Timeline
from ._node import NodeHandle, free_port, started_node, stop_process, wait_until_answering
from ._process import (
    CpuMeter,
    CpuUse,
    RssSampler,
    cpu_seconds,
    peak_rss_bytes,
    process_tree,
    rss_bytes,
)
from ._report import build_report, write_report
from ._runner import RunSpec, client_for, credential_for, run_scenario
from ._scenarios import SCENARIOS, Plan, Scenario, build_scenario
from ._setup import (
    Credential,
    SetupError,
    basic_auth,
    basic_header,
    ensure_credential,
    put_handles,
    record_values,
)

__all__ = [
    "COMPARED",
    "MAX_BATCH",
    "PERCENTILES",
    "PHASE_GRACE",
    "SCENARIOS",
    "BulkResult",
    "ColdOrder",
    "CpuMeter",
    "CpuUse",
    "Credential",
    "Http",
    "LatencyRecorder",
    "NodeHandle",
    "Outcome",
    "PhaseTimeout",
    "Plan",
    "Reply",
    "RssSampler",
    "RunResult",
    "RunSpec",
    "Scenario",
    "SetupError",
    "Timeline",
    "ZipfKeys",
    "basic_auth",
    "basic_header",
    "batch_items",
    "build_report",
    "build_scenario",
    "bulk_create",
    "client_for",
    "cpu_seconds",
    "credential_for",
    "ensure_credential",
    "error_kind",
    "free_port",
    "missing_suffix",
    "new_suffix",
    "peak_rss_bytes",
    "process_tree",
    "put_handles",
    "ratio_table",
    "ratios",
    "record_values",
    "rss_bytes",
    "run_open_loop",
    "run_scenario",
    "seeded_suffix",
    "snms_token",
    "started_node",
    "stop_process",
    "wait_until_answering",
    "within",
    "write_report",
]
