"""Real servers on free loopback ports, for tests.

``ThreadedServer`` runs uvicorn in a thread of the test process (port 0, waits for readiness);
``NodeProcess`` runs ``python -m node serve`` as a separate process, for tests that kill or
restart it or need several workers; it starts and stops as the load-test kit starts nodes
(``loadtests/_node.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvicorn

from loadtests import free_port, stop_process, wait_until_answering
from node import Settings
from node.serving import server_config

__all__ = ["NodeProcess", "ThreadedServer", "free_port"]

_LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")


class ThreadedServer:
    """``with ThreadedServer(app) as server: httpx.get(server.url + "/healthz")``.

    Served as ``idnode serve`` serves (protocol, limits, keep-alive) under ``settings``.
    """

    def __init__(
        self,
        app: Any,
        *,
        settings: Settings | None = None,
        startup_timeout: float = 20.0,
        shutdown_timeout: float = 15.0,
    ) -> None:
        config = server_config(
            app,
            settings or Settings(),
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.startup_timeout = startup_timeout
        self.shutdown_timeout = shutdown_timeout
        self.url = ""

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=self.shutdown_timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"uvicorn did not shut down within {self.shutdown_timeout} s")


class NodeProcess:
    """``python -m node <args>`` in a child process; ``url`` once it listens."""

    def __init__(
        self,
        env: Mapping[str, str],
        args: list[str] | None = None,
        *,
        port: int | None = None,
        cwd: Path | None = None,
        startup_timeout: float = 30.0,
        log: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        # Where its standard error (its log) goes; discarded when None.
        self.log = log
        self.args = args or [
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "info",
        ]
        self.env = {**os.environ, **env}
        self.cwd = cwd
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> NodeProcess:
        with contextlib.ExitStack() as files:
            stderr = files.enter_context(self.log.open("ab")) if self.log else subprocess.DEVNULL
            self.process = subprocess.Popen(
                [sys.executable, "-m", "node", *self.args],
                env=self.env,
                cwd=self.cwd,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            wait_until_answering(self.url, self.process, timeout=self.startup_timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process:
            stop_process(self.process)

    def __enter__(self) -> NodeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
