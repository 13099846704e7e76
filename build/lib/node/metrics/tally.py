"""Requests counted per API and outcome, with latency buckets: plain numbers, cheap to keep."""

from __future__ import annotations

from bisect import bisect_left
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BUCKETS", "RequestMeter", "RequestTally", "Series", "api_of"]

# Upper bounds in seconds (Prometheus ``le``); one more slot counts what is above the last.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# First match wins: the API a path belongs to, as the error dialects split them.
_APIS = (
    ("/api/handles", "handle"),
    ("/admin/sync", "sync"),
    ("/admin", "admin"),
    ("/identityv2", "snms"),
    ("/identity", "snms"),
    ("/snms", "snms"),
    ("/trust", "trust"),
    ("/sync", "sync"),
    ("/healthz", "health"),
    ("/metrics", "metrics"),
    ("/docs", "docs"),
    ("/openapi.json", "docs"),
)


def api_of(path: str) -> str:
    """The API a request path belongs to; ``human`` (the handle pages) for any other."""
    for prefix, api in _APIS:
        if path.startswith(prefix):
            return api
    return "human"


class Series:
    """One histogram's numbers: counts per bucket (not cumulative) and the sum of observations."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds


class RequestTally:
    """Requests by ``(api, outcome)``; the outcome is the status class (``2xx`` … ``5xx``)."""

    def __init__(self) -> None:
        self.series: dict[tuple[str, str], Series] = {}
        # Bound once per status: the hot path pays one dict lookup per request.
        self._handle: dict[int, Series] = {}

    def bind(self, api: str, status: int) -> Series:
        key = (api, f"{status // 100}xx")
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series()
        return series

    def handle(self, status: int, started: float) -> None:
        """A Handle REST answer given by the hot path, ``started`` at that ``perf_counter()``."""
        series = self._handle.get(status)
        if series is None:
            series = self._handle[status] = self.bind("handle", status)
        series.observe(perf_counter() - started)


class RequestMeter:
    """ASGI middleware: every request through the app counted and timed by API and outcome."""

    def __init__(self, app: ASGIApp, tally: RequestTally) -> None:
        self.app = app
        self.tally = tally

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            self.tally.bind(api_of(scope["path"]), status).observe(perf_counter() - started)
