"""HS_CERT certificates: a JWS binding a public key to the handles it may sign for."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import InvalidIdentifier, InvalidValue
from .._grammar import Handle, Prefix
from .jose import Key, read_jws, sign_jws

__all__ = [
    "PERMS",
    "Certificate",
    "Grant",
    "grants_cover",
    "issue_certificate",
    "key_handle",
    "split_key_id",
]

PERMS = ("everything", "derivedPrefixes", "handlesUnderThisPrefix", "thisHandle")
PREFIX_HANDLE = "0.NA"


def key_handle(prefix: Prefix | str) -> str:
    """The prefix handle that holds a prefix's keys and certificates: ``0.NA/<prefix>``."""
    return f"{PREFIX_HANDLE}/{prefix}"


def split_key_id(key_id: str) -> tuple[int, str]:
    """``"300:0.NA/88.118"`` → ``(300, "0.NA/88.118")``; ``InvalidValue`` when malformed."""
    index, colon, handle = key_id.partition(":") if isinstance(key_id, str) else ("", "", "")
    if not colon or not index.isdigit() or not handle:
        raise InvalidValue(f"key id {key_id!r} is not of the form '<index>:<handle>'")
    return int(index), handle


def _named_prefix(handle: str) -> Prefix | None:
    """The prefix a perm names: ``0.NA/88.118`` (Handle's form) or a bare ``88.118``."""
    text = handle[len(PREFIX_HANDLE) + 1 :] if handle.upper().startswith("0.NA/") else handle
    try:
        return Prefix.parse(text)
    except InvalidIdentifier:
        return None


@dataclass(frozen=True, slots=True)
class Grant:
    """One entry of a certificate's ``perms``."""

    handle: str
    perm: str

    @classmethod
    def parse(cls, raw: Any) -> Grant:
        """A grant from its JSON form ``{"handle", "perm"}``."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("handle"), str):
            raise InvalidValue("each perm must be an object with 'handle' and 'perm'")
        if raw.get("perm") not in PERMS:
            raise InvalidValue(f"perm must be one of {list(PERMS)}, got {raw.get('perm')!r}")
        return cls(raw["handle"], raw["perm"])

    def as_dict(self) -> dict[str, str]:
        """The JSON form of the grant."""
        return {"handle": self.handle, "perm": self.perm}

    def covers_handle(self, handle: str) -> bool:
        """May a key with this grant sign values of ``handle``?"""
        if self.perm == "everything":
            return True
        if self.perm == "thisHandle":
            return handle == self.handle
        named = _named_prefix(self.handle)
        try:
            target = Handle.parse(handle)
        except InvalidIdentifier:
            return False
        if named is None:
            return False
        if str(target.prefix) == PREFIX_HANDLE:
            # A prefix handle 0.NA/X is covered like the prefix X itself.
            inner = _named_prefix(handle)
            if inner is None:
                return False
            return inner == named or (self.perm == "derivedPrefixes" and inner.is_within(named))
        if self.perm == "handlesUnderThisPrefix":
            return target.prefix == named
        return target.prefix.is_within(named)

    def covers(self, other: Grant) -> bool:
        """Is ``other`` no wider than this grant (so this key may delegate it)?"""
        if self.perm == "everything":
            return True
        if other.perm == "everything":
            return False
        if other.perm == "thisHandle":
            return self.covers_handle(other.handle)
        named = _named_prefix(self.handle)
        inner = _named_prefix(other.handle)
        if named is None or inner is None:
            return False
        if self.perm == "derivedPrefixes":
            return inner.is_within(named)
        return other.perm == "handlesUnderThisPrefix" and inner == named


def grants_cover(grants: Iterable[Grant], handle: str) -> bool:
    """Does any of ``grants`` let its key sign values of ``handle``?"""
    return any(grant.covers_handle(handle) for grant in grants)


@dataclass(frozen=True, slots=True)
class Certificate:
    """A parsed (not yet verified) HS_CERT value."""

    token: str
    kid: str | None
    alg: str | None
    iss: str
    sub: str
    nbf: int
    exp: int
    public_jwk: dict[str, Any]
    perms: tuple[Grant, ...]

    @classmethod
    def parse(cls, token: Any) -> Certificate:
        """Read a certificate's fields; ``InvalidValue`` naming what is missing."""
        header, claims = read_jws(token)
        for name in ("iss", "sub", "publicKey", "perms", "exp"):
            if name not in claims:
                raise InvalidValue(f"certificate has no {name!r} claim")
        if not isinstance(claims["publicKey"], Mapping):
            raise InvalidValue("certificate publicKey must be a JWK object")
        if not isinstance(claims["perms"], list):
            raise InvalidValue("certificate perms must be a list")
        for name in ("exp", "nbf"):
            if name in claims and (
                isinstance(claims[name], bool) or not isinstance(claims[name], int)
            ):
                raise InvalidValue(f"certificate {name} must be a number of seconds since 1970")
        return cls(
            token=token,
            kid=header.get("kid"),
            alg=header.get("alg"),
            iss=str(claims["iss"]),
            sub=str(claims["sub"]),
            nbf=int(claims.get("nbf", 0)),
            exp=int(claims["exp"]),
            public_jwk=dict(claims["publicKey"]),
            perms=tuple(Grant.parse(raw) for raw in claims["perms"]),
        )


def issue_certificate(
    issuer_key: Key,
    issuer_alg: str,
    issuer_id: str,
    subject_id: str,
    subject_jwk: Mapping[str, Any],
    perms: Sequence[Grant],
    *,
    lifetime_seconds: int,
    now: int | None = None,
) -> str:
    """An HS_CERT JWS: ``issuer_id``'s key certifies ``subject_jwk`` as ``subject_id`` for ``perms``."""
    split_key_id(issuer_id)
    split_key_id(subject_id)
    now = int(time.time()) if now is None else now
    claims = {
        "iss": issuer_id,
        "sub": subject_id,
        "iat": now,
        "nbf": now - 60,
        "exp": now + lifetime_seconds,
        "publicKey": dict(subject_jwk),
        "perms": [grant.as_dict() for grant in perms],
    }
    return sign_jws(issuer_key, issuer_alg, issuer_key.thumbprint(), claims)
