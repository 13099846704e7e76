"""Verifying a record's signatures and their certificate chain to a configured root (no I/O).

The chain is: the root's self-signed certificate → a node's certificate → optionally an
enterprise's certificate → the HS_SIGNATURE values of a record. Certificates are found in the
record itself or in the signer's prefix handle, fetched through the ``fetch`` callable passed in.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from .._errors import InvalidValue
from .._values import HandleValue
from ..codec.binary import DIGEST_ALGS, digest_value
from .certificates import Certificate, Grant, grants_cover, split_key_id
from .jose import BadSignature, read_jws, verify_jws

__all__ = [
    "DEFAULT_MAX_CHAIN",
    "Fetch",
    "Problem",
    "TrustFailure",
    "Verdict",
    "check_certificate",
    "check_digests",
    "check_signature",
    "verify_record",
]

DEFAULT_MAX_CHAIN = 4
CLOCK_SKEW = 60
SIGNATURE_TYPE = "HS_SIGNATURE"
CERT_TYPE = "HS_CERT"
Fetch = Callable[[str], Awaitable[Sequence[HandleValue] | None]]
_T = TypeVar("_T")


class TrustFailure(Exception):
    """Why a signature or certificate is not trusted: a stable ``code`` and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a record is not trusted: a stable code and a message naming the value."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The JSON form of the problem."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of verifying one record."""

    handle: str
    trusted: bool
    verified: tuple[int, ...] = ()
    signers: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The JSON form ``idnode verify --json`` prints."""
        return {
            "handle": self.handle,
            "trusted": self.trusted,
            "verified": list(self.verified),
            "signers": list(self.signers),
            "problems": [problem.as_dict() for problem in self.problems],
        }

    @property
    def codes(self) -> set[str]:
        """The codes of all problems found."""
        return {problem.code for problem in self.problems}


@dataclass(frozen=True, slots=True)
class _Anchor:
    """A key trusted so far, with what it may sign for."""

    jwk: Mapping[str, Any]
    grants: tuple[Grant, ...]
    chain: tuple[str, ...] = field(default=())


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_certificate(
    cert: Certificate, issuer_jwk: Mapping[str, Any], issuer_grants: Sequence[Grant], now: int
) -> None:
    """Raise ``TrustFailure`` unless ``cert`` verifies with its issuer's key, is current and in scope."""
    try:
        verify_jws(cert.token, issuer_jwk)
    except (BadSignature, InvalidValue) as exc:
        raise TrustFailure(
            "bad-certificate",
            f"the certificate of {cert.sub} does not verify with the key of its issuer"
            f" {cert.iss} (it was altered or signed by another key): {exc}",
        ) from exc
    if now >= cert.exp:
        raise TrustFailure(
            "expired-certificate", f"the certificate of {cert.sub} expired at {_when(cert.exp)}"
        )
    if now + CLOCK_SKEW < cert.nbf:
        raise TrustFailure(
            "expired-certificate",
            f"the certificate of {cert.sub} is not valid before {_when(cert.nbf)}",
        )
    for grant in cert.perms:
        if not any(parent.covers(grant) for parent in issuer_grants):
            raise TrustFailure(
                "perms-not-covering",
                f"{cert.iss} may not grant {grant.perm!r} on {grant.handle} to {cert.sub}",
            )


def check_signature(
    handle: str, signature: HandleValue, jwk: Mapping[str, Any], grants: Sequence[Grant], now: int
) -> dict[str, Any]:
    """The claims of an HS_SIGNATURE value once it verifies, is current and its signer may sign ``handle``."""
    where = f"the signature at index {signature.index}"
    try:
        claims = verify_jws(signature.value, jwk)
    except (BadSignature, InvalidValue) as exc:
        raise TrustFailure(
            "bad-signature",
            f"{where} does not verify with the signer's key (its claims or digest list"
            f" were altered): {exc}",
        ) from exc
    if claims.get("sub") != handle:
        raise TrustFailure("wrong-handle", f"{where} is for {claims.get('sub')!r}, not {handle}")
    exp, nbf = claims.get("exp"), claims.get("nbf", 0)
    if not isinstance(exp, int) or now >= exp:
        raise TrustFailure("expired-signature", f"{where} expired")
    if isinstance(nbf, int) and now + CLOCK_SKEW < nbf:
        raise TrustFailure("expired-signature", f"{where} is not valid before {_when(nbf)}")
    if not grants_cover(grants, handle):
        scopes = ", ".join(f"{g.perm} {g.handle}" for g in grants)
        enterprise = all(g.perm in ("handlesUnderThisPrefix", "thisHandle") for g in grants)
        if enterprise:
            raise TrustFailure(
                "foreign-enterprise-key",
                f"{where} was made by another enterprise's key {claims.get('iss')}"
                f" (certified for {scopes}), which may not sign {handle}",
            )
        raise TrustFailure(
            "perms-not-covering",
            f"{where}: the perms of {claims.get('iss')} ({scopes}) do not cover {handle}",
        )
    return claims


