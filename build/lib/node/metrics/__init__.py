"""Prometheus metrics: plain counts kept on the request paths, turned into metrics when scraped.

``RequestTally`` is what the request paths touch (ints and a bucket list, no prometheus-client
objects); ``node_families`` reads the node's live state (cache, pools, listeners) when
``GET /metrics`` is asked; ``WorkerShare`` sums the figures of ``idnode serve --workers N``'s
processes through snapshot files.
"""

from .endpoint import router
from .tally import RequestMeter, RequestTally
from .workers import METRICS_DIR_ENV, WorkerShare

__all__ = ["METRICS_DIR_ENV", "RequestMeter", "RequestTally", "WorkerShare", "router"]
