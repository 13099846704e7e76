"""Node administration over HTTP: enterprises, prefixes, credentials (admin token only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from registry import Principal
from registry.trust import public_key_data

from ..auth import get_principal
from ..context import NodeContext, get_context
from .schemas import (
    CredentialCreate,
    CredentialOut,
    EnterpriseCreate,
    EnterpriseCreated,
    EnterpriseOut,
    KeyCreate,
    KeyOut,
    PrefixCreate,
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
