"""Trust administration over HTTP: the node's keys, and certificates for enterprise keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from ..admin.endpoints import require_admin
from ..context import NodeContext, get_context
from .signing import ENTERPRISE_LIFETIME, key_store, publish_enterprise_certificate

__all__ = ["router"]

router = APIRouter(
    prefix="/admin/trust", tags=["Node administration"], dependencies=[Depends(require_admin)]
)


class EnterpriseCertificateCreate(BaseModel):
    """A request to certify an enterprise's public key."""

    prefix: str = Field(description="the enterprise's prefix, e.g. 88.118.8")
    publicKey: dict[str, Any] = Field(description="the enterprise's public key as a JWK")
    index: int = Field(300, ge=1, description="the HS_PUBKEY index of the key at 0.NA/<prefix>")
    days: int = Field(ENTERPRISE_LIFETIME // 86400, ge=1, le=3650)


@router.get("/keys", summary="The node's signing keys (public information only)")
async def list_keys(context: NodeContext = Depends(get_context)) -> dict:
    """Ids, algorithms, indexes and certification state of the node's keys."""
    return {"keys": [info.as_dict() for info in key_store(context.settings).list()]}


@router.post(
    "/enterprise-certificates",
    status_code=201,
    summary="Certify an enterprise's key for handles under its prefix and publish it",
)
async def certify_enterprise_key(
    body: EnterpriseCertificateCreate, context: NodeContext = Depends(get_context)
) -> dict:
    """Issue a ``handlesUnderThisPrefix`` certificate and publish it at ``0.NA/<prefix>``."""
    handle, certificate = await publish_enterprise_certificate(
        context,
        body.prefix,
        body.publicKey,
        key_index=body.index,
        lifetime_seconds=body.days * 86400,
    )
    return {"handle": handle, "certificate": certificate}
