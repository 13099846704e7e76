"""Assembling a node's resolver: cache, cross-process invalidation, recursive upstream."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import make_url

from registry import Prefix, RecordService

from ._cache import CacheConfig
from ._notify import PgInvalidation
from ._recursive import Upstream
from ._resolver import Resolver

__all__ = ["build_resolver"]

UPSTREAM_CONNECTIONS = 100


def build_resolver(
    records: RecordService,
    *,
    database_url: str,
    node_code: Prefix,
    toplevel_url: str | None = None,
    config: CacheConfig | None = None,
    upstream_timeout: float = 5.0,
    upstream_max_bytes: int = 1024 * 1024,
    upstream_deadline: float = 10.0,
) -> Resolver:
    """A resolver for one node process; ``await resolver.start()`` before use, ``close()`` after.

    On PostgreSQL, writes in any process invalidate every process's cache (LISTEN/NOTIFY); with
    ``toplevel_url``, prefixes outside ``node_code`` are resolved through the prefix directory.
    """
    upstream = None
    client = None
    if toplevel_url:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(upstream_timeout),
            limits=httpx.Limits(max_connections=UPSTREAM_CONNECTIONS),
            follow_redirects=False,
        )
        upstream = Upstream(
            toplevel_url, client, max_answer_bytes=upstream_max_bytes, deadline=upstream_deadline
        )
    resolver = Resolver(
        records,
        config=config,
        node_code=node_code,
        remote=None if upstream is None else upstream.fetch,
    )
    resolver.upstream = upstream
    if client is not None:
        resolver.on_close(client.aclose)
    if make_url(database_url).get_backend_name() == "postgresql":
        channel = PgInvalidation(database_url, resolver.invalidate)
        resolver.publisher = channel.publish
        # The writer's own changes: NOTIFY within their transaction, delivered with its COMMIT
        # (a single new record's, committed by one statement of its own: right after it).
        records.writer.set_announcer(channel.announce, channel.publish)
        resolver.on_start(channel.start)
        resolver.on_close(channel.close)
    return resolver
