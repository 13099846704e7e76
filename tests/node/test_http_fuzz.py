"""A bounded fuzz of the HTTP/1.1 layer (``node/http_protocol.py``) over real sockets.

Random and mutated request heads and bodies go to a real uvicorn serving the node as
``idnode serve`` does (the hot path, our protocol, short deadlines). Whatever is sent, the server
answers with well-formed HTTP/1.1 responses, each a 4xx or a correct 2xx/404 — never a 5xx —
closes or keeps the connection within its deadlines, and keeps serving. Seeded per case, so a
failure replays; bounded in cases and in time. The hand-picked limits are ``test_http_limits.py``.
"""

from __future__ import annotations

import json
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from node import Settings, create_app
from node.hot import HotPath

from ..conftest import ADMIN_TOKEN
from ..databases import migrate
from ..servers import ThreadedServer

SEED = 23
CASES = 240
BUDGET_SECONDS = 35.0
CLIENTS = 6
HEAD_TIMEOUT = BODY_TIMEOUT = 0.5
KEEP_ALIVE = 1
# Past every deadline (head, body, keep-alive, the 2 s linger after a refusal) on a busy machine.
HANG_SECONDS = 12.0

KNOWN = "88.118.8/FUZZ-KNOWN"
KNOWN_VALUES = [{"index": 1, "type": "URL", "data": "https://fuzz.example/"}]
ADMIN = b"Authorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n"
BODY = json.dumps({"values": KNOWN_VALUES}).encode()
TOKEN = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) [\t\x20-\x7e]*")

