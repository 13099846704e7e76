"""Who is calling, and what they may touch."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ._errors import Forbidden, InvalidInput, Unauthenticated
from ._grammar import Handle, Prefix

__all__ = ["ADMIN", "ANONYMOUS", "Principal", "Role", "parse_username"]


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    ENTERPRISE = "enterprise"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: anonymous, an enterprise credential, or the node administrator."""

    role: Role
    username: str | None = None
    enterprise_id: int | None = None
    prefixes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def owns(self, prefix: Prefix) -> bool:
        """True when the caller administers ``prefix``."""
        return self.is_admin or str(prefix) in self.prefixes

    def can_read_private(self, handle: Handle) -> bool:
        """Non-public values are only shown to whoever administers the handle's prefix."""
        return self.owns(handle.prefix)

    def require_owner(self, prefix: Prefix, *, handle: str | None = None) -> None:
        """Raise unless the caller administers ``prefix``: 401 when anonymous, 403 otherwise."""
        if self.role is Role.ANONYMOUS:
            raise Unauthenticated("authentication is required for this operation", handle=handle)
        if not self.owns(prefix):
            raise Forbidden(
                f"{self.username or self.role} may not write under prefix {prefix}", handle=handle
            )

    def require_admin(self) -> None:
        if self.role is Role.ANONYMOUS:
            raise Unauthenticated("the node administrator token is required")
        if not self.is_admin:
            raise Forbidden("only the node administrator may do this")


ANONYMOUS = Principal(Role.ANONYMOUS)
ADMIN = Principal(Role.ADMIN, username="admin")


def parse_username(username: str) -> tuple[int, Handle]:
    """Split a Handle identity ``index:prefix/suffix`` and normalise it."""
    index, colon, handle = username.partition(":")
    if not colon or not index.isdigit():
        raise Unauthenticated(
            f"username {username!r} is not of the form '<index>:<prefix>/<suffix>'"
            " (in HTTP Basic, percent-encode it: 300%3A88.118.8%2FADMIN)"
        )
    try:
        return int(index), Handle.parse(handle)
    except InvalidInput as exc:
        raise Unauthenticated(
            f"username {username!r} names an invalid handle: {exc.message}"
        ) from exc
