"""Headers every answer of the node carries, and those that flag a stale answer."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolver import Resolution

__all__ = ["NOSNIFF", "STALE_HEADER", "NoSniff", "stale_headers"]

# Browsers must not guess another type than the one the node names (JSON read as HTML, say).
NOSNIFF = (b"x-content-type-options", b"nosniff")
STALE_HEADER = "X-Idnode-Stale"


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


def stale_headers(resolution: Resolution) -> dict[str, str] | None:
    """Headers that flag an answer served from a stale entry while its source was unreachable."""
    if resolution.stale_age is None:
        return None
    return {STALE_HEADER: "true", "Age": str(resolution.stale_age)}
