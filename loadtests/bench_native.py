"""Native Handle protocol benchmark: cached resolution over UDP and persistent TCP against the
same node's HTTP hot path, in one run, as ratios.

    python -m loadtests.bench_native              # 1,000 handles, 10 s per leg
    python -m loadtests.bench_native --quick      # 100 handles, 2 s per leg

Starts one node (the kit's ``started_node``: ``idnode serve``, one worker, SQLite, the native
protocol on a free port), writes the handles through Handle REST and resolves each once so all
three legs read the same warm cache. Then, one leg after the other, the same closed-loop driver
keeps ``--connections`` requests in flight (one per connection or UDP socket, each sent when the
previous answer is in) for ``--seconds``, cycling through the handles:

- http: ``GET /api/handles/<handle>`` on keep-alive connections (the node's hot path)
- tcp:  native RESOLUTION requests on persistent connections
- udp:  native RESOLUTION requests, one datagram each way

Each leg prints resolutions/s and p50/p99 latency; then ``udp/http`` and ``tcp/http`` ratios
(the kit's ``ratios``; the goal is at least 2x and 1.5x in resolutions/s). The driver is one
asyncio process (uvloop when installed) with pre-built requests and the least parsing each
protocol allows, so its cost per request is alike for every leg. Everything binds 127.0.0.1
and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx

from loadtests import (
    PHASE_GRACE,
    LatencyRecorder,
    cpu_seconds,
    free_port,
    ratio_table,
    ratios,
    record_values,
    started_node,
    within,
)
from registry.codec import native

__all__ = ["main"]

ADMIN_TOKEN = "bench-native-admin-token"
PREFIX = "88.118"
CONNECTIONS = 32
KEYS = ("achieved_rate", "p50", "p99", "node_cpu_us")


def _handles(count: int) -> list[str]:
    return [f"{PREFIX}/BN{i:06d}" for i in range(count)]


async def _seed(url: str, handles: Sequence[str]) -> None:
    """Write the handles through Handle REST, then resolve each once (the cache is warm)."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        semaphore = asyncio.Semaphore(8)

        async def put(handle: str) -> None:
            async with semaphore:
                answer = await client.put(
                    f"/api/handles/{handle}", json={"values": record_values(handle)}
                )
                answer.raise_for_status()
                (await client.get(f"/api/handles/{handle}")).raise_for_status()

        await asyncio.gather(*(put(h) for h in handles))


def _http_requests(handles: Sequence[str], port: int) -> list[bytes]:
    return [
        f"GET /api/handles/{h} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode() for h in handles
    ]


def _native_requests(handles: Sequence[str]) -> list[bytes]:
    requests = []
    for i, handle in enumerate(handles):
        body = native.encode_resolution_request(native.ResolutionRequest(handle.encode()))
        header = native.Header(
            native.OpCode.RESOLUTION, flags=native.OpFlag.PUBL, expiration=native.expiry()
        )
        message = native.encode_message(header, body)
        envelope = native.Envelope(2, 10, 2, 11, 0, i + 1, 0, len(message))
        requests.append(envelope.encode() + message)
    return requests


