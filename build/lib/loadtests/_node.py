"""Starting a node: a free loopback port, a child process, and waiting until it answers.

The one way the kit, its benchmarks and the tests (``tests/servers.py``) start ``python -m node``
and wait for ``/healthz``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["NodeHandle", "free_port", "started_node", "stop_process", "wait_until_answering"]


# Under pytest-xdist each worker takes its ports from a slice of its own below the kernel's
# ephemeral range (32768 and up): a port the kernel handed out for "any free port" and that was
# released again can be handed to another worker, or to an outgoing connection, before the server
# meant to listen on it binds it.
_WORKER_PORTS = range(20000, 32000)
_WORKER_SLICE = 1500
_next_port: dict[str, int] = {}


def free_port(*, udp: bool = False) -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now, free for UDP too when ``udp``.

    Under xdist, from the worker's own slice of ports, which no other worker uses.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and worker[2:].isdigit():
        first = _WORKER_PORTS.start + int(worker[2:]) * _WORKER_SLICE % len(_WORKER_PORTS)
        if worker not in _next_port:
            # A random start, so processes a worker spawns do not walk the same ports as it does.
            _next_port[worker] = int.from_bytes(os.urandom(2), "big") % _WORKER_SLICE
        candidates: Iterator[int] = (
            first + (_next_port[worker] + step) % _WORKER_SLICE for step in range(_WORKER_SLICE)
        )
    else:
        candidates = (0 for _ in range(50))
    for candidate in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port = sock.getsockname()[1]
            if worker in _next_port:
                _next_port[worker] = (port - first + 1) % _WORKER_SLICE
            if udp and not _udp_free(port):
                continue
            return port
    raise RuntimeError("no free loopback port found")


def _udp_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_answering(
    url: str,
    process: subprocess.Popen,
    *,
    timeout: float = 30.0,
    path: str = "/healthz",
    status: int | None = 200,
    interval: float = 0.05,
) -> None:
    """Poll ``GET url+path`` until it answers ``status`` (any status when None).

    Raises ``RuntimeError`` when ``process`` exits first or ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with {process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                answered = client.get(url + path).status_code
                if status is None or answered == status:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url}{path} did not answer in {timeout} s")
            time.sleep(interval)


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL when it has not exited within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass(frozen=True)
class NodeHandle:
    """A node the kit started: its base URL and process id (for ``RssSampler``)."""

    url: str
    pid: int


@contextlib.contextmanager
def started_node(
    workdir: Path,
    admin_token: str,
    *,
    database_url: str | None = None,
    workers: int = 1,
    timeout: float = 30.0,
    env: Mapping[str, str] | None = None,
) -> Iterator[NodeHandle]:
    """A migrated node (``python -m node serve``) on 127.0.0.1; SQLite in ``workdir`` by default.

    ``env`` adds settings (``IDNODE_*``) to the node's environment.
    """
    env = {
        **os.environ,
        # The native Handle protocol is off unless asked for (its default port may be taken).
        "IDNODE_HANDLE_PORT": "0",
        **(env or {}),
        "IDNODE_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{workdir / 'loadtest.db'}",
        "IDNODE_ADMIN_TOKEN": admin_token,
    }
    subprocess.run(
        [sys.executable, "-m", "node", "migrate"], env=env, check=True, capture_output=True
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (workdir / "node.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "node", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers), "--log-level", "warning"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            try:
                wait_until_answering(url, process, timeout=timeout, interval=0.1)
            except RuntimeError as exc:
                raise RuntimeError(
                    f"the node did not become healthy: {exc}; see {log.name}"
                ) from exc
            yield NodeHandle(url, process.pid)
        finally:
            stop_process(process)
