"""Slow and huge requests against a real server: bounded heads (431), read deadlines (408), a
connection cap that closes the longest-idle connections rather than starve new clients.

Raw sockets, since these are things well-behaved HTTP clients never send.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from node import Settings, create_app
from node.serving import http_limits

from ..conftest import ADMIN_TOKEN
from ..databases import migrate
from ..servers import ThreadedServer

TIMEOUT = 1.0
ADMIN = b"Authorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n"
# A deadline must be met within this (a busy two-core machine), long before a stall would end.
MARGIN = 6.0


@pytest.fixture
async def node_settings(tmp_path: Path) -> Settings:
    # The HTTP layer is the point here; one storage backend is enough.
    url = await migrate(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}")
    return Settings(
        database_url=url,
        admin_token=SecretStr(ADMIN_TOKEN),
        http_header_timeout=TIMEOUT,
        http_body_timeout=TIMEOUT,
        http_max_connections=8,
    )


@pytest.fixture
def server(node_settings: Settings) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(node_settings), settings=node_settings) as running:
        yield running


def _connect(server: ThreadedServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=MARGIN)
    return sock


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _exchange(server: ThreadedServer, request: bytes) -> bytes:
    with _connect(server) as sock:
        sock.sendall(request)
        return _answer(sock)


def test_a_well_formed_request_is_served(server: ThreadedServer) -> None:
    answer = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_a_head_over_the_size_limit_is_431(server: ThreadedServer) -> None:
    big = b"X-Big: " + b"a" * 40_000 + b"\r\n"
    answer = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: n\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.endswith(b"request head is over 32768 bytes")


def test_an_unfinished_huge_header_is_431_without_waiting_for_its_end(
    server: ThreadedServer,
) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: n\r\nX-Big: ")
        for _ in range(64):
            try:
                sock.sendall(b"a" * 8192)
            except OSError:
                break  # closed by the server: what it answered is waiting to be read
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


@pytest.mark.parametrize("rest", [3_000, 40_000], ids=["ends-over", "grows-over"])
def test_a_head_begun_inside_a_chunk_is_held_to_the_size_limit(
    server: ThreadedServer, rest: int
) -> None:
    """A pipelined head, begun in the same write as the request before it, is sized whole."""
    with _connect(server) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n"
            + b"GET /healthz HTTP/1.1\r\nX-Begun: "
            + b"a" * 30_000
            + b"\r\n"
        )
        first = b""
        while b"\r\n\r\n" not in first:  # the first request is answered meanwhile
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 "), first[:200]
        sock.sendall(b"X-More: " + b"a" * rest + b"\r\n\r\n")
        answer = _answer(sock)
    assert b"HTTP/1.1 431 " in answer, answer[:300]
    assert answer.endswith(b"request head is over 32768 bytes")


def test_pipelined_requests_are_answered_in_order(server: ThreadedServer) -> None:
    requests = [
        b"GET /healthz HTTP/1.1\r\nHost: n\r\n\r\n",
        b"HEAD /healthz HTTP/1.1\r\nHost: n\r\n\r\n",
        b"GET /api/handles/88.118.8/NONE HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n",
    ]
    answer = _exchange(server, b"".join(requests))
    heads = [part.partition(b"\r\n")[0] for part in answer.split(b"HTTP/1.1 ")[1:]]
    assert heads == [b"200 OK", b"200 OK", b"404 Not Found"], answer


def test_a_head_request_gets_its_head_alone(server: ThreadedServer) -> None:
    """A HEAD answer, with no body write to join, is still sent (and nothing after it)."""
    with _connect(server) as sock:
        sock.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: n\r\n\r\n")
        received = b""
        while not received.endswith(b"\r\n\r\n"):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        assert received.startswith(b"HTTP/1.1 200 ")
        assert b"content-length: " in received
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)  # kept alive, and no body follows the head


def test_an_expect_100_continue_body_is_invited_then_answered(server: ThreadedServer) -> None:
    body = b'{"values": [{"index": 1, "type": "URL", "data": "https://c.example"}]}'
    with _connect(server) as sock:
        sock.sendall(
            b"PUT /api/handles/88.118.8/C HTTP/1.1\r\nHost: n\r\nConnection: close\r\n"
            + ADMIN
            + b"Expect: 100-continue\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
        )
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            chunk = sock.recv(1)
            assert chunk, interim
            interim += chunk
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]


def test_too_many_headers_are_431(server: ThreadedServer) -> None:
    headers = b"".join(b"X-N%d: 1\r\n" % n for n in range(150))
    answer = _exchange(server, b"GET /healthz HTTP/1.1\r\nHost: n\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert answer.endswith(b"request has more than 100 headers")


@pytest.mark.parametrize(
    "partial", [b"", b"GET /healthz HTTP/1.1\r\nHost: n\r\n"], ids=["silent", "mid-header"]
)
def test_a_stalled_head_is_408_within_the_timeout(server: ThreadedServer, partial: bytes) -> None:
    started = time.monotonic()
    answer = _exchange(server, partial)
    assert time.monotonic() - started < MARGIN
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert answer.endswith(b"request head not received within 1 s")


def test_a_stalled_body_is_408_within_the_timeout(server: ThreadedServer) -> None:
    request = (
        b"PUT /api/handles/88.118.8/X HTTP/1.1\r\nHost: n\r\n" + ADMIN + b"Content-Type: "
        b"application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    started = time.monotonic()
    answer = _exchange(server, request)
    assert time.monotonic() - started < MARGIN
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert answer.endswith(b"request body not received within 1 s")


def test_a_slow_but_steady_body_is_served(server: ThreadedServer) -> None:
    """The body deadline is per pause, not for the whole body."""
    body = b'{"values": [{"index": 1, "type": "URL", "data": "https://x.example"}]}'
    with _connect(server) as sock:
        sock.sendall(
            b"PUT /api/handles/88.118.8/X HTTP/1.1\r\nHost: n\r\nConnection: close\r\n"
            + ADMIN
            + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        for piece in (body[:20], body[20:40], body[40:]):
            time.sleep(TIMEOUT * 0.6)
            sock.sendall(piece)
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]


def test_past_the_connection_cap_the_longest_idle_are_closed(node_settings: Settings) -> None:
    patient = node_settings.model_copy(update={"http_header_timeout": 60.0})
    with ThreadedServer(create_app(patient), settings=patient) as server:
        half_sent = [_connect(server) for _ in range(20)]
        try:
            for sock in half_sent:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: n\r\n")
            health = httpx.get(server.url + "/healthz", timeout=MARGIN)
            assert health.status_code == 200
            for sock in half_sent:
                sock.settimeout(0.5)
            closed = 0
            for sock in half_sent:
                try:
                    closed += sock.recv(1) == b""
                except ConnectionResetError:  # closed with its half-sent head unread
                    closed += 1
                except TimeoutError:
                    pass
            # 20 half-sent heads and /healthz's connection under a cap of 8.
            assert closed >= 13
        finally:
            for sock in half_sent:
                sock.close()


def test_the_connection_cap_stays_under_the_open_file_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda _which: (256, 4096))
    assert http_limits(Settings(http_max_connections=1000)).max_connections == 128
    monkeypatch.setattr(resource, "getrlimit", lambda _which: (65536, 65536))
    assert http_limits(Settings(http_max_connections=1000)).max_connections == 1000
