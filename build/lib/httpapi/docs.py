"""API documentation pages that work offline, and request-body entries for the OpenAPI document.

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN: a blank page on a
network without internet. Here both pages load them from the app itself, from the files the
``fastapi-offline`` package ships (only its assets are used). Apps pass ``docs_url=None,
redoc_url=None`` to ``FastAPI`` and call ``install_offline_docs`` before any catch-all route.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "install_offline_docs", "json_body"]

ASSETS_PATH = "/docs-assets"
_ASSETS = files("fastapi_offline") / "static"


def install_offline_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve Swagger UI at ``docs_url`` and ReDoc at ``redoc_url``, their assets from the app."""
    if app.openapi_url is None:
        raise ValueError("the app has no OpenAPI document to show")
    openapi_url = app.openapi_url
    app.mount(ASSETS_PATH, StaticFiles(directory=str(_ASSETS)), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            # No badge from the online validator: nothing is fetched from elsewhere.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )


def json_body(
    schema: Mapping[str, Any],
    examples: Mapping[str, Any],
    *,
    required: bool = True,
    description: str | None = None,
) -> dict[str, Any]:
    """An ``openapi_extra`` documenting a JSON request body an endpoint reads itself.

    ``examples`` maps a name to an example body (each shown as one choice in the docs).
    """
    body: dict[str, Any] = {
        "required": required,
        "content": {
            "application/json": {
                "schema": dict(schema),
                "examples": {name: {"value": value} for name, value in examples.items()},
            }
        },
    }
    if description:
        body["description"] = description
    return {"requestBody": body}
