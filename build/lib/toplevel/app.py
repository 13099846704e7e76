"""The simulated national top-level node as its own FastAPI app, its store owned by the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from httpapi import install_offline_docs

from .authority import RootAuthority
from .endpoints import Certify, router
from .errors import install_error_handlers
from .faults import FaultMiddleware, Faults
from .store import TopLevelStore

__all__ = ["create_toplevel_app"]


def create_toplevel_app(
    database_url: str,
    bootstrap_token: str,
    certify: Certify | None = None,
    *,
    root: RootAuthority | None = None,
    operator_token: str | None = None,
) -> FastAPI:
    """The top-level node on the SQLite file at ``database_url``.

    ``root`` is its root CA: it certifies onboarded nodes and its certificate is served at
    ``GET /root``. ``certify(node_code, public_jwk, key_index)`` overrides how nodes are
    certified; with neither, nodes are onboarded with no certificate. ``operator_token`` opens
    the read API and the fault switches to the operator; without it only nodes read (their own).
    """
    if certify is None and root is not None:
        certify = root.certify_node

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = TopLevelStore(database_url)
        await store.open()
        app.state.store = store
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(
        title="idnode top-level node (simulated)",
        summary="Prefix directory, node onboarding, sync intake and fault switches, for tests",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_offline_docs(app)
    app.state.bootstrap_token = bootstrap_token
    app.state.operator_token = operator_token or None
    app.state.certify = certify
    app.state.root_id = None if root is None else root.root_id
    app.state.root_certificate = None if root is None else root.root_certificate()
    app.state.faults = Faults()
    app.include_router(router)
    app.add_middleware(FaultMiddleware, faults=app.state.faults)
    install_error_handlers(app)
    return app
