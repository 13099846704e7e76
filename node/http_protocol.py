"""HTTP/1.1 connections held to limits, as nginx holds them by default.

uvicorn's httptools protocol plus what it lacks: a bound on the request head in bytes and in
header count (431), a deadline for the head and for each pause in the body (408), and a cap on
open connections that closes the longest-idle one (an idle keep-alive connection or a half-sent
head) rather than let them starve new clients. One lazy timer per connection watches the
deadlines, so a request costs a clock read, not a timer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

__all__ = ["HttpLimits", "LimitedHttpProtocol"]


@dataclass(frozen=True)
class HttpLimits:
    """What one client may cost: head size and count, read deadlines, open connections."""

    max_head_bytes: int = 32 * 1024
    max_headers: int = 100
    head_timeout: float = 20.0
    body_timeout: float = 30.0
    max_connections: int = 1000


# What a connection is reading now; only HEAD and BODY have a deadline.
_IDLE, _HEAD, _BODY = 0, 1, 2
# After a refusal, what the client still sends is read and dropped this long before closing,
# so the answer reaches it instead of a reset (nginx's lingering close).
LINGER_SECONDS = 2.0


class _Refused(Exception):
    """Stops the parser once a request has been answered and its connection closed."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` within the ``HttpLimits`` found on its config as ``http_limits``."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: HttpLimits = getattr(config, "http_limits", HttpLimits())
        self._phase = _IDLE
        self._deadline = 0.0
        self._head_bytes = 0
        self._head_size = 0
        self._head_count = 0
        self._idle_since = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = self.loop.time()
        self._idle_since = now
        # As nginx's client_header_timeout: the first head's clock starts at the connection.
        self._start_head(now)
        self._watchdog = self.loop.call_later(self.limits.head_timeout, self._watch)
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._phase == _HEAD:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._phase == _HEAD
            and self._head_bytes > self.limits.max_head_bytes
            and not self._refused
        ):
            self._refuse(431, f"request head is over {self.limits.max_head_bytes} bytes")

    def send_400_response(self, msg: str) -> None:
        # Also reached when a limit stopped the parser: that request is answered already.
        if not self._refused:
            super().send_400_response(msg)

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0
        self._head_count = 0
        if self._phase != _HEAD:
            self._start_head(self.loop.time())

    def on_url(self, url: bytes) -> None:
        self._head_size += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_count += 1
        self._head_size += len(name) + len(value) + 4
        if self._head_count <= self.limits.max_headers:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._head_count > self.limits.max_headers:
            self._refuse(431, f"request has more than {self.limits.max_headers} headers")
            raise _Refused
        if self._head_size > self.limits.max_head_bytes:
            self._refuse(431, f"request head is over {self.limits.max_head_bytes} bytes")
            raise _Refused
        super().on_headers_complete()
        self._phase = _BODY
        self._deadline = self.loop.time() + self.limits.body_timeout

    def on_body(self, body: bytes) -> None:
        self._deadline = self.loop.time() + self.limits.body_timeout
        super().on_body(body)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = _IDLE

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()

    # Limits

    def _start_head(self, now: float) -> None:
        self._phase = _HEAD
        self._head_bytes = 0
        self._deadline = now + self.limits.head_timeout

    def _watch(self) -> None:
        self._watchdog = None
        if self._refused or self.transport.is_closing():
            return
        now = self.loop.time()
        wait = min(self.limits.head_timeout, self.limits.body_timeout)
        if self._phase != _IDLE:
            if self._phase == _BODY and self._app_holds_body():
                self._deadline = now + self.limits.body_timeout
            if now >= self._deadline:
                what = "head" if self._phase == _HEAD else "body"
                timeout = self.limits.head_timeout if what == "head" else self.limits.body_timeout
                self._refuse(408, f"request {what} not received within {timeout:g} s")
                return
            wait = self._deadline - now
        self._watchdog = self.loop.call_later(wait, self._watch)

    def _app_holds_body(self) -> bool:
        """The client is not stalling: the app has not read what came, or owes a 100 Continue."""
        cycle = self.cycle
        return self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)

    def _reusable(self) -> bool:
        """Idle between requests or still sending a head: nothing is lost by closing it."""
        return (
            self._phase != _BODY
            and (self.cycle is None or self.cycle.response_complete)
            and not self.transport.is_closing()
        )

    def _make_room(self) -> None:
        """Over the cap: close the connection idle the longest, or refuse this one."""
        others = [
            each
            for each in self.connections
            if each is not self and isinstance(each, LimitedHttpProtocol)
        ]
        if sum(not each.transport.is_closing() for each in others) < self.limits.max_connections:
            return  # the excess is already closing
        idle = [each for each in others if each._reusable()]
        if idle:
            oldest = min(idle, key=lambda each: each._idle_since)
            oldest.transport.close()
        else:
            self.logger.warning("over %d connections: refusing one", self.limits.max_connections)
            self._refuse(503, "the node has too many open connections; retry shortly")

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` if nothing else is being answered on this connection, and close it."""
        cycle = self.cycle
        if self._phase == _BODY and cycle is not None:
            # This request's answer, if started, was the app's: the connection is only closed.
            answered = cycle.response_started
            if not answered:
                # The app waiting for the rest of the body sees a disconnect, not a 408 of its own.
                cycle.disconnected = True
                cycle.message_event.set()
        else:
            # A head refused while an earlier request is still being answered: just close.
            answered = cycle is not None and not cycle.response_complete
        self._refused = True
        self._phase = _IDLE
        if answered or self.transport.is_closing():
            self.transport.close()
            return
        self._write_plain(status, message)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _write_plain(self, status: int, message: str) -> None:
        body = message.encode()
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