# Requests every mutation starts from, and the status each earns unmutated.
TEMPLATES: list[tuple[bytes, int]] = [
    (b"GET /api/handles/" + KNOWN.encode() + b" HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n", 200),
    (b"GET /api/handles/88.118.8/FUZZ-NONE HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n", 404),
    (b"GET /api/handles/" + KNOWN.encode() + b"?index=1 HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n", 200),
    (b"GET /healthz HTTP/1.1\r\nHost: n\r\nConnection: close\r\n\r\n", 200),
    (
        b"PUT /api/handles/88.118.8/FUZZ-W HTTP/1.1\r\nHost: n\r\nConnection: close\r\n" + ADMIN
        + b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY,
        200,
    ),
    (
        b"PUT /api/handles/88.118.8/FUZZ-C HTTP/1.1\r\nHost: n\r\nConnection: close\r\n" + ADMIN
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(BODY) + BODY + b"\r\n0\r\n\r\n",
        200,
    ),
]  # fmt: skip
BYTES = [
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b":",
    b"\x7f",
    b"\xff",
    b"%",
    b"/",
    b"?",
    b"\xe4\xb8\xad",
]
HEADERS = [
    b"Content-Length: -1",
    b"Content-Length: 99999999999999999999999",
    b"Content-Length: 5\r\nContent-Length: 6",
    b"Content-Length: 3",
    b"Transfer-Encoding: chunked",
    b"Transfer-Encoding: gzip, chunked",
    b"Transfer-Encoding: chunked\r\nContent-Length: 4",
    b"Host: a\r\nHost: b",
    b" folded continuation",
    b"X-Big: " + b"a" * 40_000,
    b"".join(b"X-N%d: 1\r\n" % n for n in range(150)).rstrip(b"\r\n"),
    b"Expect: 100-continue",
    b"Upgrade: websocket\r\nConnection: Upgrade",
    b"Connection: keep-alive",
    b"Authorization: Bearer wrong",
    b"Authorization: Basic !!!",
    b"X-Idnode-Forwarded: 1",
    b"Content-Type: text/plain",
    b"Bad Header: x",
    b": empty-name",
]  # fmt: skip
METHODS = [
    b"get",
    b"GE T",
    b"POST",
    b"DELETE",
    b"OPTIONS",
    b"TRACE",
    b"CONNECT",
    b"PATCH",
    b"X" * 300,
    b"",
]
VERSIONS = [b"HTTP/1.0", b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1.1x", b"HTTP/1", b"http/1.1", b""]
PATHS = [
    b"/api/handles/88.118.8/%ZZ",
    b"/api/handles/88.118.8/%C3%28",
    b"/api/handles/88.118.8/A%00B",
    b"/api/handles/88.118.8/A%0A",
    b"/api/handles/88.118.8/\xe4\xb8\xad",
    b"/api/handles/88.118.8/" + b"L" * 9000,
    b"/api/handles/%2E%2E/%2F",
    b"/api/handles/",
    b"/api/handles//",
    b"/api/handles/88.118.8/A?index=%FF",
    b"/api/handles/88.118.8/A?index=1&index=x",
    b"//healthz",
    b"/../../etc/passwd",
    b"*",
    b"http://other.example/api/handles/" + KNOWN.encode(),
]  # fmt: skip


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """``data`` with one random change: bytes replaced, inserted, dropped; a line, header, method,
    version or path swapped; cut short; or followed by garbage."""
    head, _, body = data.partition(b"\r\n\r\n")
    kind = rng.randrange(11)
    spot = rng.randrange(len(data) + 1)
    if kind == 0:
        return data[:spot] + rng.choice(BYTES) + data[spot + 1 :]
    if kind == 1:
        return (
            data[:spot] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 8))) + data[spot:]
        )
    if kind == 2:
        return data[:spot] + data[spot + rng.randint(1, 40) :]
    lines = head.split(b"\r\n")
    method, _, rest = lines[0].partition(b" ")
    path, _, version = rest.rpartition(b" ")
    if kind == 3:
        lines.insert(rng.randint(1, len(lines)), rng.choice(HEADERS))
    elif kind == 4:
        lines.insert(rng.randint(1, len(lines)), rng.choice(lines))
    elif kind == 5 and len(lines) > 1:
        del lines[rng.randint(1, len(lines) - 1)]
    elif kind == 6:
        lines[0] = b" ".join([rng.choice(METHODS), path, version])
    elif kind == 7:
        lines[0] = b" ".join([method, path, rng.choice(VERSIONS)])
    elif kind == 8:
        lines[0] = b" ".join([method, rng.choice(PATHS), version])
    elif kind == 9:
        return data[:spot]  # cut short: a head or body that never ends
    else:
        return data + rng.choice([b"\r\n", b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\n", bytes(16)])
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _request(rng: random.Random) -> tuple[bytes, int | None]:
    """A request to send, and the status it must earn when it was left unmutated."""
    data, status = rng.choice(TEMPLATES)
    if rng.random() < 0.1:
        return data, status
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        data = _mutate(rng, data)
    return data, None


def _exchange(url: str, data: bytes, rng: random.Random) -> bytes:
    """Send ``data`` in a few pieces; everything the server sends until it closes."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + HANG_SECONDS
    received = b""
    with socket.create_connection((host, int(port)), timeout=HANG_SECONDS) as sock:
        cuts = sorted(rng.sample(range(1, len(data)), min(rng.randint(0, 3), len(data) - 1)))
        try:
            for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
                sock.sendall(data[start:end])
                time.sleep(rng.choice([0, 0, 0.001, 0.02]))
        except OSError:
            pass  # refused mid-send: the answer is waiting to be read
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break  # closed with unread input after its answer (kept in ``received``)
            except TimeoutError:
                raise AssertionError(
                    f"no close within {HANG_SECONDS} s: {received[:300]!r}"
                ) from None
            if not chunk:
                break
            received += chunk
    return received


def _chunked(data: bytes) -> tuple[bytes, bytes]:
    body = b""
    while True:
        size_line, sep, data = data.partition(b"\r\n")
        assert sep and re.fullmatch(rb"[0-9a-fA-F]+", size_line), size_line
        size = int(size_line, 16)
        if size == 0:
            assert data.startswith(b"\r\n")
            return body, data[2:]
        assert data[size : size + 2] == b"\r\n"
        body, data = body + data[:size], data[size + 2 :]


def _responses(data: bytes) -> list[tuple[int, dict[bytes, bytes], bytes]]:
    """``data`` read strictly as a sequence of HTTP/1.1 responses (interim 100s left out)."""
    answers = []
    while data:
        head, sep, data = data.partition(b"\r\n\r\n")
        assert sep, f"an unterminated head: {head[:300]!r}"
        status_line, *lines = head.split(b"\r\n")
        matched = STATUS_LINE.fullmatch(status_line)
        assert matched, f"not a status line: {status_line[:200]!r}"
        headers: dict[bytes, bytes] = {}
        for line in lines:
            name, colon, value = line.partition(b":")
            assert colon and TOKEN.fullmatch(name), f"a malformed header: {line[:200]!r}"
            assert name.lower() not in headers, f"a repeated header: {line[:200]!r}"
            headers[name.lower()] = value.strip()
        status = int(matched[1])
        if status == 100:
            continue
        if headers.get(b"transfer-encoding") == b"chunked":
            body, data = _chunked(data)
        else:
            assert b"content-length" in headers, f"no length: {head[:300]!r}"
            length = int(headers[b"content-length"])
            assert len(data) >= length, f"a body cut short: {head[:300]!r}"
            body, data = data[:length], data[length:]
        answers.append((status, headers, body))
    return answers


def _check(status: int, headers: dict[bytes, bytes], body: bytes, known: bytes) -> None:
    """A 4xx, or a 2xx/404 that is one of the node's correct answers."""
    assert 200 <= status < 300 or 400 <= status < 500, f"{status} {body[:300]!r}"
    if not (200 <= status < 300 or status == 404):
        return
    content_type = headers.get(b"content-type", b"")
    if status == 404 and content_type.startswith(b"text/html"):
        # The human page for a path that names nothing, in Chinese unless asked otherwise.
        assert body.startswith(b"<!doctype html>"), body[:300]
        assert b"not found" in body or "未找到".encode() in body, body[:300]
        return
    assert content_type.startswith(b"application/json"), (status, headers)
    document = json.loads(body)
    if status == 404:
        # An unregistered handle in the Handle REST dialect, or an unknown route.
        assert document.get("responseCode") == 100 or "message" in document or "detail" in document
        return
    if "status" in document:
        assert document["status"] == "ok"
        return
    assert document["responseCode"] == 1, document
    if document.get("handle") == KNOWN:
        # Its one value, whichever filter selected it: never another record's, never garbled.
        assert document == json.loads(known), document


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ThreadedServer]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'node.db'}"
    settings = Settings(
        database_url=url,
        admin_token=SecretStr(ADMIN_TOKEN),
        http_header_timeout=HEAD_TIMEOUT,
        http_body_timeout=BODY_TIMEOUT,
        keep_alive_seconds=KEEP_ALIVE,
    )
    with ThreadedServer(HotPath(create_app(settings)), settings=settings) as server:
        yield server


