"""The node's figures as Prometheus metric families, read from its live state when scraped."""

from __future__ import annotations

from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric

from resolver import Resolver

from .tally import BUCKETS, RequestTally

__all__ = ["node_families", "sync_families"]


def request_families(tally: RequestTally) -> list[Metric]:
    family = HistogramMetricFamily(
        "idnode_request_duration_seconds",
        "HTTP requests by API and outcome (status class), and how long they took",
        labels=["api", "outcome"],
    )
    bounds = [*(str(bound) for bound in BUCKETS), "+Inf"]
    for (api, outcome), series in sorted(tally.series.items()):
        cumulative, running = [], 0
        for bound, count in zip(bounds, series.counts, strict=True):
            running += count
            cumulative.append((bound, running))
        family.add_metric([api, outcome], cumulative, series.total)
    return [family]


def resolver_families(resolver: Resolver) -> list[Metric]:
    results = CounterMetricFamily(
        "idnode_resolutions",
        "Resolutions by cache result: hit (fresh cache), miss (read from storage), recursive "
        "(fetched from another node), negative (not found), stale (stale entry, source down)",
        labels=["result"],
    )
    results.add_metric(["hit"], resolver.hits)
    for result, count in resolver.results.items():
        results.add_metric([result], count)
    cache = resolver.cache
    entries = GaugeMetricFamily("idnode_cache_entries", "Answers held in the resolver's cache")
    entries.add_metric([], len(cache))
    size = GaugeMetricFamily("idnode_cache_bytes", "Approximate bytes held by cached answers")
    size.add_metric([], cache.bytes)
    return [results, entries, size]


def pool_families(context: Any) -> list[Metric]:
    """The database pool's connections (SQLAlchemy's ``QueuePool``) and the sealing processes."""
    families: list[Metric] = []
    pool = context.db.engine.pool
    if hasattr(pool, "checkedout"):
        db = GaugeMetricFamily(
            "idnode_db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        db.add_metric(["in_use"], pool.checkedout())
        db.add_metric(["idle"], pool.checkedin())
        db.add_metric(["overflow"], max(pool.overflow(), 0))
        size = GaugeMetricFamily("idnode_db_pool_size", "Connections the pool keeps open")
        size.add_metric([], pool.size())
        families += [db, size]
    sealing = getattr(context.signer, "pool", None)
    processes = GaugeMetricFamily(
        "idnode_sealing_processes",
        "Sealing processes: configured, and started (they start with the first large batch)",
        labels=["state"],
    )
    configured = 0 if sealing is None else sealing.processes
    started = configured if sealing is not None and sealing.started else 0
    processes.add_metric(["configured"], configured)
    processes.add_metric(["started"], started)
    families.append(processes)
    return families


def single_insert_families(db: Any) -> list[Metric]:
    """New single records on PostgreSQL, put in together by the statements of the same moment."""
    counts = db.single_insert_counts()
    if counts is None:
        return []
    help_texts = {
        "statements": "Statements that put new single records in (PostgreSQL)",
        "records": "New single records those statements carried (records / statements: how"
        " many shared one)",
        "stalls": "Single-insert statements that ran past their stall limit (waiting on a row"
        " another transaction held), so the next one started beside them",
    }
    families: list[Metric] = []
    for what, text in help_texts.items():
        family = CounterMetricFamily(f"idnode_single_insert_{what}", text)
        family.add_metric([], counts[what])
        families.append(family)
    return families


def native_families(native: Any) -> list[Metric]:
    """The native Handle protocol's listeners (when it is on)."""
    if native is None:
        return []
    connections = GaugeMetricFamily("idnode_native_tcp_connections", "Native TCP connections open")
    connections.add_metric([], len(native.tcp.connections))
    closed = CounterMetricFamily(
        "idnode_native_tcp_closed", "Native TCP connections the node closed", labels=["reason"]
    )
    closed.add_metric(["idle"], native.tcp.closed_idle)
    closed.add_metric(["over_limit"], native.tcp.closed_over_limit)
    dropped = CounterMetricFamily("idnode_native_udp_dropped", "Native UDP datagrams dropped")
    dropped.add_metric([], native.udp.dropped)
    return [connections, closed, dropped]


def dns_families(dns: Any) -> list[Metric]:
    """The DNS frontend's listeners (when it is on)."""
    if dns is None:
        return []
    answers = CounterMetricFamily(
        "idnode_dns_answers",
        "DNS answers: from the ready-answer cache, or worked out by the engine",
        labels=["path"],
    )
    answers.add_metric(["cached"], dns.cached_answers)
    answers.add_metric(["engine"], dns.answers)
    shed = CounterMetricFamily("idnode_dns_shed", "DNS UDP queries dropped: too many pending")
    shed.add_metric([], dns.shed)
    connections = GaugeMetricFamily("idnode_dns_tcp_connections", "DNS TCP connections open")
    connections.add_metric([], dns.connections)
    return [answers, shed, connections]


def limit_families(context: Any) -> list[Metric]:
    """Requests refused by a rate limit or a quota, by kind; the quotas' resolution counting."""
    rejected = CounterMetricFamily(
        "idnode_limit_rejections",
        "Requests refused: resolve (a client's anonymous resolution rate), login (failed"
        " logins), daily_resolutions, daily_registrations, identifiers, prefixes (quotas)",
        labels=["kind"],
    )
    for kind, count in sorted(context.limits.rejected.items()):
        rejected.add_metric([kind], count)
    return [rejected]


def node_families(state: Any) -> list[Metric]:
    """This process's figures, from the app's ``state`` (``node``, ``native``, ``metrics``)."""
    context = state.node
    processes = GaugeMetricFamily("idnode_worker_processes", "Serving processes counted here")
    processes.add_metric([], 1)
    return [
        processes,
        *request_families(state.metrics),
        *resolver_families(context.resolver),
        *pool_families(context),
        *single_insert_families(context.db),
        *limit_families(context),
        *native_families(getattr(state, "native", None)),
        *dns_families(getattr(state, "dns", None)),
    ]


def sync_families(status: dict[str, Any]) -> list[Metric]:
    """The outbox's figures (``sync_status``): one database, so the same from any process."""
    enabled = GaugeMetricFamily("idnode_sync_enabled", "1 when the node ships to a top-level")
    enabled.add_metric([], 1 if status.get("enabled") else 0)
    families: list[Metric] = [enabled]
    if "pendingRows" in status:
        backlog = GaugeMetricFamily("idnode_outbox_backlog_rows", "Outbox rows not yet shipped")
        backlog.add_metric([], status["pendingRows"])
        lag = GaugeMetricFamily(
            "idnode_sync_lag_seconds", "Age of the oldest outbox row not yet shipped"
        )
        lag.add_metric([], status["lagSeconds"])
        shipped = CounterMetricFamily("idnode_sync_shipped_rows", "Outbox rows shipped so far")
        shipped.add_metric([], status.get("shippedRows", 0))
        families += [backlog, lag, shipped]
    return families
