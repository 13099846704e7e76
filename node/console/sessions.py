"""Console sessions and CSRF tokens, kept in cookies scoped to ``/console``.

An enterprise session is an opaque bearer token issued by ``EnterpriseService.issue_token``: its
hash and expiry live in the database (every node process sees it; logout deletes it). An
operator session, for whoever holds the admin token, is ``op.<expiry>.<nonce>.<mac>`` signed
with a key derived from that token: it ends at its expiry, at logout in that browser, or for
everyone when the admin token changes.

Cookies are HttpOnly and SameSite=Strict; Secure when the request came over https or
``IDNODE_CONSOLE_SECURE_COOKIES`` says a TLS proxy is in front. Every form carries a CSRF token:
an HMAC, keyed by a random per-browser cookie, of the session cookie (signed double submit), so a
token is only good for one browser and one session.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response

from registry import ADMIN, NodeError, Principal, Unauthenticated

from ..auth import acting
from ..context import NodeContext

__all__ = [
    "BASE",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "SESSION_COOKIE",
    "CsrfRejected",
    "LoginRequired",
    "Session",
    "check_csrf",
    "csrf_token",
    "end_session",
    "ensure_csrf_cookie",
    "open_session",
    "operator_identity",
    "session_of",
]

BASE = "/console"
SESSION_COOKIE = "idnode_console"
CSRF_COOKIE = "idnode_console_csrf"
CSRF_FIELD = "csrf"
_OPERATOR = "op"
# Failed operator logins are counted against this identity by the node's login throttle.
operator_identity = "console-operator"


class LoginRequired(Exception):
    """The page needs a session (or an operator session) that the request does not have."""

    def __init__(self, operator: bool = False) -> None:
        super().__init__("login required")
        self.operator = operator


class CsrfRejected(Exception):
    """A form came without the CSRF token of this browser's session."""


@dataclass(frozen=True, slots=True)
class Session:
    """Who is logged in: an enterprise credential's principal, or the node operator."""

    principal: Principal

    @property
    def operator(self) -> bool:
        return self.principal.is_admin


def _secure(request: Request, context: NodeContext) -> bool:
    return request.url.scheme == "https" or context.settings.console_secure_cookies


def _set_cookie(
    response: Response, request: Request, context: NodeContext, name: str, value: str, age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path=BASE,
        secure=_secure(request, context),
        httponly=True,
        samesite="strict",
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _operator_key(context: NodeContext) -> bytes | None:
    token = context.settings.admin_token
    if token is None:
        return None
    return hashlib.sha256(b"idnode console operator\0" + token.get_secret_value().encode()).digest()


def _operator_cookie(key: bytes, expires: int) -> str:
    body = f"{_OPERATOR}.{expires}.{secrets.token_urlsafe(16)}"
    mac = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{mac}"


def _operator_valid(key: bytes | None, cookie: str) -> bool:
    if key is None:
        return False
    body, _, mac = cookie.rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return hmac.compare_digest(mac.encode(), expected.encode()) and int(parts[1]) > time.time()


async def session_of(request: Request, context: NodeContext) -> Session | None:
    """The request's live session, or None (no cookie, expired, logged out, revoked)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or len(cookie) > 512:
        return None
    if cookie.startswith(f"{_OPERATOR}."):
        if not _operator_valid(_operator_key(context), cookie):
            return None
        principal = ADMIN
    else:
        try:
            principal = await context.enterprises.principal_for_token(cookie)
        except Unauthenticated:
            return None
    # The console's writes are audited as the logged-in principal, via the console.
    return Session(acting(request, principal, "console"))


async def open_session(
    request: Request, context: NodeContext, response: Response, principal: Principal
) -> None:
    """Start a session for ``principal`` (already authenticated) in ``response``'s cookies.

    A fresh CSRF cookie comes with it, so no token from before the login stays valid.
    """
    minutes = context.settings.console_session_minutes
    if principal.is_admin:
        key = _operator_key(context)
        if key is None:
            raise Unauthenticated("the node has no admin token")
        value = _operator_cookie(key, int(time.time()) + minutes * 60)
    else:
        value, _ = await context.enterprises.issue_token(principal, timedelta(minutes=minutes))
    _set_cookie(response, request, context, SESSION_COOKIE, value, minutes * 60)
    _set_cookie(response, request, context, CSRF_COOKIE, secrets.token_urlsafe(32), minutes * 60)


async def end_session(request: Request, context: NodeContext, response: Response) -> None:
    """Log out: forget the server-side token and expire both cookies."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and not cookie.startswith(f"{_OPERATOR}.") and len(cookie) <= 512:
        # The cookies go anyway; an unreachable database keeps a token that expires.
        with contextlib.suppress(NodeError):
            await context.enterprises.revoke_token(cookie)
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(
            name, path=BASE, secure=_secure(request, context), httponly=True, samesite="strict"
        )


def ensure_csrf_cookie(request: Request, context: NodeContext, response: Response) -> None:
    """Set the CSRF cookie that ``csrf_token`` seeded for a browser that had none."""
    seed = getattr(request.state, "csrf_seed", None)
    if seed is not None:
        _set_cookie(response, request, context, CSRF_COOKIE, seed, 24 * 3600)


def csrf_token(request: Request) -> str:
    """The token this browser's forms carry; seeds a CSRF cookie when it has none."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed:
        seed = getattr(request.state, "csrf_seed", None) or secrets.token_urlsafe(32)
        request.state.csrf_seed = seed
    session = request.cookies.get(SESSION_COOKIE, "")
    return _b64(hmac.new(seed.encode(), f"csrf\0{session}".encode(), hashlib.sha256).digest())


def check_csrf(request: Request, submitted: str | None) -> None:
    """Raise ``CsrfRejected`` unless ``submitted`` is this browser's token for its session."""
    seed = request.cookies.get(CSRF_COOKIE)
    if not seed or not submitted:
        raise CsrfRejected()
    session = request.cookies.get(SESSION_COOKIE, "")
    expected = _b64(hmac.new(seed.encode(), f"csrf\0{session}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise CsrfRejected()
