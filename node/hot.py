"""The resolution hot path: a cache hit answered from pre-serialised bytes, before any routing.

A pure ASGI middleware: an anonymous ``GET /api/handles/<handle>`` without query parameters whose
answer is fresh in the resolver's cache is sent as stored bytes, with no routing, dependency
injection, ORM or validation. Everything else (misses, filters, credentials) goes on to the
FastAPI endpoint, which fills the cache.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from resolver import Resolution

__all__ = ["STALE_HEADER", "HotPath", "stale_headers"]

HANDLES_PATH = "/api/handles/"
STALE_HEADER = "X-Idnode-Stale"
_JSON = (b"content-type", b"application/json")


def stale_headers(resolution: Resolution) -> dict[str, str] | None:
    """Headers that flag an answer served from a stale entry while its source was unreachable."""
    if resolution.stale_age is None:
        return None
    return {STALE_HEADER: "true", "Age": str(resolution.stale_age)}


class HotPath:
    """Serves fresh cache hits of anonymous Handle REST resolutions directly."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
            and scope["path"].startswith(HANDLES_PATH)
        ):
            # Keys are normalised handles; a path in another spelling simply misses here.
            entry = scope["app"].state.node.resolver.hot(scope["path"][len(HANDLES_PATH) :])
            if entry is not None and not any(
                name == b"authorization" for name, _ in scope["headers"]
            ):
                body = entry.body
                await send(
                    {
                        "type": "http.response.start",
                        "status": entry.status,
                        "headers": [_JSON, (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