def _http_complete(buffer: bytearray) -> int:
    """Bytes of the first whole response in ``buffer`` (0 while incomplete)."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return 0
    head = bytes(buffer[:end]).lower()
    start = head.find(b"content-length:")
    length = int(head[start + 15 : head.find(b"\r\n", start) if b"\r\n" in head[start:] else None])
    total = end + 4 + length
    return total if len(buffer) >= total else 0


def _native_complete(buffer: bytearray) -> int:
    if len(buffer) < native.ENVELOPE_SIZE:
        return 0
    total = native.ENVELOPE_SIZE + int.from_bytes(buffer[16:20])
    return total if len(buffer) >= total else 0


class _Leg:
    """Counts and latencies of one leg; ``next_request`` cycles through the requests."""

    def __init__(self, requests: list[bytes], until: float, warm_until: float) -> None:
        self.requests = requests
        self.until = until
        self.warm_until = warm_until
        self.turn = 0
        self.ok = 0
        self.errors = 0
        self.latency = LatencyRecorder()
        self.done = asyncio.get_running_loop().create_future()
        self.open = 0

    def next_request(self) -> bytes | None:
        if time.perf_counter() >= self.until:
            return None
        self.turn += 1
        return self.requests[self.turn % len(self.requests)]

    def answered(self, sent: float, ok: bool) -> None:
        now = time.perf_counter()
        if now >= self.warm_until and now < self.until:
            if ok:
                self.ok += 1
                self.latency.record(now - sent)
            else:
                self.errors += 1

    def closed(self) -> None:
        self.open -= 1
        if self.open == 0 and not self.done.done():
            self.done.set_result(None)


class _Stream(asyncio.Protocol):
    def __init__(
        self, leg: _Leg, complete: Callable[[bytearray], int], ok: Callable[[bytes], bool]
    ) -> None:
        self.leg, self.complete, self.ok = leg, complete, ok
        self.buffer = bytearray()
        self.sent = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        request = self.leg.next_request()
        assert self.transport is not None
        if request is None:
            self.transport.close()
            return
        self.sent = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        size = self.complete(self.buffer)
        if size:
            self.leg.answered(self.sent, self.ok(bytes(self.buffer[:size])))
            del self.buffer[:size]
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.leg.closed()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, leg: _Leg) -> None:
        self.leg = leg
        self.sent = 0.0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        request = self.leg.next_request()
        assert self.transport is not None
        if request is None:
            self.transport.close()
            return
        self.sent = time.perf_counter()
        self.transport.sendto(request)

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.leg.answered(self.sent, _native_ok(data))
        self._send()

    def resend_if_lost(self) -> None:
        """A lost datagram would stall this socket: send again after a second without answer."""
        lost = time.perf_counter() - self.sent > 1.0
        if lost and self.transport is not None and not self.transport.is_closing():
            self.leg.errors += 1
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        self.leg.closed()


def _http_ok(response: bytes) -> bool:
    return response.startswith(b"HTTP/1.1 200")


def _native_ok(response: bytes) -> bool:
    return response[24:28] == b"\x00\x00\x00\x01"


async def _leg(
    kind: str, port: int, requests: list[bytes], seconds: float, connections: int, pid: int
) -> dict[str, Any]:
    """One leg's figures; a leg still running ``PHASE_GRACE`` seconds past its time (a node
    that stopped answering) fails by name (``loadtests.within``)."""
    leg = _measured(kind, port, requests, seconds, connections, pid)
    return await within(seconds + PHASE_GRACE, f"the {kind} leg", leg)


async def _measured(
    kind: str, port: int, requests: list[bytes], seconds: float, connections: int, pid: int
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    warm = min(1.0, seconds / 4)
    start = time.perf_counter()
    leg = _Leg(requests, start + warm + seconds, start + warm)
    leg.open = connections
    sockets: list[_Datagrams] = []
    for _ in range(connections):
        if kind == "udp":
            protocol = _Datagrams(leg)
            sockets.append(protocol)
            await loop.create_datagram_endpoint(
                lambda p=protocol: p, remote_addr=("127.0.0.1", port)
            )
        else:
            complete, ok = (
                (_http_complete, _http_ok) if kind == "http" else (_native_complete, _native_ok)
            )
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.create_connection(lambda c=complete, o=ok: _Stream(leg, c, o), sock=sock)
    cpu_before = cpu_seconds(pid) or 0.0
    while not leg.done.done():
        await asyncio.wait([leg.done], timeout=0.5)
        for protocol in sockets:
            protocol.resend_if_lost()
    # The node's CPU per answer (warm-up included on both sides): what bounds it on its core.
    cpu = (cpu_seconds(pid) or 0.0) - cpu_before
    total = leg.turn or 1
    return {
        "leg": kind,
        "resolutions": leg.ok,
        "errors": leg.errors,
        "achieved_rate": round(leg.ok / seconds, 1),
        **{k: v for k, v in leg.latency.summary().items() if k in ("p50", "p99")},
        "node_cpu_us": round(cpu / total * 1e6, 1),
    }


async def run(count: int, seconds: float, connections: int) -> dict[str, Any]:
    handles = _handles(count)
    native_port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-native-") as workdir:
        env = {"IDNODE_HANDLE_PORT": str(native_port), "IDNODE_SIGN_RECORDS": "false"}
        with started_node(Path(workdir), ADMIN_TOKEN, env=env) as node:
            await _seed(node.url, handles)
            http_port = int(node.url.rsplit(":", 1)[1])
            legs = {
                "http": await _leg(
                    "http",
                    http_port,
                    _http_requests(handles, http_port),
                    seconds,
                    connections,
                    node.pid,
                ),
                "tcp": await _leg(
                    "tcp", native_port, _native_requests(handles), seconds, connections, node.pid
                ),
                "udp": await _leg(
                    "udp", native_port, _native_requests(handles), seconds, connections, node.pid
                ),
            }
    return {
        "handles": count,
        "seconds": seconds,
        "connections": connections,
        "legs": legs,
        "ratios": {
            "udp/http": ratios(legs["http"], legs["udp"], KEYS),
            "tcp/http": ratios(legs["http"], legs["tcp"], KEYS),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_native", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="100 handles, 2 s per leg")
    parser.add_argument("--handles", type=int, help="handles cycled through (default 1000)")
    parser.add_argument("--seconds", type=float, help="measured seconds per leg (default 10)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    count = args.handles or (100 if args.quick else 1000)
    seconds = args.seconds or (2.0 if args.quick else 10.0)
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    report = runner(run(count, seconds, args.connections))
    if args.json:
        print(json.dumps(report))
        return 0
    print(
        f"cached resolution of {count} handles, {args.connections} connections, {seconds} s per leg"
    )
    for leg in report["legs"].values():
        print(
            f"  {leg['leg']:5} {leg['achieved_rate']:>10.1f} resolutions/s"
            f"  p50 {leg['p50']:.3f} ms  p99 {leg['p99']:.3f} ms"
            f"  node CPU {leg['node_cpu_us']:.1f} us/answer  errors {leg['errors']}"
        )
    for name in ("udp", "tcp"):
        print(f"\n{name}/http (goal: {'2' if name == 'udp' else '1.5'}x resolutions/s)")
        print(ratio_table(report["legs"]["http"], report["legs"][name], KEYS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