def check_digests(
    claims: Mapping[str, Any], values: Sequence[HandleValue], signature_index: int
) -> tuple[list[int], list[int], list[Problem]]:
    """Indexes whose digest matches, indexes whose digest does not, and a problem for each."""
    digests = claims.get("digests")
    alg = digests.get("alg") if isinstance(digests, Mapping) else None
    if alg not in DIGEST_ALGS:
        problem = Problem(
            "bad-signature", f"signature {signature_index} has no SHA-256 or SM3 digests"
        )
        return [], [], [problem]
    by_index = {value.index: value for value in values}
    good: list[int] = []
    bad: list[int] = []
    problems: list[Problem] = []
    entries = digests.get("digests")
    if not isinstance(entries, list):
        return [], [], [Problem("bad-signature", f"signature {signature_index} has no digest list")]
    for entry in entries:
        value = by_index.get(entry.get("index")) if isinstance(entry, Mapping) else None
        if value is None:
            continue  # a reader may see only some of the values
        if digest_value(value, alg) == entry.get("digest"):
            good.append(value.index)
        else:
            bad.append(value.index)
            problems.append(
                Problem(
                    "tampered-value",
                    f"value index {value.index} ({value.type}) does not match the digest"
                    f" signed at index {signature_index}: it was changed after signing",
                )
            )
    return good, bad, problems


