"""``idnode serve`` as a process: how long it keeps an idle client connection open.

A client pool reuses an idle connection until its own expiry (httpx: 5 s). If the node closed
idle connections at the same age, a request sent just as the node closes its end is lost with a
connection reset; the node's keep-alive is longer, so the client always closes first.
"""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

import httpx
import pytest

from node import Settings

from ..databases import migrate
from ..servers import NodeProcess


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    return await migrate(f"sqlite+aiosqlite:///{tmp_path / 'idnode.db'}")


def healthz(connection: http.client.HTTPConnection) -> int:
    connection.request("GET", "/healthz")
    response = connection.getresponse()
    response.read()
    return response.status


def closed_by_peer(sock: socket.socket, within: float) -> bool:
    """Whether the other end closes ``sock`` within ``within`` seconds (reads EOF)."""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False


def test_the_default_outlasts_a_client_pool_s_idle_expiry() -> None:
    assert Settings().keep_alive_seconds > httpx.Limits().keepalive_expiry


def test_an_idle_connection_outlives_the_client_pool_expiry(sqlite_url: str) -> None:
    with NodeProcess({"IDNODE_DATABASE_URL": sqlite_url}) as node:
        connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
        try:
            assert healthz(connection) == 200
            first = connection.sock
            # Idle past both httpx's expiry and uvicorn's own default (5 s): still open.
            assert not closed_by_peer(first, within=6)
            assert healthz(connection) == 200
            assert connection.sock is first
        finally:
            connection.close()


def test_the_node_closes_an_idle_connection_after_its_setting(sqlite_url: str) -> None:
    env = {"IDNODE_DATABASE_URL": sqlite_url, "IDNODE_KEEP_ALIVE_SECONDS": "1"}
    with NodeProcess(env) as node:
        connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
        try:
            assert healthz(connection) == 200
            started = time.monotonic()
            # Well before uvicorn's 5 s default: it is the setting that closed it.
            assert closed_by_peer(connection.sock, within=4.5)
            assert time.monotonic() - started >= 0.5
        finally:
            connection.close()
