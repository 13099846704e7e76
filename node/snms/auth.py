"""Who is calling an SNMS endpoint: a token from ``/identity/token``, with or without ``Bearer``."""

from __future__ import annotations

from fastapi import Depends
from starlette.requests import Request

from registry import Principal, Role, Unauthenticated

from ..auth import acting, client_address, get_principal
from ..context import NodeContext, get_context

__all__ = ["require_login", "snms_principal", "snms_user"]


async def snms_principal(
    request: Request, context: NodeContext = Depends(get_context)
) -> Principal:
    """SNMS clients send ``Authorization: <token>`` or ``Bearer <token>``; Basic works too."""
    header = (request.headers.get("authorization") or "").strip()
    if header and " " not in header:
        principal = await context.enterprises.principal_for_token(
            header, client=client_address(request)
        )
        return acting(request, principal)
    return await get_principal(request, context)


def require_login(principal: Principal) -> None:
    """Raise ``Unauthenticated`` (SNMS status -1) for an anonymous caller."""
    if principal.role is Role.ANONYMOUS:
        raise Unauthenticated("not logged in: get a token from POST /identity/token")


async def snms_user(principal: Principal = Depends(snms_principal)) -> Principal:
    """The caller, who must be logged in: status -1 comes before any check of the request."""
    require_login(principal)
    return principal
