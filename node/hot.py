"""The resolution hot path: resolutions answered before any routing.

Single registrations from callers proven recently are answered here too (``hot_writes``).

A pure ASGI wrapper around the whole FastAPI app (what ``idnode serve`` runs). A ``GET`` or
``HEAD /api/handles/<handle>`` without query parameters, or with only ``index=`` and ``type=``
filters (``query_filters``: each filtered answer is kept with its cache entry), anonymous or
with credentials proven recently (``known_principal``: no scrypt, no read), is answered here from the resolver: a fresh cache hit is sent as stored bytes with no parsing, routing, dependency injection, ORM or
validation; a miss is resolved here too (through the cache, so it is filled), and an error in
either is answered here in the Handle REST error dialect (``httpapi.handle_error``), without
a second read. Anything else goes on to the FastAPI app, whose endpoint has the same semantics.
"""

from __future__ import annotations

from time import perf_counter
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from httpapi import handle_error
from registry import Handle, NodeError, Principal, parse_index
from resolver import FORWARDED_HEADER, Entry, Resolver

from .auth import known_principal, may_read_private
from .context import NodeContext
from .headers import NOSNIFF, stale_headers
from .hot_writes import SNMS_CREATE, hot_write, write_principal
from .human.hot import hot_page
from .paths import path_text

__all__ = ["HotPath", "query_filters"]

HANDLES_PATH = "/api/handles/"
_JSON = (b"content-type", b"application/json")
# HEAD answers as GET does; the server leaves the body out.
_READS = frozenset({"GET", "HEAD"})
# A forwarded request must not be resolved recursively: the full endpoint answers it.
_FORWARDED = FORWARDED_HEADER.lower().encode()
_AUTHORIZATION = b"authorization"


async def _send(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode()), NOSNIFF, *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


Filters = tuple[list[int], list[str]]
_NO_FILTERS: Filters = ([], [])


def query_filters(query: bytes) -> Filters | None:
    """The ``index=`` and ``type=`` filters of a resolution's query string, read as the
    endpoint reads them; ``None`` for anything else, or a value the endpoint would refuse
    (the endpoint answers those, in its own words)."""
    if not query:
        return _NO_FILTERS
    indexes: list[int] = []
    types: list[str] = []
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name == "type":
            types.append(value)
        elif name == "index":
            try:
                indexes.append(parse_index(value, "index parameter"))
            except NodeError:
                return None
        else:
            return None
    return indexes, types


def _answer(
    resolver: Resolver, entry: Entry, principal: Principal | None, filters: Filters
) -> tuple[int, bytes]:
    """The entry's status and body as ``principal`` may see it (anonymous: public values),
    filtered (a handle not found is not found, whatever the filters)."""
    private = (
        principal is not None
        and entry.private_text is not None
        and may_read_private(principal, entry.key)
    )
    indexes, types = filters
    if (indexes or types) and entry.exists:
        return resolver.answer(entry, private, indexes, types)
    if private:
        return resolver.answer(entry, True)
    return entry.status, entry.body


class HotPath:
    """Wraps the node's app; answers Handle REST resolutions itself when it can."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        # Outside FastAPI, so not behind its telemetry and error middleware on every hit.
        self.state = app.state
        self.tally = app.state.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in _READS
            and scope["path"].startswith(HANDLES_PATH)
            and (filters := query_filters(scope["query_string"])) is not None
        ):
            authorization = None
            for name, value in scope["headers"]:
                if name == _FORWARDED:
                    return await self.app(scope, receive, send)
                if name == _AUTHORIZATION:
                    authorization = value
            # Looked up once: the app's state answers each attribute through a Python call.
            node: NodeContext = self.state.node
            if authorization is None:
                return await self._resolve(scope, send, node, None, filters)
            principal = self._known(scope, node, authorization)
            if principal is not None:
                return await self._resolve(scope, send, node, principal, filters)
        if (
            scope["type"] == "http"
            and not scope["query_string"]
            and (
                (scope["method"] == "PUT" and scope["path"].startswith(HANDLES_PATH))
                or (scope["method"] == "POST" and scope["path"] == SNMS_CREATE)
            )
        ):
            started = perf_counter()
            principal = self._writer(scope)
            if principal is not None:
                status = await hot_write(scope, receive, send, self.state.node, principal)
                api = "snms" if scope["path"] == SNMS_CREATE else "handle"
                self.tally.bind(api, status).observe(perf_counter() - started)
                return
        if scope["type"] == "http":
            started = perf_counter()
            page = hot_page(scope, self.state.node.resolver)
            if page is not None:
                status, headers, body = page
                headers = [*headers, (b"content-length", str(len(body)).encode()), NOSNIFF]
                await send({"type": "http.response.start", "status": status, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                self.tally.bind("human", status).observe(perf_counter() - started)
                return
        await self.app(scope, receive, send)

    def _known(self, scope: Scope, node: NodeContext, authorization: bytes) -> Principal | None:
        """The caller when proven recently; ``None`` sends the request to the full endpoint
        (which also answers malformed or refused credentials, in the API's own words)."""
        client = scope.get("client")
        try:
            return known_principal(authorization, node, client[0] if client else "unknown")
        except NodeError:
            return None

    def _writer(self, scope: Scope) -> Principal | None:
        """The caller of a single registration when proven recently (``hot_writes``)."""
        for name, value in scope["headers"]:
            if name == _AUTHORIZATION:
                client = scope.get("client")
                return write_principal(
                    scope, value, self.state.node, client[0] if client else "unknown"
                )
        return None

    async def _resolve(
        self,
        scope: Scope,
        send: Send,
        node: NodeContext,
        principal: Principal | None,
        filters: Filters,
    ) -> None:
        started = perf_counter()
        resolver: Resolver = node.resolver
        try:
            # Decoded from the raw bytes as the endpoint decodes them: the server's decoding
            # turns bytes that are not UTF-8 into U+FFFD.
            key = path_text(scope, HANDLES_PATH)
            limits = node.resolution_limits
            if principal is None and limits.active:
                client = scope.get("client")
                limits.check(client[0] if client else "unknown", key)
            # Keys are normalised handles; a path in another spelling misses and is parsed.
            entry = resolver.hot(key)
            if entry is not None:
                status, body = _answer(resolver, entry, principal, filters)
                await _send(send, status, body, [])
                self.tally.handle(status, started)
                return
            # Misses of the same moment share one statement (``ReadBatcher``).
            resolution = await resolver.lookup(Handle.parse(key), batched=True)
        except NodeError as exc:
            # Named as the app's route names it: the path as the server decoded it.
            status, body, extra = handle_error(exc, scope["path"][len(HANDLES_PATH) :])
        else:
            status, body = _answer(resolver, resolution.entry, principal, filters)
            extra = stale_headers(resolution) if resolution.stale else None
        headers = [(k.lower().encode(), v.encode()) for k, v in extra.items()] if extra else []
        await _send(send, status, body, headers)
        self.tally.handle(status, started)
