"""HTTP/1.1 connections held to limits, as nginx holds them by default.

uvicorn's httptools protocol plus what it lacks: a bound on the request head in bytes and in
header count (431), a deadline for the head and for each pause in the body (408), and a cap on
open connections that closes the longest-idle one (an idle keep-alive connection or a half-sent
head) rather than let them starve new clients. One lazy timer per connection watches the
deadlines, and the limits are kept per chunk received, so a request costs no timer and at most
a clock read beyond uvicorn's own work.
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
# What uvicorn writes before reading a body whose client asked ``Expect: 100-continue``.
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Refused(Exception):
    """Stops the parser once a request has been answered and its connection closed."""


class _Outbox:
    """A connection's writes, where a response's head waits for its body's first write.

    uvicorn writes a response's head and body apart; sent together, a small answer costs one
    segment and one system call, not two. A head with no body write in the same turn of the
    loop (HEAD, a stream yet to produce) is sent on the next turn, or before anything else the
    connection writes.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def hold(self, head: bytes) -> None:
        self.flush()
        self._held = head
        self._loop.call_soon(self.flush)

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._transport.write(data)
        else:
            self._held = None
            self._transport.writelines((held, data))

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()


class _Response:
    """What one response writes through (uvicorn's cycle's ``transport``): its head is held.

    It refers to the connection's outbox, not to the cycle, so a finished cycle is freed at once
    rather than left to the garbage collector.
    """

    __slots__ = ("_head_seen", "_outbox")

    def __init__(self, outbox: _Outbox) -> None:
        self._outbox = outbox
        self._head_seen = False

    def write(self, data: bytes) -> None:
        if self._head_seen or data == _CONTINUE:
            self._outbox.write(data)
        else:
            # The response's first write but an interim 100 Continue is its head.
            self._head_seen = True
            self._outbox.hold(data)

    def is_closing(self) -> bool:
        return self._outbox.is_closing()

    def close(self) -> None:
        self._outbox.close()


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
        # When the phase's time is up; 0.0 until set after the chunk that began the phase.
        self._deadline = 0.0
        # The head's size counted per chunk: the chunks since it began, and at most the size of
        # the chunk it began inside of (a pipelined head), measured exactly at its end if need be.
        self._head_bytes = 0
        self._head_uncounted = 0
        self._chunk_bytes = 0
        self._connected_at = 0.0
        self._watchdog: asyncio.TimerHandle | None = None
        self._refused = False
        self._outbox: _Outbox | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._outbox = _Outbox(transport, self.loop)
        now = self.loop.time()
        self._connected_at = now
        # As nginx's client_header_timeout: the first head's clock starts at the connection.
        self._phase = _HEAD
        self._deadline = now + self.limits.head_timeout
        self._head_bytes = self._head_uncounted = 0
        self._watchdog = self.loop.call_later(self.limits.head_timeout, self._watch)
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        super().connection_lost(exc)

    # The limits are kept per chunk received, not per parser callback: a request costs the
    # three callbacks that change the phase, and a clock read only when a phase outlasts a chunk.

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._chunk_bytes = len(data)
        phase = self._phase
        if phase == _IDLE:
            # The next head begins with this chunk; its clock is set once the chunk is read.
            self._phase = _HEAD
            self._head_bytes = self._chunk_bytes
            self._head_uncounted = 0
            self._deadline = 0.0
        elif phase == _HEAD:
            self._head_bytes += self._chunk_bytes
        HttpToolsProtocol.data_received(self, data)
        phase = self._phase
        if phase == _IDLE or self._refused:
            return
        if phase == _BODY:
            # The body's deadline is per pause: each chunk of it restarts the clock.
            self._deadline = self.loop.time() + self.limits.body_timeout
            return
        if self._deadline == 0.0:
            self._deadline = self.loop.time() + self.limits.head_timeout
        if self._head_bytes > self.limits.max_head_bytes:
            self._refuse(431, f"request head is over {self.limits.max_head_bytes} bytes")

    def send_400_response(self, msg: str) -> None:
        # Also reached when a limit stopped the parser: that request is answered already.
        if not self._refused:
            self._flush()
            super().send_400_response(msg)

    def handle_websocket_upgrade(self) -> None:
        self._flush()
        super().handle_websocket_upgrade()

    # Parser callbacks

    def on_message_begin(self) -> None:
        HttpToolsProtocol.on_message_begin(self)
        if self._phase != _HEAD:
            # A head begun inside a chunk, after another request: counted from the next chunk on.
            self._phase = _HEAD
            self._head_bytes = 0
            self._head_uncounted = self._chunk_bytes
            self._deadline = 0.0

    def on_headers_complete(self) -> None:
        limits = self.limits
        if len(self.headers) > limits.max_headers:
            self._refuse(431, f"request has more than {limits.max_headers} headers")
            raise _Refused
        # Measured only when what was counted says it could be over.
        if (
            self._head_bytes + self._head_uncounted > limits.max_head_bytes
            and self._head_size() > limits.max_head_bytes
        ):
            self._refuse(431, f"request head is over {limits.max_head_bytes} bytes")
            raise _Refused
        earlier = self.cycle
        HttpToolsProtocol.on_headers_complete(self)
        self._phase = _BODY
        cycle = self.cycle
        if cycle is not earlier:
            cycle.transport = _Response(self._outbox)  # type: ignore[arg-type, assignment]

    def on_message_complete(self) -> None:
        HttpToolsProtocol.on_message_complete(self)
        self._phase = _IDLE

    # Limits

    def _head_size(self) -> int:
        """The target and headers of the head just parsed, in bytes (the request line's words and
        line ends aside)."""
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def _idle_since(self) -> float:
        """When this connection last did anything useful: its response ended, or its head began."""
        if self._phase == _HEAD and self._deadline:
            return self._deadline - self.limits.head_timeout
        keep_alive = self.timeout_keep_alive_task
        if keep_alive is not None:
            return keep_alive.when() - self.timeout_keep_alive
        return self._connected_at

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
            oldest = min(idle, key=lambda each: each._idle_since())
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

    def _flush(self) -> None:
        """Send a response head still held, before the connection writes anything else."""
        if self._outbox is not None:
            self._outbox.flush()

    def _write_plain(self, status: int, message: str) -> None:
        self._flush()
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
