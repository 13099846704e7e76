"""Node administration over HTTP: enterprises, prefixes, credentials, the audit log (admin token
only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from registry import Principal, parse_moment
from registry.trust import public_key_data

from ..auth import get_principal
from ..context import NodeContext, get_context
from .schemas import (
    AuditPageOut,
    CredentialCreate,
    CredentialOut,
    EnterpriseCreate,
    EnterpriseCreated,
    EnterpriseOut,
    KeyCreate,
    KeyOut,
    PrefixCreate,
    QuotaOut,
    QuotaUpdate,
)

__all__ = ["router"]


async def require_admin(principal: Principal = Depends(get_principal)) -> Principal:
    principal.require_admin()
    return principal


router = APIRouter(
    prefix="/admin", tags=["Node administration"], dependencies=[Depends(require_admin)]
)


@router.post("/enterprises", status_code=201, response_model=EnterpriseCreated)
async def create_enterprise(
    body: EnterpriseCreate, context: NodeContext = Depends(get_context)
) -> dict:
    info, credential = await context.enterprises.create(body.name, body.prefix)
    return {"enterprise": info.as_dict(), "credential": credential.as_dict()}


@router.get("/enterprises", response_model=list[EnterpriseOut])
async def list_enterprises(context: NodeContext = Depends(get_context)) -> list[dict]:
    return [info.as_dict() for info in await context.enterprises.list()]


@router.post("/enterprises/{enterprise_id}/prefixes", status_code=201)
async def allocate_prefix(
    enterprise_id: int, body: PrefixCreate, context: NodeContext = Depends(get_context)
) -> dict:
    return {"prefix": await context.enterprises.allocate_prefix(enterprise_id, body.prefix)}


async def _quota_answer(context: NodeContext, enterprise_id: int) -> dict:
    quota = await context.quotas.get(enterprise_id)
    usage = await context.quotas.usage(enterprise_id)
    return {"enterprise": enterprise_id, "quotas": quota.as_dict(), "usage": usage}


@router.get("/enterprises/{enterprise_id}/quotas", response_model=QuotaOut)
async def get_quotas(enterprise_id: int, context: NodeContext = Depends(get_context)) -> dict:
    return await _quota_answer(context, enterprise_id)


@router.put("/enterprises/{enterprise_id}/quotas", response_model=QuotaOut)
async def set_quotas(
    enterprise_id: int, body: QuotaUpdate, context: NodeContext = Depends(get_context)
) -> dict:
    await context.quotas.set(enterprise_id, body.model_dump(exclude_unset=True))
    return await _quota_answer(context, enterprise_id)


@router.post("/credentials", status_code=201, response_model=CredentialOut)
async def issue_credential(
    body: CredentialCreate, context: NodeContext = Depends(get_context)
) -> dict:
    return (await context.enterprises.issue_credential(body.prefix)).as_dict()


@router.post("/credentials/keys", status_code=201, response_model=KeyOut)
async def register_key(body: KeyCreate, context: NodeContext = Depends(get_context)) -> dict:
    """A public key for the enterprise's ``<prefix>/ADMIN``: a new identity for the native
    protocol's HS_PUBKEY challenge answers (revoke it as any credential)."""
    data = public_key_data(body.public_key.encode())
    username = await context.enterprises.register_public_key(body.prefix, data)
    return {"username": username, "prefix": body.prefix}


@router.delete("/credentials/{username:path}", status_code=204)
async def revoke_credential(username: str, context: NodeContext = Depends(get_context)) -> Response:
    await context.enterprises.revoke_credential(username)
    return Response(status_code=204)


@router.get(
    "/audit",
    response_model=AuditPageOut,
    summary="The audit log: administrative actions, newest first",
)
async def audit_log(
    context: NodeContext = Depends(get_context),
    since: str | None = Query(None, description="ISO 8601 time or date; entries at or after it"),
    until: str | None = Query(None, description="ISO 8601 time or date; entries before it"),
    actor: str | None = Query(None, description="exactly this actor, e.g. admin"),
    action: str | None = Query(None, description="exactly this action, e.g. credential.revoke"),
    target: str | None = Query(None, description="targets that start with this text"),
    before: int | None = Query(None, description="entries with a smaller id (a page's next)"),
    limit: int = Query(100, description="at most this many entries, 1 to 1000"),
) -> dict:
    """Who did what, when and from where; follow ``next`` as ``before`` for the next page."""
    page = await context.audit.find(
        since=None if since is None else parse_moment(since),
        until=None if until is None else parse_moment(until),
        actor=actor,
        action=action,
        target=target,
        before=before,
        limit=limit,
    )
    return page.as_dict()
