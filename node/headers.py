"""Headers every answer of the node carries."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["NOSNIFF", "NoSniff"]

# Browsers must not guess another type than the one the node names (JSON read as HTML, say).
NOSNIFF = (b"x-content-type-options", b"nosniff")


class NoSniff:
    """Pure ASGI middleware: ``X-Content-Type-Options: nosniff`` on every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), NOSNIFF]
            await send(message)

        await self.app(scope, receive, send_with_header)
