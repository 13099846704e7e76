"""``idnode toplevel``: uvicorn serving the top-level app, able to stop listening for a while."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import uvicorn

from .app import create_toplevel_app
from .authority import RootAuthority
from .faults import Faults

__all__ = ["RefusingServer", "run_toplevel"]


class RefusingServer(uvicorn.Server):
    """A uvicorn server that can close its listening socket and open it again later."""

    def __init__(self, config: uvicorn.Config, faults: Faults) -> None:
        super().__init__(config)
        self.faults = faults
        self._reopen: asyncio.Task[None] | None = None
        self._address: tuple[str, int] | None = None

    async def refuse(self, seconds: float) -> None:
        """Refuse new connections and drop idle ones for ``seconds``, then listen again."""
        if self._reopen is not None and not self._reopen.done():
            self._reopen.cancel()
        for server in self.servers:
            if server.sockets:
                self._address = server.sockets[0].getsockname()[:2]
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        self.faults.refusing = True
        self._reopen = asyncio.create_task(self._listen_after(seconds))

    async def _listen_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        assert self._address is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(self._address)
        sock.listen(self.config.backlog)
        sock.setblocking(False)
        config = self.config

        def create_protocol(_loop: Any = None) -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                _loop=_loop,
            )

        server = await asyncio.get_running_loop().create_server(create_protocol, sock=sock)
        self.servers = [server]
        self.faults.refusing = False

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reopen
        await super().shutdown(sockets)


def run_toplevel(
    database_url: str,
    bootstrap_token: str,
    host: str,
    port: int,
    log_level: str = "info",
    root: RootAuthority | None = None,
    *,
    keep_alive_seconds: int,
    operator_token: str | None = None,
    log_config: dict[str, Any] | None = None,
    access_log: bool = True,
) -> None:
    """Serve the top-level node until interrupted; ``root`` is its certificate authority;
    ``log_config`` is uvicorn's (``None``: uvicorn's own)."""
    app = create_toplevel_app(
        database_url, bootstrap_token, root=root, operator_token=operator_token
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config or uvicorn.config.LOGGING_CONFIG,
        access_log=access_log,
        lifespan="on",
        timeout_keep_alive=keep_alive_seconds,
    )
    server = RefusingServer(config, app.state.faults)
    app.state.faults.refuse = server.refuse
    server.run()
