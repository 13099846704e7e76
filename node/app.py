"""The application factory: one FastAPI app, its resources owned by the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from httpapi import handle_dialect, install_error_handlers, install_offline_docs, plain_dialect
from migrations.runner import require_schema
from registry import Unavailable
from registry.storage import Database

from . import admin, enterprise, handle_api, health, human, snms
from .console import console_dialect, install_console
from .context import NodeContext
from .dns.server import open_dns
from .headers import NoSniff
from .hot import HotPath
from .logging_setup import RequestId
from .metrics import RequestMeter, RequestTally, WorkerShare
from .metrics import router as metrics_router
from .metrics.families import node_families
from .native.server import open_native
from .runtime import tune_gc
from .settings import Settings, get_settings
from .sync import open_sync
from .sync import router as sync_router
from .trust.endpoints import router as trust_router
from .web import install_web

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
            open_dns(context) as dns,
        ):
            app.state.node = context
            app.state.native = native
            app.state.dns = dns
            app.state.schema_ready = await _schema_ready(context.db)
            tune_gc(settings.gc_threshold)
            share = WorkerShare.from_environment(lambda: node_families(app.state))
            if share is None:
                yield
                return
            async with share:
                app.state.metrics_share = share
                yield

    app = FastAPI(
        title="idnode",
        summary="A secondary node of the industrial-internet identifier resolution system",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    # Before the page route, which answers any other path as a handle.
    install_offline_docs(app)
    install_web(app)

    app.add_middleware(NoSniff)
    # Plain counts, read by GET /metrics; the hot path counts its answers into the same tally.
    app.state.metrics = RequestTally()
    app.add_middleware(RequestMeter, tally=app.state.metrics)
    app.include_router(health.router)
    app.include_router(handle_api.router)
    app.include_router(admin.router)
    app.include_router(snms.router)
    app.include_router(enterprise.router)
    app.include_router(trust_router)
    app.include_router(sync_router)
    app.include_router(metrics_router)
    install_console(app)
    # Last: it answers any other path as a handle.
    app.include_router(human.router)
    install_error_handlers(
        app,
        {
            "/api/handles": handle_dialect,
            "/admin": plain_dialect,
            "/metrics": plain_dialect,
            "/identity": snms.snms_dialect,
            "/identityv2": snms.snms_dialect,
            "/snms": snms.snms_dialect,
            "/enterprise": snms.snms_dialect,
            "/console": console_dialect,
            "/": human.human_dialect,
        },
    )
    return app


async def _schema_ready(db: Database) -> bool:
    """Whether the database is migrated; said loudly at startup when it is not."""
    try:
        await require_schema(db)
    except Unavailable as exc:
        logger.error("%s; /readyz answers 503 until it is", exc.message)
        return False
    return True


def create_served_app() -> RequestId:
    """``create_app()`` behind the resolution hot path, every request given an id: what
    ``idnode serve`` runs."""
    return RequestId(HotPath(create_app()))
