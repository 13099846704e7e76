"""Logging in and out of the console: an enterprise credential, or the node's admin token."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from registry import ADMIN, TooManyAttempts, Unauthenticated

from ..auth import client_address
from ..context import NodeContext, get_context
from .pages import form_of_request, page, redirect
from .sessions import BASE, end_session, open_session, operator_identity, session_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
# Longer than any password the node issues or accepts; longer ones are not worth an scrypt.
_MAX_SECRET = 1024


def _username(raw: str) -> str:
    """``300:88.118.8/ADMIN`` as typed, or a bare prefix meaning its first credential."""
    raw = raw.strip()
    if raw and ":" not in raw and "/" not in raw:
        return f"300:{raw}/ADMIN"
    return raw


def _next(raw: object) -> str:
    """Where to go after the login: a console path of this node, else the dashboard."""
    if (
        isinstance(raw, str)
        and raw.startswith(f"{BASE}/")
        and "\\" not in raw
        and all(ch.isprintable() for ch in raw)
    ):
        return raw
    return f"{BASE}/"


@router.get(f"{BASE}/login")
async def login_form(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await session_of(request, context)
    operator = request.query_params.get("operator") == "1"
    # An enterprise on its way to the operator's view gets the operator form.
    if session is not None and (session.operator or not operator):
        return redirect(f"{BASE}/operator" if session.operator else f"{BASE}/")
    return page(
        request,
        context,
        "console/login.html",
        operator=operator,
        operator_enabled=context.settings.admin_token is not None,
        username="",
        next=_next(request.query_params.get("next")),
        problem=None,
    )


@router.post(f"{BASE}/login")
async def login(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    form = await form_of_request(request)
    username = _username(str(form.get("username", "")))
    password = str(form.get("password", ""))
    target = _next(form.get("next"))
    client = client_address(request)

    def refused(status: int, problem: str, retry_after: int | None = None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return page(
            request,
            context,
            "console/login.html",
            status,
            headers=headers,
            operator=False,
            operator_enabled=context.settings.admin_token is not None,
            username=username,
            next=target,
            problem=problem,
        )

    if not username or not password:
        return refused(400, "missing")
    try:
        if len(password) > _MAX_SECRET:
            raise Unauthenticated("password too long")
        principal = await context.enterprises.authenticate(username, password, client=client)
    except TooManyAttempts as exc:
        return refused(429, "throttled", exc.retry_after)
    except Unauthenticated:
        return refused(401, "wrong")
    response = redirect(target)
    await open_session(request, context, response, principal)
    return response


@router.post(f"{BASE}/operator/login")
async def operator_login(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    form = await form_of_request(request)
    token = str(form.get("token", ""))
    client = client_address(request)
    throttle = context.enterprises.throttle
    admin_token = context.settings.admin_token

    def refused(status: int, problem: str, retry_after: int | None = None) -> Response:
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return page(
            request,
            context,
            "console/login.html",
            status,
            headers=headers,
            operator=True,
            operator_enabled=admin_token is not None,
            username="",
            next=f"{BASE}/operator",
            problem=problem,
        )

    if admin_token is None:
        return refused(403, "no-operator")
    try:
        throttle.check(operator_identity, client)
    except TooManyAttempts as exc:
        return refused(429, "throttled", exc.retry_after)
    if not token or not hmac.compare_digest(
        token.encode()[:_MAX_SECRET], admin_token.get_secret_value().encode()
    ):
        throttle.failed(operator_identity, client)
        return refused(401, "wrong-token")
    throttle.succeeded(operator_identity, client)
    response = redirect(f"{BASE}/operator")
    await open_session(request, context, response, ADMIN)
    return response


@router.post(f"{BASE}/logout")
async def logout(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    await form_of_request(request)
    response = redirect(f"{BASE}/login")
    await end_session(request, context, response)
    return response
