"""``idnode serve`` starts the native protocol beside HTTP (its real event loop: uvloop)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest

from node.native.client import HandleClient, HandleError
from registry.codec.native import ResponseCode

from ...conftest import ADMIN_TOKEN
from ...servers import NodeProcess, free_port
from .native_nodes import ADMIN, value


@pytest.mark.parametrize("workers", [1, 2])
async def test_serve_answers_natively_over_tcp_and_udp(migrated_url: str, workers: int) -> None:
    port = free_port()
    env = {
        "IDNODE_DATABASE_URL": migrated_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_HANDLE_PORT": str(port),
    }
    http_port = free_port()
    args = ["serve", "--host", "127.0.0.1", "--port", str(http_port), "--workers", str(workers)]
    with NodeProcess(env, args, port=http_port) as node:
        async with httpx.AsyncClient(base_url=node.url, headers=ADMIN) as client:
            answer = await client.put(
                "/api/handles/88.118/served", json={"values": [value(1, "URL", "https://s/")]}
            )
            assert answer.status_code == 201, answer.text
        for udp in (False, True):
            async with HandleClient("127.0.0.1", port, udp=udp) as native:
                # Several connections, so with two workers both answer some of them.
                for _ in range(3):
                    resolution = await native.resolve("88.118/served")
                    assert resolution.values[0].data == b"https://s/"
                with pytest.raises(HandleError) as missing:
                    await native.resolve("88.118/absent")
                assert missing.value.code == ResponseCode.HANDLE_NOT_FOUND


def test_a_taken_port_stops_startup_with_a_clear_message(migrated_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "IDNODE_DATABASE_URL": migrated_url, "IDNODE_HANDLE_PORT": str(port)}
        args = ["serve", "--host", "127.0.0.1", "--port", str(free_port())]
        result = subprocess.run(
            [sys.executable, "-m", "node", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode != 0
    assert f"cannot serve the native Handle protocol on 127.0.0.1:{port}" in result.stderr
    assert "IDNODE_HANDLE_PORT" in result.stderr
