"""``/enterprise/v1``: search, import (dry run, job, status) and export of a prefix's records.

Authenticated as the enterprise, as the SNMS API is (a token from ``/identity/token``, Bearer or
bare, or HTTP Basic); answers in the SNMS envelope. A prefix the caller does not hold is 403.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from registry import (
    XLSX_TYPE,
    InvalidInput,
    Prefix,
    Principal,
    RecordFilter,
    check_version,
    csv_stream,
    xlsx_stream,
)

from ..context import NodeContext, get_context
from ..snms.auth import snms_user
from ..snms.envelope import envelope
from .uploads import spool

__all__ = ["router"]

BASE = "/enterprise/v1"
router = APIRouter(tags=["Enterprise data"])


def _required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise InvalidInput(f"the query parameter {name}= is required")
    return value


def _moment(raw: str | None, name: str, *, end: bool) -> datetime | None:
    """``YYYY-MM-DD`` (a whole day; ``to`` includes it) or an ISO 8601 time."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = datetime.fromisoformat(raw).replace(tzinfo=UTC)
            return day + timedelta(days=1) if end else day
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(f"{name}= must be a date YYYY-MM-DD or an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _filter(request: Request) -> RecordFilter:
    params = request.query_params
    version = params.get("template")
    suffix = params.get("suffix") or None
    if suffix is not None and (len(suffix) > 255 or not suffix.isprintable()):
        raise InvalidInput("suffix= must be a printable pattern of at most 255 characters")
    return RecordFilter(
        prefix=str(Prefix.parse(_required(request, "prefix"))),
        suffix=suffix,
        template_version=check_version(version) if version else None,
        created_from=_moment(params.get("from"), "from", end=False),
        created_before=_moment(params.get("to"), "to", end=True),
    )


def _mapping(request: Request) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for raw in request.query_params.getlist("map"):
        column, equals, item = raw.rpartition("=")
        if not equals or not column or not item:
            raise InvalidInput(f"map= must be <column>=<item name, idType or idIndex>, got {raw!r}")
        mapping[column] = item
    return mapping


@router.get(
    f"{BASE}/identifiers",
    summary="Search a prefix's identifiers: suffix pattern (* and ?), template, created from/to",
)
async def search(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    raw_limit = request.query_params.get("limit", "50")
    if not raw_limit.isdigit():
        raise InvalidInput("limit= must be a whole number from 1 to 1000")
    page = await context.catalog.search(
        principal, _filter(request), request.query_params.get("after"), int(raw_limit)
    )
    return envelope(page)


@router.post(
    f"{BASE}/imports",
    summary="Import a CSV or Excel file (body) against a template; ?dryRun=true only checks it",
)
async def start_import(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    prefix = str(Prefix.parse(_required(request, "prefix")))
    principal.require_owner(Prefix.parse(prefix))
    version = check_version(_required(request, "template"))
    mapping = _mapping(request)
    dry = request.query_params.get("dryRun", "false").lower() in ("1", "true", "yes")
    upload = await spool(
        request,
        context.settings.max_batch_body_bytes,
        f"{prefix}\n{version}\n{sorted(mapping.items())}",
    )
    try:
        if dry:
            report = await context.imports.dry_run(
                principal, prefix, version, mapping, upload.path, upload.kind
            )
            return envelope(report)
        job = await context.imports.start(
            principal, prefix, version, mapping, upload.path, upload.kind, upload.digest
        )
    except BaseException:
        upload.path.unlink(missing_ok=True)
        raise
    finally:
        if dry:
            upload.path.unlink(missing_ok=True)
    job["status"] = f"{BASE}/imports/{job['id']}"
    return envelope(job, "import started")


@router.get(f"{BASE}/imports/{{job_id}}", summary="An import's progress and the rows it refused")
async def import_status(
    job_id: str,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    return envelope(context.imports.get(principal, job_id))


@router.get(
    f"{BASE}/export",
    summary="Export a prefix or a search as CSV (default) or Excel (format=xlsx), streamed",
)
async def export(
    request: Request,
    context: NodeContext = Depends(get_context),
    principal: Principal = Depends(snms_user),
) -> Response:
    where = _filter(request)
    principal.require_owner(Prefix.parse(where.prefix))
    kind = request.query_params.get("format", "csv").lower()
    if kind not in ("csv", "xlsx"):
        raise InvalidInput("format= must be csv or xlsx")
    template = None
    if where.template_version:
        template = await context.templates.get(principal, where.prefix, where.template_version)
    rows = context.catalog.export(principal, where, template)
    name = f"{where.prefix}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "csv":
        return StreamingResponse(
            csv_stream(rows), media_type="text/csv; charset=utf-8", headers=headers
        )
    return StreamingResponse(xlsx_stream(rows), media_type=XLSX_TYPE, headers=headers)
