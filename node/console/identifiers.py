"""The enterprise's identifiers: search and pages, open one, edit, delete, register.

Reads go through the record catalog and record service, writes through the record service (and
so the one record writer), exactly as the Handle REST and SNMS APIs do: the same ownership
checks, template rules, signatures, outbox and cache invalidation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from httpapi import PLAIN_STATUS, lookup
from registry import (
    Handle,
    HandleNotFound,
    InvalidInput,
    InvalidValue,
    NodeError,
    Prefix,
    Principal,
    RecordFilter,
    Template,
    check_version,
)

from ..context import NodeContext, get_context
from .forms import TEMPLATE_INDEX, form_of, read_form, values_from
from .pages import form_of_request, page, redirect, require_enterprise
from .sessions import BASE, Session

__all__ = ["record_path", "router", "search_filter", "stated_prefix"]

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25


def record_path(handle: str, action: str = "") -> str:
    """The console URL of a record's page (``action``: ``edit`` or ``delete``)."""
    path = f"{BASE}/record/{action}" if action else f"{BASE}/record"
    return f"{path}?{urlencode({'h': handle})}"


def _prefixes(principal: Principal) -> list[str]:
    return sorted(principal.prefixes)


def stated_prefix(principal: Principal, raw: str | None) -> str:
    """The prefix asked for (one the caller holds), or the caller's first."""
    held = _prefixes(principal)
    if not raw:
        if not held:
            raise InvalidInput("this credential holds no prefix")
        return held[0]
    prefix = Prefix.parse(raw)
    principal.require_owner(prefix)
    return str(prefix)


def _day(raw: str | None, name: str, *, end: bool) -> datetime | None:
    """A ``YYYY-MM-DD`` of China time as the start (or the end) of that day in UTC."""
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date YYYY-MM-DD, got {raw[:40]!r}") from exc
    return day - timedelta(hours=8) + (timedelta(days=1) if end else timedelta())


def _handle(principal: Principal, raw: str | None) -> Handle:
    if not raw:
        raise InvalidInput("the query parameter h= (an identifier) is required")
    handle = Handle.parse(raw)
    principal.require_owner(handle.prefix, handle=str(handle))
    return handle


async def _template_of(
    context: NodeContext, principal: Principal, prefix: str, version: str | None
) -> Template | None:
    if not version:
        return None
    return await context.templates.get(principal, prefix, check_version(version))


def _version_of(values: Any) -> str | None:
    for value in values:
        if value.index == TEMPLATE_INDEX and value.format == "string":
            return str(value.value)
    return None


def search_filter(principal: Principal, params: Mapping[str, str]) -> RecordFilter:
    """The search a page's query asks for: prefix, suffix pattern, template, dates (China)."""
    prefix = stated_prefix(principal, params.get("prefix"))
    suffix = params.get("suffix", "")[:255] or None
    if suffix is not None and not suffix.isprintable():
        raise InvalidInput("the suffix pattern must be printable")
    version = params.get("template", "")[:64]
    return RecordFilter(
        prefix=prefix,
        suffix=suffix,
        template_version=check_version(version) if version else None,
        created_from=_day(params.get("from", "")[:10], "from", end=False),
        created_before=_day(params.get("to", "")[:10], "to", end=True),
    )


