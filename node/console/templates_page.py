"""The prefix's metadata templates: listed with their typed items, created and changed with a
form of typed items (``template_form``) or as the SNMS template JSON; both are checked by the same
template service, and its JSON Schema, as the API."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from httpapi import PLAIN_STATUS, lookup
from registry import InvalidInput, NodeError

from ..context import NodeContext, get_context
from .identifiers import stated_prefix
from .pages import form_of_request, page, redirect, require_enterprise
from .sessions import BASE, Session
from .template_form import (
    KINDS,
    TemplateForm,
    blank_form,
    body_of,
    field_of,
    form_of_template,
    read_template_form,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_MAX_BODY = 200_000
_EXAMPLE_ITEM = {
    "name": "产品名称",
    "idType": "productName",
    "idIndex": 2000,
    "required": True,
    "metadata": {"type": "string", "minLength": 1, "maxLength": 100},
}


async def _page(
    request: Request,
    context: NodeContext,
    session: Session,
    prefix: str,
    status_code: int = 200,
    **values: Any,
) -> Response:
    templates = await context.templates.list(session.principal, prefix)
    blank = {"prefix": prefix, "version": "1.0", "type": 1, "items": [_EXAMPLE_ITEM]}
    return page(
        request,
        context,
        "console/templates.html",
        status_code,
        session=session,
        prefix=prefix,
        prefixes=sorted(session.principal.prefixes),
        templates=templates,
        **{
            "body": orjson.dumps(blank, option=orjson.OPT_INDENT_2).decode(),
            "editing": None,
            "problem": None,
            "form": blank_form(),
            "errors": {},
            "kinds": KINDS,
            "advanced": False,
            "saved": request.query_params.get("saved"),
            **values,
        },
    )


@router.get(f"{BASE}/templates")
async def templates(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    prefix = stated_prefix(session.principal, request.query_params.get("prefix"))
    version = request.query_params.get("edit")
    if not version:
        return await _page(request, context, session, prefix)
    template = await context.templates.get(session.principal, prefix, version)
    body = orjson.dumps(template.to_json(), option=orjson.OPT_INDENT_2).decode()
    form = form_of_template(template)
    return await _page(request, context, session, prefix, body=body, editing=version, form=form)


@router.post(f"{BASE}/templates")
async def save_template(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    form = await form_of_request(request)
    prefix = stated_prefix(session.principal, form.get("prefix") or None)
    text = form.get("body", "")
    editing = form.get("editing") or None
    if "body" not in form:
        return await _save_form(request, context, session, prefix, editing, form)
    try:
        if len(text) > _MAX_BODY:
            raise InvalidInput(f"the template is longer than {_MAX_BODY} characters")
        try:
            body = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"the template is not JSON: {exc}") from exc
        if editing is not None:
            if not isinstance(body, dict) or body.get("version") != editing:
                raise InvalidInput(f"the version of a template being changed stays {editing}")
            saved = await context.templates.update(session.principal, body)
        else:
            saved = await context.templates.create(session.principal, body)
    except NodeError as exc:
        status = lookup(PLAIN_STATUS, exc)
        return await _page(
            request,
            context,
            session,
            prefix,
            status,
            body=text[:_MAX_BODY],
            editing=editing,
            problem=exc.message,
            advanced=True,
        )
    query = urlencode({"prefix": saved.prefix, "saved": saved.version})
    return redirect(f"{BASE}/templates?{query}")


async def _save_form(
    request: Request,
    context: NodeContext,
    session: Session,
    prefix: str,
    editing: str | None,
    submitted: dict[str, str],
) -> Response:
    """The form editor's submit: add or remove a row (the form shown again), or save."""
    form = read_template_form(submitted)
    if editing is not None:
        form = TemplateForm(editing, form.description, form.rows)
    action = submitted.get("action", "save")
    if action != "save":
        if action == "add":
            form = form.added()
        elif action.startswith("remove-") and action[7:].isdigit():
            form = form.removed(int(action[7:]))
        return await _page(request, context, session, prefix, editing=editing, form=form)
    try:
        if editing is not None:
            stored = await context.templates.get(session.principal, prefix, editing)
            saved = await context.templates.update(session.principal, body_of(form, prefix, stored))
        else:
            saved = await context.templates.create(session.principal, body_of(form, prefix))
    except NodeError as exc:
        field = field_of(exc.message)
        return await _page(
            request,
            context,
            session,
            prefix,
            lookup(PLAIN_STATUS, exc),
            editing=editing,
            form=form,
            problem=exc.message,
            errors={field: exc.message} if field else {},
        )
    query = urlencode({"prefix": saved.prefix, "saved": saved.version})
    return redirect(f"{BASE}/templates?{query}")
