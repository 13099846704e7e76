"""Response-rate limiting per client network (/24 for IPv4, /56 for IPv6), against amplification.

A fixed one-second window per network, counted by hand: this runs once per UDP answer on a path
that costs about ten microseconds in all, where the ``limits`` library's strategies cost more
than the answer. Over the limit, "slip 2" (as BIND's RRL): every second refused answer goes
out as an empty truncated one, so a real client behind a spoofed flood can still retry over
TCP, and the rest are dropped.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

__all__ = ["ResponseRateLimit", "network_of"]

MAX_NETWORKS = 100_000


def network_of(host: str) -> str:
    """The /24 (IPv4) or /56 (IPv6) a client address belongs to, as a short key."""
    if ":" not in host:
        return host.rpartition(".")[0]
    try:
        return ipaddress.IPv6Address(host.partition("%")[0]).packed[:7].hex()
    except ValueError:
        return host


class ResponseRateLimit:
    """``allow(host)`` → ``"send"``, ``"slip"`` (send a truncated empty answer) or ``"drop"``."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.clock = clock
        self._window = 0
        self._counts: dict[str, int] = {}

    def allow(self, host: str) -> str:
        if not self.per_second:
            return "send"
        window = int(self.clock())
        if window != self._window or len(self._counts) > MAX_NETWORKS:
            self._window = window
            self._counts = {}
        network = network_of(host)
        count = self._counts.get(network, 0) + 1
        self._counts[network] = count
        if count <= self.per_second:
            return "send"
        return "slip" if (count - self.per_second) % 2 == 0 else "drop"