@router.get(f"{BASE}/identifiers")
async def identifiers(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    principal = session.principal
    params = request.query_params
    prefix = stated_prefix(principal, params.get("prefix"))
    query = {
        "prefix": prefix,
        "suffix": params.get("suffix", "")[:255],
        "template": params.get("template", "")[:64],
        "from": params.get("from", "")[:10],
        "to": params.get("to", "")[:10],
    }
    templates = await context.templates.list(principal, prefix)
    problem = None
    found: dict[str, Any] = {"items": [], "next": None}
    try:
        where = search_filter(principal, params)
        found = await context.catalog.search(principal, where, params.get("after"), PAGE_SIZE)
    except InvalidInput as exc:
        problem = exc.message
    filled = {key: value for key, value in query.items() if value}
    next_link = (
        f"{BASE}/identifiers?{urlencode({**filled, 'after': found['next']})}"
        if found["next"]
        else None
    )
    first_link = f"{BASE}/identifiers?{urlencode(filled)}" if params.get("after") else None
    return page(
        request,
        context,
        "console/identifiers.html",
        400 if problem else 200,
        session=session,
        prefixes=_prefixes(principal),
        templates=[t.version for t in templates],
        query=query,
        items=[
            {**item, "link": record_path(item["handle"]), "page": _public(item["handle"])}
            for item in found["items"]
        ],
        next_link=next_link,
        first_link=first_link,
        export_csv=f"{BASE}/export?{urlencode({**filled, 'format': 'csv'})}",
        export_xlsx=f"{BASE}/export?{urlencode({**filled, 'format': 'xlsx'})}",
        problem=problem,
        deleted=params.get("deleted"),
    )


def _public(handle: str) -> str:
    return "/" + quote(handle, safe="/:") + "?noredirect"


@router.get(f"{BASE}/record")
async def show_record(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    handle, record, version, template = await _stored(
        context, session.principal, request.query_params.get("h")
    )
    names = {item.id_index: item.name for item in template.items} if template else {}
    return page(
        request,
        context,
        "console/record.html",
        session=session,
        handle=str(handle),
        values=record.values,
        names=names,
        version=version,
        edit_link=record_path(str(handle), "edit"),
        delete_link=record_path(str(handle), "delete"),
        public_link=_public(str(handle)),
        saved=request.query_params.get("saved"),
    )


async def _stored(context: NodeContext, principal: Principal, raw: str | None) -> Any:
    handle = _handle(principal, raw)
    record = await context.records.get(handle)
    if record is None:
        raise HandleNotFound(f"the identifier {handle} is not registered", handle=str(handle))
    version = _version_of(record.values)
    template = await _template_of(context, principal, str(handle.prefix), version)
    return handle, record, version, template


@router.get(f"{BASE}/record/edit")
async def edit_form(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    handle, record, version, template = await _stored(
        context, session.principal, request.query_params.get("h")
    )
    return _edit_page(request, context, session, handle, version, form_of(record.values, template))


def _edit_page(
    request: Request,
    context: NodeContext,
    session: Session,
    handle: Handle,
    version: str | None,
    form: Any,
    status_code: int = 200,
    problem: str | None = None,
) -> Response:
    return page(
        request,
        context,
        "console/edit.html",
        status_code,
        session=session,
        scripts=True,
        handle=str(handle),
        version=version,
        form=form,
        action=record_path(str(handle), "edit"),
        cancel=record_path(str(handle)),
        problem=problem,
    )


@router.post(f"{BASE}/record/edit")
async def edit(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    form = await form_of_request(request)
    principal = session.principal
    handle, record, version, template = await _stored(
        context, principal, request.query_params.get("h")
    )
    kept = form_of(record.values, template).kept
    submitted = read_form(form, template, kept)
    try:
        values = values_from(submitted)
        if not values:
            raise InvalidValue("a record needs at least one value", handle=str(handle))
        await context.records.put(principal, handle, values, overwrite=True)
    except NodeError as exc:
        status = lookup(PLAIN_STATUS, exc)
        return _edit_page(
            request, context, session, handle, version, submitted, status, exc.message
        )
    return redirect(record_path(str(handle)) + "&saved=1")


@router.get(f"{BASE}/record/delete")
async def delete_form(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    handle, record, version, _ = await _stored(
        context, session.principal, request.query_params.get("h")
    )
    return page(
        request,
        context,
        "console/delete.html",
        session=session,
        handle=str(handle),
        count=len(record.values),
        version=version,
        action=record_path(str(handle), "delete"),
        cancel=record_path(str(handle)),
    )


@router.post(f"{BASE}/record/delete")
async def delete(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    await form_of_request(request)
    handle = _handle(session.principal, request.query_params.get("h"))
    await context.records.delete(session.principal, handle)
    query = urlencode({"prefix": str(handle.prefix), "deleted": str(handle)})
    return redirect(f"{BASE}/identifiers?{query}")


@router.get(f"{BASE}/record/new")
async def new_form(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    principal = session.principal
    prefix = stated_prefix(principal, request.query_params.get("prefix"))
    version = request.query_params.get("template") or None
    template = await _template_of(context, principal, prefix, version)
    templates = await context.templates.list(principal, prefix)
    return _new_page(
        request, context, session, prefix, version, templates, "", form_of([], template)
    )


def _new_page(
    request: Request,
    context: NodeContext,
    session: Session,
    prefix: str,
    version: str | None,
    templates: list[Template],
    suffix: str,
    form: Any,
    status_code: int = 200,
    problem: str | None = None,
) -> Response:
    return page(
        request,
        context,
        "console/new.html",
        status_code,
        session=session,
        scripts=True,
        prefix=prefix,
        prefixes=_prefixes(session.principal),
        version=version,
        templates=[t.version for t in templates],
        suffix=suffix,
        form=form,
        problem=problem,
    )


@router.post(f"{BASE}/record/new")
async def register(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    form = await form_of_request(request)
    principal = session.principal
    prefix = stated_prefix(principal, str(form.get("prefix", "")) or None)
    version = str(form.get("template", "")) or None
    template = await _template_of(context, principal, prefix, version)
    suffix = str(form.get("suffix", "")).strip()
    submitted = read_form(form, template)
    try:
        handle = Handle.parse(f"{prefix}/{suffix}")
        values = values_from(submitted)
        if not values:
            raise InvalidValue("a record needs at least one value", handle=str(handle))
        await context.records.put(
            principal, handle, values, overwrite=False, template_version=version
        )
    except NodeError as exc:
        templates = await context.templates.list(principal, prefix)
        status = lookup(PLAIN_STATUS, exc)
        return _new_page(
            request,
            context,
            session,
            prefix,
            version,
            templates,
            suffix,
            submitted,
            status,
            exc.message,
        )
    return redirect(record_path(str(handle)) + "&saved=1")
