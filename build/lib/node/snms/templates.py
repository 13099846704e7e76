"""SNMS metadata templates: ``GET|POST|PUT|DELETE /snms/api/v5/template``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from registry import Principal

from ..bodies import read_json
from ..context import NodeContext, get_context
from .auth import snms_user
from .endpoints import param_or_body
from .envelope import envelope
from .openapi import TEMPLATE_BODY, field_body

__all__ = ["router"]

PATH = "/snms/api/v5/template"
router = APIRouter(tags=["SNMS API"])


@router.get(
    PATH,
    summary="One template (prefix and version), or every template of a prefix",
    openapi_extra=field_body("prefix", optional=("version",)),
)
async def get_template(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    prefix = await param_or_body(request, context, "prefix")
    version = request.query_params.get("version")
    if version:
        return envelope((await context.templates.get(principal, prefix, version)).to_json())
    templates = await context.templates.list(principal, prefix)
    return envelope([template.to_json() for template in templates])


@router.post(PATH, summary="Create a template", openapi_extra=TEMPLATE_BODY)
async def create_template(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    body = await read_json(request, context.settings.max_body_bytes)
    return envelope((await context.templates.create(principal, body)).to_json())


@router.put(
    PATH,
    summary="Replace a template (prefix and version name it)",
    openapi_extra=TEMPLATE_BODY,
)
async def update_template(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    body = await read_json(request, context.settings.max_body_bytes)
    return envelope((await context.templates.update(principal, body)).to_json())


@router.delete(
    PATH,
    summary="Delete a template no record uses",
    openapi_extra=field_body("prefix", "version"),
)
async def delete_template(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    prefix = await param_or_body(request, context, "prefix")
    version = await param_or_body(request, context, "version")
    await context.templates.delete(principal, prefix, version)
    return envelope({"prefix": prefix, "version": version})
