"""The session opcodes (400–402), answered without sessions: authentication stays per request.

Handle.Net's ``HandleResolver`` (with its default ``ClientSessionTracker``) opens a
Diffie-Hellman session before its first administrative request. This node keeps no sessions
and does not sign its answers, so a well-formed SESSION_SETUP or SESSION_EXCHANGEKEY is refused
with 501 (session failed) — what Handle.Net's own server answers for a key exchange it will not
do — and SESSION_TERMINATE with 500 (no such session), as Handle.Net's server answers for a
session it does not know. A malformed body is a protocol error (4). The connection stays open
for plain challenge/response. Handle.Net's client (9.x) does not fall back by itself: it needs
``resolver.setSessionTracker(null)`` (see the README).
"""

from __future__ import annotations

from registry.codec.native import OpCode, ProtocolError, ResponseCode
from registry.codec.native.session import decode_exchange_key, decode_session_setup

from .dispatch import Answer, Handler, Request

__all__ = ["NO_SESSIONS", "handlers"]

NO_SESSIONS = (
    "sessions are not offered here; authenticate each request by challenge and answer "
    "(Handle.Net: HandleResolver.setSessionTracker(null))"
)


async def session_setup(request: Request) -> Answer:
    setup = decode_session_setup(request.body)
    raise ProtocolError(
        f"{NO_SESSIONS} (key exchange {setup.mode.name} refused)", ResponseCode.SESSION_FAILED
    )


async def exchange_key(request: Request) -> Answer:
    decode_exchange_key(request.body)
    raise ProtocolError(NO_SESSIONS, ResponseCode.SESSION_FAILED)


async def terminate(request: Request) -> Answer:
    raise ProtocolError(
        f"no session {request.envelope.session_id} here; {NO_SESSIONS}",
        ResponseCode.SESSION_TIMEOUT,
    )


def handlers() -> dict[int, Handler]:
    """The session opcodes' handlers, for ``Dispatcher.register``."""
    return {
        OpCode.SESSION_SETUP: session_setup,
        OpCode.SESSION_TERMINATE: terminate,
        OpCode.SESSION_EXCHANGEKEY: exchange_key,
    }
