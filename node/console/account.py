"""The enterprise's own credentials: change its password, register a public key."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from httpapi import PLAIN_STATUS, lookup
from registry import InvalidInput, NodeError, Prefix
from registry.trust import public_key_data

from ..auth import client_address
from ..context import NodeContext, get_context
from .pages import form_of_request, page, redirect, require_enterprise
from .sessions import BASE, Session, open_session

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_MAX_KEY = 16 * 1024


async def _credentials(context: NodeContext, session: Session) -> list[str]:
    enterprise = session.principal.enterprise_id
    for info in await context.enterprises.list():
        if info.id == enterprise:
            return list(info.credentials)
    return []


async def _page(
    request: Request,
    context: NodeContext,
    session: Session,
    status_code: int = 200,
    *,
    password_problem: str | None = None,
    key_problem: str | None = None,
    key_pem: str = "",
) -> Response:
    return page(
        request,
        context,
        "console/credentials.html",
        status_code,
        session=session,
        credentials=await _credentials(context, session),
        prefixes=sorted(session.principal.prefixes),
        password_problem=password_problem,
        key_problem=key_problem,
        key_pem=key_pem,
        done=request.query_params.get("done"),
    )


@router.get(f"{BASE}/credentials")
async def credentials(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    return await _page(request, context, session)


@router.post(f"{BASE}/credentials/password")
async def change_password(
    request: Request, context: NodeContext = Depends(get_context)
) -> Response:
    session = await require_enterprise(request, context)
    form = await form_of_request(request)
    current = str(form.get("current", ""))[:1024]
    new = str(form.get("new", ""))
    repeat = str(form.get("repeat", ""))
    try:
        if new != repeat:
            raise InvalidInput("the new password and its repetition differ")
        await context.enterprises.change_password(
            session.principal, current, new, client=client_address(request)
        )
    except NodeError as exc:
        status = lookup(PLAIN_STATUS, exc)
        headers_problem = exc.message
        return await _page(request, context, session, status, password_problem=headers_problem)
    # The change ended every session of the credential, this one too: open a new one.
    response = redirect(f"{BASE}/credentials?done=password")
    await open_session(request, context, response, session.principal)
    return response


@router.post(f"{BASE}/credentials/keys")
async def register_key(request: Request, context: NodeContext = Depends(get_context)) -> Response:
    session = await require_enterprise(request, context)
    form = await form_of_request(request)
    pem = str(form.get("public_key", ""))
    try:
        if not pem.strip() or len(pem) > _MAX_KEY:
            raise InvalidInput(f"paste a public key in PEM of at most {_MAX_KEY} characters")
        prefix = Prefix.parse(str(form.get("prefix", "")))
        session.principal.require_owner(prefix)
        username = await context.enterprises.register_public_key(
            str(prefix), public_key_data(pem.encode())
        )
    except NodeError as exc:
        status = lookup(PLAIN_STATUS, exc)
        return await _page(
            request, context, session, status, key_problem=exc.message, key_pem=pem[:_MAX_KEY]
        )
    return redirect(f"{BASE}/credentials?done=key&username={username}")
