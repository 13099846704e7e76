"""Who is acting: the actor of the running task's administrative actions, for the audit log.

Each frontend sets it once, where it learns who is calling (``acting_as``/``set_actor``): the
HTTP principal dependency, the native protocol's authenticated requests, the CLI. Light on
purpose (no database): the command line imports it before it knows what it will run.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from ._principal import Principal

__all__ = [
    "NODE_ACTOR",
    "Actor",
    "AuditNote",
    "acting_as",
    "current_actor",
    "set_actor",
]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts and from where: ``name`` (``admin``, ``300:88.118.8/ADMIN``, the operator's login),
    ``role`` (admin, enterprise, operator, node), ``via`` (http, native, cli, node), the client's
    address and the HTTP request id when there are."""

    name: str
    role: str
    via: str
    client: str | None = None
    request_id: str | None = None

    @classmethod
    def of(
        cls,
        principal: Principal,
        via: str,
        client: str | None = None,
        request_id: str | None = None,
    ) -> Actor:
        """The actor a frontend's authenticated ``principal`` is."""
        role = str(principal.role)
        return cls(principal.username or role, role, via, client, request_id)

    @classmethod
    def operator(cls) -> Actor:
        """Whoever runs an ``idnode`` command on this machine: the OS login, the host name."""
        try:
            login = getpass.getuser()
        except (OSError, KeyError):
            login = "unknown"
        return cls(f"operator:{login}", "operator", "cli", socket.gethostname())


# What the node does of its own accord (publishing its keys when it starts).
NODE_ACTOR = Actor("node", "node", "node")
_actor: ContextVar[Actor] = ContextVar("idnode_audit_actor", default=NODE_ACTOR)


def current_actor() -> Actor:
    """The actor of the running task (``NODE_ACTOR`` where no frontend set one)."""
    return _actor.get()


def set_actor(actor: Actor) -> Token[Actor]:
    """Make ``actor`` the running task's (an HTTP request's task ends with it)."""
    return _actor.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run the block as ``actor``."""
    token = _actor.set(actor)
    try:
        yield actor
    finally:
        _actor.reset(token)


@dataclass(frozen=True, slots=True)
class AuditNote:
    """An action to record with a write made elsewhere (``RecordService.put(audit=...)``)."""

    action: str
    target: str
    summary: Mapping[str, Any] | None = None
