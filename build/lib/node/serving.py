"""Serving the node: one uvicorn configuration, for ``idnode serve`` and the tests' servers alike."""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import tempfile
from typing import Any

import uvicorn
from uvicorn.main import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from .http_protocol import HttpLimits, LimitedHttpProtocol
from .metrics.workers import METRICS_DIR_ENV
from .settings import Settings

__all__ = ["NodeServerConfig", "http_limits", "serve", "server_config"]

# Descriptors kept for what is not a client: database pools, the upstream client, files, logs.
RESERVED_FILES = 256


class NodeServerConfig(uvicorn.Config):
    """uvicorn's ``Config`` with the node's protocol and its limits (pickled along to workers)."""

    def __init__(self, app: Any, *, limits: HttpLimits, **options: Any) -> None:
        super().__init__(app, http=LimitedHttpProtocol, **options)
        self.http_limits = limits


def http_limits(settings: Settings) -> HttpLimits:
    """The settings' limits, the connection cap kept under the process's open-file limit."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = settings.http_max_connections
    if soft != resource.RLIM_INFINITY:
        cap = min(cap, max(soft // 2, soft - RESERVED_FILES))
    return HttpLimits(
        max_head_bytes=settings.http_max_header_bytes,
        max_headers=settings.http_max_headers,
        head_timeout=settings.http_header_timeout,
        body_timeout=settings.http_body_timeout,
        max_connections=cap,
    )


def server_config(app: Any, settings: Settings, **options: Any) -> NodeServerConfig:
    """uvicorn configured as the node is served; ``options`` are uvicorn's (host, port, …)."""
    return NodeServerConfig(
        app,
        limits=http_limits(settings),
        # Longer than clients' pools keep idle connections, so they close first.
        timeout_keep_alive=settings.keep_alive_seconds,
        proxy_headers=False,
        **options,
    )


def serve(config: NodeServerConfig) -> None:
    """Run until stopped, in ``config.workers`` processes (what ``uvicorn.run`` does)."""
    server = uvicorn.Server(config)
    with contextlib.suppress(KeyboardInterrupt):
        if config.workers > 1:
            # The workers (spawned, so they inherit it) sum their metrics through this directory.
            with tempfile.TemporaryDirectory(prefix="idnode-metrics-") as directory:
                os.environ[METRICS_DIR_ENV] = directory
                Multiprocess(config, sockets=[config.bind_socket()]).run()
            return
        server.run()
    if not server.started:
        sys.exit(STARTUP_FAILURE)