class _ChainVerifier:
    def __init__(self, root: Certificate, fetch: Fetch, max_chain: int, now: int) -> None:
        self.root = root
        self.fetch = fetch
        self.max_chain = max_chain
        self.now = now
        self._fetched: dict[str, Sequence[HandleValue]] = {}

    async def _certificates(self, key_id: str, values: Sequence[HandleValue]) -> list[Certificate]:
        _, handle = split_key_id(key_id)
        tokens = [v.value for v in values if v.type == CERT_TYPE]
        if handle not in self._fetched:
            self._fetched[handle] = (await self.fetch(handle)) or ()
        tokens += [v.value for v in self._fetched[handle] if v.type == CERT_TYPE]
        found: list[Certificate] = []
        for token in dict.fromkeys(t for t in tokens if isinstance(t, str)):
            try:
                cert = Certificate.parse(token)
            except (InvalidValue, ValueError, TypeError):
                continue
            if cert.sub == key_id:
                found.append(cert)
        return found

    async def anchor(
        self,
        key_id: str,
        kid: str | None,
        values: Sequence[HandleValue],
        depth: int,
        accept: Callable[[_Anchor], _T],
    ) -> tuple[_Anchor, _T]:
        """A trusted key of ``key_id`` that ``accept`` takes, and what it returned.

        ``key_id`` may have several certificates (a re-certified or replaced key): each is
        tried, the one whose key is ``kid`` first, until one chains to the root and its key
        passes ``accept`` (it verifies the signature or certificate at hand).
        """
        if key_id == self.root.sub:
            if kid is not None and kid != self.root.kid:
                raise TrustFailure(
                    "wrong-root",
                    f"{key_id} signed with key {kid}, not with the configured root's key"
                    f" {self.root.kid}: the chain leads to another root",
                )
            root = _Anchor(self.root.public_jwk, self.root.perms, (key_id,))
            return root, accept(root)
        if depth >= self.max_chain:
            raise TrustFailure(
                "chain-too-long",
                f"the chain from the signer to the root needs more than {self.max_chain}"
                f" certificates (reached {key_id})",
            )
        try:
            candidates = await self._certificates(key_id, values)
        except InvalidValue as exc:
            raise TrustFailure("no-certificate", exc.message) from exc
        if not candidates:
            raise TrustFailure(
                "no-certificate",
                f"no HS_CERT value certifies {key_id} (looked in the record"
                f" and in {split_key_id(key_id)[1]})",
            )
        candidates.sort(key=lambda cert: cert.public_jwk.get("kid") != kid)
        failure: TrustFailure | None = None
        for cert in candidates:
            try:
                if cert.iss == cert.sub:
                    raise TrustFailure(
                        "wrong-root",
                        f"the chain ends at the self-signed certificate of {cert.sub},"
                        f" which is not the configured root {self.root.sub}",
                    )
                parent, _ = await self.anchor(
                    cert.iss, cert.kid, values, depth + 1, partial(self._issued, cert)
                )
                found = _Anchor(cert.public_jwk, cert.perms, (key_id, *parent.chain))
                return found, accept(found)
            except TrustFailure as exc:
                failure = failure or exc
        assert failure is not None
        raise failure

    def _issued(self, cert: Certificate, issuer: _Anchor) -> None:
        check_certificate(cert, issuer.jwk, issuer.grants, self.now)

    def _signed(self, handle: str, signature: HandleValue, signer: _Anchor) -> dict[str, Any]:
        return check_signature(handle, signature, signer.jwk, signer.grants, self.now)

    async def verify(self, handle: str, values: Sequence[HandleValue]) -> Verdict:
        signatures = [v for v in values if v.type == SIGNATURE_TYPE]
        if not signatures:
            return Verdict(
                handle, False, problems=(Problem("no-signature", f"{handle} has no HS_SIGNATURE"),)
            )
        problems: list[Problem] = []
        verified: set[int] = set()
        tampered: set[int] = set()
        signers: list[str] = []
        for signature in signatures:
            try:
                header, unverified = read_jws(signature.value)
                key_id = unverified.get("iss")
                if not isinstance(key_id, str):
                    raise TrustFailure("bad-signature", f"signature {signature.index} has no iss")
                anchor, claims = await self.anchor(
                    key_id,
                    header.get("kid"),
                    values,
                    0,
                    partial(self._signed, handle, signature),
                )
            except TrustFailure as exc:
                problems.append(Problem(exc.code, f"signature {signature.index}: {exc.message}"))
                continue
            except InvalidValue as exc:
                problems.append(Problem("bad-signature", f"signature {signature.index}: {exc}"))
                continue
            good, bad, found = check_digests(claims, values, signature.index)
            verified.update(good)
            tampered.update(bad)
            problems.extend(found)
            chain = " → ".join(anchor.chain)
            if chain not in signers:  # the public and the non-public signature share a signer
                signers.append(chain)
        unsigned = [
            v.index
            for v in values
            if v.type != SIGNATURE_TYPE and v.index not in verified | tampered
        ]
        if unsigned and signers:
            problems.append(
                Problem(
                    "unsigned-value", f"values at index {unsigned} are not covered by a signature"
                )
            )
        return Verdict(
            handle,
            trusted=not problems and bool(verified),
            verified=tuple(sorted(verified)),
            signers=tuple(signers),
            problems=tuple(problems),
        )


async def verify_record(
    handle: str,
    values: Sequence[HandleValue],
    root_certificate: str,
    fetch: Fetch,
    *,
    max_chain: int = DEFAULT_MAX_CHAIN,
    now: int | None = None,
) -> Verdict:
    """Check every signature of a record, its digests, and the chain of each signer to the root."""
    root = Certificate.parse(root_certificate.strip())
    if root.iss != root.sub:
        raise InvalidValue("the root certificate must be self-signed (iss == sub)")
    try:
        verify_jws(root.token, root.public_jwk)
    except BadSignature as exc:
        raise InvalidValue(f"the root certificate does not verify with its own key: {exc}") from exc
    clock = int(time.time()) if now is None else now
    return await _ChainVerifier(root, fetch, max_chain, clock).verify(handle, values)