@pytest.fixture
async def migrated(tmp_path: Path) -> None:
    await migrate(f"sqlite+aiosqlite:///{tmp_path / 'node.db'}")


@pytest.mark.usefixtures("migrated")
@pytest.mark.parametrize("seed", [SEED])
def test_random_and_mutated_requests_get_well_formed_answers_never_a_5xx(
    served: ThreadedServer, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    put = httpx.put(
        f"{served.url}/api/handles/{KNOWN}", json={"values": KNOWN_VALUES}, headers=admin
    )
    assert put.status_code == 201, put.text
    known = httpx.get(f"{served.url}/api/handles/{KNOWN}").content
    deadline = time.monotonic() + BUDGET_SECONDS

    def case(number: int) -> bool:
        if time.monotonic() > deadline:
            return False
        rng = random.Random(seed * 1_000_003 + number)
        data, expected = _request(rng)
        started = time.monotonic()
        received = _exchange(served.url, data, rng)
        where = f"case {number} (seed {seed}) sent {data[:300]!r}"
        assert time.monotonic() - started < HANG_SECONDS, where
        try:
            answers = _responses(received)
            assert answers, "closed without an answer"
            for status, headers, body in answers:
                _check(status, headers, body, known)
        except (AssertionError, ValueError) as exc:
            raise AssertionError(f"{where}; got {received[:600]!r}: {exc}") from exc
        if expected is not None:
            assert answers and answers[0][0] in (expected, 201), f"{where}; got {received[:300]!r}"
        return True

    with ThreadPoolExecutor(CLIENTS) as pool:
        ran = sum(pool.map(case, range(CASES)))
    assert ran >= 60, f"only {ran} cases ran within {BUDGET_SECONDS} s"
    assert served.thread.is_alive()
    assert httpx.get(f"{served.url}/healthz").json()["status"] == "ok"
    assert httpx.get(f"{served.url}/api/handles/{KNOWN}").content == known
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert threading.active_count() < 50
