"""The application factory: one FastAPI app, its resources owned by the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.responses import Response

from httpapi import handle_dialect, install_error_handlers, json_response, plain_dialect
from migrations.runner import require_schema
from registry import Unavailable
from registry.storage import Database

from . import admin, handle_api, human, snms
from .context import NodeContext
from .dns.server import open_dns
from .headers import NoSniff
from .hot import HotPath
from .logging_setup import RequestId
from .native.server import open_native
from .runtime import tune_gc
from .settings import Settings, get_settings
from .sync import open_sync
from .sync import router as sync_router
from .trust.endpoints import router as trust_router

__all__ = ["create_app", "create_served_app"]

logger = logging.getLogger("idnode")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the node's app; storage and clients are opened in its lifespan and closed after."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Closed in reverse on the way out: sync flushes the outbox, then the resolver, the
        # signer's sealing processes and the database close (uvicorn has stopped accepting and
        # finished the requests in flight by then).
        async with (
            NodeContext(settings, listen=True, sync=open_sync) as context,
            open_native(context, settings) as native,
            open_dns(context),
        ):
            app.state.node = context
            app.state.native = native
            app.state.schema_ready = await _schema_ready(context.db)
            tune_gc(settings.gc_threshold)
            yield

    app = FastAPI(
        title="idnode",
        summary="A secondary node of the industrial-internet identifier resolution system",
        version="0.1.0",
        lifespan=lifespan,
    )

    # HEAD too (outside the schema: one operation per path), so load balancers that health-check
    # with HEAD do not fall through to the page route.
    @app.head("/healthz", include_in_schema=False)
    @app.get("/healthz", tags=["Operations"], summary="200 when the node can serve")
    async def healthz() -> Response:
        try:
            # Checked again only while it is not: a migration run after start is picked up.
            if not app.state.schema_ready:
                await require_schema(app.state.node.db)
                app.state.schema_ready = True
            await app.state.node.db.ping()
        except Unavailable as exc:
            return json_response({"status": "unavailable", "message": exc.message}, 503)
        return json_response({"status": "ok", "nodeCode": settings.node_code})

    app.add_middleware(NoSniff)
    app.include_router(handle_api.router)
    app.include_router(admin.router)
    app.include_router(snms.router)
    app.include_router(trust_router)
    app.include_router(sync_router)
    # Last: it answers any other path as a handle.
    app.include_router(human.router)
    install_error_handlers(
        app,
        {
            "/api/handles": handle_dialect,
            "/admin": plain_dialect,
            "/identity": snms.snms_dialect,
            "/identityv2": snms.snms_dialect,
            "/snms": snms.snms_dialect,
            "/": human.human_dialect,
        },
    )
    return app


async def _schema_ready(db: Database) -> bool:
    """Whether the database is migrated; said loudly at startup when it is not."""
    try:
        await require_schema(db)
    except Unavailable as exc:
        logger.error("%s; /healthz answers 503 until it is", exc.message)
        return False
    return True


def create_served_app() -> RequestId:
    """``create_app()`` behind the resolution hot path, every request given an id: what
    ``idnode serve`` runs."""
    return RequestId(HotPath(create_app()))
