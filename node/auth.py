"""Who is calling: HTTP Basic with a Handle identity, or a bearer token."""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import unquote

from fastapi import Depends
from starlette.requests import Request

from registry import ADMIN, ANONYMOUS, Actor, Principal, Unauthenticated, set_actor

from .context import NodeContext, get_context
from .logging_setup import request_id

__all__ = ["acting", "client_address", "get_principal", "known_principal", "may_read_private"]


async def get_principal(request: Request, context: NodeContext = Depends(get_context)) -> Principal:
    """The caller of this request; anonymous without an Authorization header.

    Also the actor of the request's administrative actions in the audit log (with the client's
    address and the request id): the one place HTTP learns who is calling.
    """
    return acting(request, await _principal(request, context))


def acting(request: Request, principal: Principal, via: str = "http") -> Principal:
    """Make ``principal`` the actor of this request in the audit log (``via``: the frontend);
    returns it."""
    set_actor(Actor.of(principal, via, client_address(request), request_id.get()))
    return principal


async def _principal(request: Request, context: NodeContext) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        return ANONYMOUS
    scheme, _, credentials = header.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        username, password = _basic(credentials)
        return await context.enterprises.authenticate(
            username, password, client=client_address(request)
        )
    if scheme.lower() == "bearer":
        if not credentials:
            raise Unauthenticated("the bearer token is empty")
        # Guesses are throttled per client, at the admin token as at any other.
        client = client_address(request)
        context.enterprises.check_bearer(client)
        if _is_admin_token(credentials, context):
            return ADMIN
        return await context.enterprises.principal_for_token(credentials, client=client)
    raise Unauthenticated(f"unsupported authorization scheme {scheme!r}; use Basic or Bearer")


def known_principal(header: bytes, context: NodeContext, client: str) -> Principal | None:
    """The caller, when an ``Authorization`` header tells without I/O: a password or token
    proven recently, or the admin token; ``None`` when only ``get_principal`` can tell.

    Throttled as ``get_principal`` is; raises ``Unauthenticated`` for a malformed header.
    """
    enterprises = context.enterprises
    # The same header again (clients send it on every request): no decoding at all.
    principal = enterprises.remembered_header(header, client=client)
    if principal is not None:
        return principal
    generation = enterprises.verified.generation
    scheme, _, credentials = header.decode("latin-1").partition(" ")
    credentials = credentials.strip()
    scheme = scheme.lower()
    if scheme == "basic":
        username, password = _basic(credentials)
        principal = enterprises.remembered(username, password, client=client)
        if principal is not None:
            enterprises.remember_header(header, principal, generation)
        return principal
    if scheme == "bearer" and credentials:
        if _is_admin_token(credentials, context):
            enterprises.check_bearer(client)
            return ADMIN
        principal = enterprises.remembered_token(credentials)
        if principal is not None:
            enterprises.remember_header(header, principal, generation, token=credentials)
        return principal
    return None


def _is_admin_token(credentials: str, context: NodeContext) -> bool:
    admin_token = context.settings.admin_token
    return admin_token is not None and hmac.compare_digest(
        credentials.encode(), admin_token.get_secret_value().encode()
    )


def may_read_private(principal: Principal, handle: str) -> bool:
    """``principal.can_read_private`` for a normalised handle's text (no parsing)."""
    return principal.is_admin or handle.partition("/")[0] in principal.prefixes


def client_address(request: Request) -> str:
    """Who failed logins are counted against: the peer's address (``idnode serve`` trusts no
    forwarding header)."""
    return request.client.host if request.client else "unknown"


def _basic(credentials: str) -> tuple[str, str]:
    """Decode ``base64(pct(index:handle) ":" secret)`` as Handle REST clients send it."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthenticated("the Basic credentials are not valid base64 of UTF-8 text") from exc
    username, colon, password = decoded.partition(":")
    if not colon:
        raise Unauthenticated("the Basic credentials have no ':' between username and password")
    return unquote(username), password
