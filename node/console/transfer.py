"""Batch import (CSV or Excel against a template: dry run, then a job with a progress bar) and
export of a prefix or a search, on the import service and record catalog the API uses."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from httpapi import PLAIN_STATUS, lookup
from registry import (
    XLSX_TYPE,
    InvalidInput,
    NodeError,
    PayloadTooLarge,
    check_version,
    csv_stream,
    sniff_kind,
    xlsx_stream,
)

from ..context import NodeContext, get_context
from .identifiers import search_filter, stated_prefix
from .pages import page, redirect, require_enterprise
from .sessions import BASE, CSRF_FIELD, Session, check_csrf

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_CHUNK = 64 * 1024


async def _page(
    request: Request,
    context: NodeContext,
    session: Session,
    prefix: str,
    version: str | None,
    status_code: int = 200,
    **values: object,
) -> Response:
    templates = await context.templates.list(session.principal, prefix)
    return page(
        request,
        context,
        "console/import.html",
        status_code,
        session=session,
        prefix=prefix,
        prefixes=sorted(session.principal.prefixes),
        version=version or (templates[0].version if templates else None),
        templates=[t.version for t in templates],
        **{"report": None, "problem": None, "file_name": "", **values},
    )


@router.get(f"{BASE}/import")
async def import_form(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    prefix = stated_prefix(session.principal, request.query_params.get("prefix"))
    return await _page(request, context, session, prefix, request.query_params.get("template"))


async def _copy(upload: UploadFile, limit: int, context: str) -> tuple[Path, str, str]:
    """The upload in a temporary file, its kind (csv or xlsx), and the digest a job id is of."""
    digest = hashlib.sha256(context.encode())
    descriptor, name = tempfile.mkstemp(prefix="idnode-import-")
    path = Path(name)
    size, head = 0, b""
    try:
        with os.fdopen(descriptor, "wb") as target:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"the file is over the limit of {limit} bytes")
                head = head or chunk[:4]
                digest.update(chunk)
                target.write(chunk)
        if not size:
            raise InvalidInput("the file is empty: choose a CSV or Excel file")
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return path, sniff_kind(head), digest.hexdigest()[:32]


@router.post(f"{BASE}/import")
async def run_import(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    limit = context.settings.max_batch_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _CHUNK:
        raise PayloadTooLarge(f"the file of {declared} bytes is over the limit of {limit} bytes")
    async with request.form(max_files=1, max_fields=20) as form:
        token = form.get(CSRF_FIELD)
        check_csrf(request, token if isinstance(token, str) else None)
        principal = session.principal
        prefix = stated_prefix(principal, str(form.get("prefix", "")) or None)
        raw_version = str(form.get("template", ""))
        dry = form.get("action") != "import"
        upload = form.get("file")
        name = (upload.filename or "") if isinstance(upload, UploadFile) else ""
        try:
            version = check_version(raw_version)
            if not isinstance(upload, UploadFile):
                raise InvalidInput("choose a CSV or Excel file")
            path, kind, digest = await _copy(upload, limit, f"{prefix}\n{version}\n[]")
        except NodeError as exc:
            status = lookup(PLAIN_STATUS, exc)
            return await _page(
                request, context, session, prefix, raw_version, status, problem=exc.message
            )
    imports = context.imports
    try:
        if dry:
            report = await imports.dry_run(principal, prefix, version, {}, path, kind)
            return await _page(
                request, context, session, prefix, version, report=report, file_name=name
            )
        job = await imports.start(principal, prefix, version, {}, path, kind, digest)
    except NodeError as exc:
        path.unlink(missing_ok=True)
        status = lookup(PLAIN_STATUS, exc)
        return await _page(request, context, session, prefix, version, status, problem=exc.message)
    finally:
        if dry:
            path.unlink(missing_ok=True)
    return redirect(f"{BASE}/import/job?{urlencode({'id': job['id']})}")


@router.get(f"{BASE}/import/job")
async def import_job(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    job_id = request.query_params.get("id", "")[:64]
    status = context.imports.get(session.principal, job_id)
    running = status["state"] in ("queued", "running")
    return page(
        request,
        context,
        "console/import_job.html",
        session=session,
        job=status,
        running=running,
        listing=f"{BASE}/identifiers?{urlencode({'prefix': status['prefix']})}",
    )


@router.get(f"{BASE}/export")
async def export(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    principal = session.principal
    where = search_filter(principal, request.query_params)
    kind = request.query_params.get("format", "csv")
    if kind not in ("csv", "xlsx"):
        raise InvalidInput("format must be csv or xlsx")
    template = None
    if where.template_version:
        template = await context.templates.get(principal, where.prefix, where.template_version)
    rows = context.catalog.export(principal, where, template)
    headers = {
        "Content-Disposition": f'attachment; filename="{where.prefix}.{kind}"',
        "Cache-Control": "no-store",
    }
    if kind == "csv":
        return StreamingResponse(
            csv_stream(rows), media_type="text/csv; charset=utf-8", headers=headers
        )
    return StreamingResponse(xlsx_stream(rows), media_type=XLSX_TYPE, headers=headers)
