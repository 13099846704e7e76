"""Signing every write: the sealer that adds or refreshes the node's HS_SIGNATURE values.

A record gets a public signature over its public values only, so it confirms no guess of a
value an anonymous reader may not see; a record with non-public values also gets a second
signature, itself non-public (``1100``), over all of its values for readers who may see them.

Values an enterprise signed with its own certified key (an HS_SIGNATURE whose ``iss`` is not
the node, with the enterprise's HS_CERT in the same record) are verified before they are
accepted and kept as they are.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson

from .._errors import InvalidValue
from .._grammar import Handle, Prefix
from .._values import (
    DEFAULT_TTL,
    PRIVATE,
    PUBLIC,
    HandleValue,
    Permissions,
    encode_values,
    stored_value,
    utc_timestamp,
)
from ..codec.binary import DIGEST_ALG, DIGEST_ALGS, SM3, digest_stored_values, digest_values
from .certificates import Certificate, Grant, key_handle, split_key_id
from .gm import JWS_ALG as SM2_ALG
from .jose import export_pem, import_pem, jws_signer, read_jws
from .keys import KeyInfo, SigningKey
from .verify import (
    CERT_TYPE,
    SIGNATURE_TYPE,
    TrustFailure,
    check_certificate,
    check_digests,
    check_signature,
)

__all__ = ["DEFAULT_SIGNATURE_LIFETIME", "FIRST_SIGNATURE_INDEX", "RecordSigner"]

FIRST_SIGNATURE_INDEX = 400
DEFAULT_SIGNATURE_LIFETIME = 365 * 86400
_PUBLIC_TEXT = str(PUBLIC)
_PRIVATE_TEXT = str(PRIVATE)


class RecordSigner:
    """A ``Sealer``: signs the values of every write with the node's active key.

    It pickles (keys as PEM) so a ``SealingPool`` process can rebuild it; a process keeps the
    signers it rebuilt, so each batch after the first costs it no key loading.
    """

    def __init__(
        self,
        node_code: Prefix | str,
        active: SigningKey,
        known: Sequence[SigningKey] = (),
        *,
        lifetime_seconds: int = DEFAULT_SIGNATURE_LIFETIME,
        digest_alg: str | None = None,
    ) -> None:
        self.node_code = str(node_code)
        # An SM2 key signs SM3 digests (the gm profile) unless told otherwise.
        self.digest_alg = digest_alg or (SM3 if active.alg == SM2_ALG else DIGEST_ALG)
        if self.digest_alg not in DIGEST_ALGS:
            raise InvalidValue(f"digest algorithm must be one of {list(DIGEST_ALGS)}")
        self.node_handle = key_handle(node_code)
        self.active = active
        self.issuer = f"{active.info.index}:{self.node_handle}"
        self.lifetime = lifetime_seconds
        # Every key the node ever had may have certified an enterprise key.
        self._node_keys = {key.kid: key for key in (*known, active)}
        self._node_grants = (Grant(self.node_handle, "derivedPrefixes"),)
        self._pickled: tuple[Any, ...] | None = None
        self._sign = jws_signer(active.key, active.alg, active.kid)

    def __reduce__(self) -> tuple[Any, ...]:
        if self._pickled is None:
            known = tuple(
                (key.info, export_pem(key.key))
                for key in self._node_keys.values()
                if key is not self.active
            )
            active = (self.active.info, export_pem(self.active.key))
            self._pickled = (self.node_code, active, known, self.lifetime, self.digest_alg)
        return (_rebuilt_signer, self._pickled)

    def _is_own(self, value: HandleValue) -> bool:
        try:
            _, claims = read_jws(value.value)
        except InvalidValue:
            return False
        issuer = claims.get("iss")
        if not isinstance(issuer, str) or ":" not in issuer:
            return False
        return issuer.partition(":")[2] == self.node_handle

    def __call__(self, handle: Handle, values: list[HandleValue]) -> list[HandleValue]:
        key = str(handle)
        now = int(time.time())
        own: list[HandleValue] = []
        signed = values
        # Most writes carry no signature of their own: skip the sorting-out passes for them.
        if any(v.type == SIGNATURE_TYPE for v in values):
            own = [v for v in values if v.type == SIGNATURE_TYPE and self._is_own(v)]
            foreign = [v for v in values if v.type == SIGNATURE_TYPE and v not in own]
            for signature in foreign:
                self._accept(key, signature, values, now)
            signed = [v for v in values if v.type != SIGNATURE_TYPE]
        kept = [v for v in values if v not in own] if own else values
        taken = {v.index for v in kept}
        # A refreshed signature keeps its index: the public one, then the non-public one.
        reused = [v.index for v in own if v.permissions.public_read]
        reused += [v.index for v in own if not v.permissions.public_read]
        # One stamp for both signatures, as seal_stored gives them.
        stamp = next((v.timestamp for v in values if v.timestamp), None) or utc_timestamp()
        public = [v for v in signed if v.permissions.public_read]
        index = _next_index(reused, taken)
        signatures = [
            self._signature(key, digest_values(public, self.digest_alg), index, stamp, now, PUBLIC)
        ]
        if len(public) < len(signed):
            index = _next_index(reused[1:], taken)
            signatures.append(
                self._signature(
                    key, digest_values(signed, self.digest_alg), index, stamp, now, PRIVATE
                )
            )
        return sorted([*kept, *signatures], key=_by_index)

    def seal_stored(self, handle: str, text: str) -> str:
        """What ``self(handle, values)`` stores, for values in their stored text.

        A sealing process's job: a record that carries no signature is sealed on its stored form
        without building a ``HandleValue`` for each value, which costs about as much as the
        signature; any other record goes through ``__call__``.
        """
        stored = orjson.loads(text)
        taken: set[int] = set()
        stamp = None
        last = -1
        ordered = True
        public = True
        for item in stored:  # one pass: this runs for every record of every batch
            if item["type"] == SIGNATURE_TYPE:
                values = [HandleValue.from_storage(item) for item in stored]
                return encode_values(self(Handle.parse(handle), values))
            index = item["index"]
            taken.add(index)
            ordered = ordered and index > last
            last = index
            stamp = stamp or item.get("timestamp")
            public = public and item.get("permissions", _PUBLIC_TEXT)[2] == "1"
        now = int(time.time())
        stamp = stamp or utc_timestamp()
        index = _free_index(taken)
        if public:
            digests = digest_stored_values(stored, self.digest_alg)
        else:
            digests = digest_stored_values(
                (s for s in stored if _publicly_readable(s)), self.digest_alg
            )
        stored.append(self._stored_signature(handle, digests, index, stamp, now, _PUBLIC_TEXT))
        if not public:
            digests = digest_stored_values(stored[:-1], self.digest_alg)
            private = _free_index({*taken, index})
            stored.append(
                self._stored_signature(handle, digests, private, stamp, now, _PRIVATE_TEXT)
            )
        # The public signature has the lower index: the record is in order if it comes last.
        if not ordered or index < last:
            stored.sort(key=itemgetter("index"))
        return orjson.dumps(stored).decode()

    def _stored_signature(
        self, handle: str, digests: dict[str, object], index: int, stamp: str, now: int, perms: str
    ) -> dict[str, Any]:
        """``HandleValue.to_storage`` of ``_signature``'s value, without building it."""
        token = self._token(handle, digests, now)
        return stored_value(index, SIGNATURE_TYPE, "string", token, DEFAULT_TTL, stamp, perms)

    def _token(self, handle: str, digests: dict[str, object], now: int) -> str:
        """The node's JWS over ``digests`` for ``handle``."""
        claims = {
            "iss": self.issuer,
            "sub": handle,
            "iat": now,
            "nbf": now,
            "exp": now + self.lifetime,
            "digests": digests,
        }
        return self._sign(claims)

    def _signature(
        self,
        handle: str,
        digests: dict[str, object],
        index: int,
        stamp: str | None,
        now: int,
        permissions: Permissions,
    ) -> HandleValue:
        """The node's HS_SIGNATURE value over ``digests``, stamped like the values it signs."""
        return HandleValue(
            index,
            SIGNATURE_TYPE,
            "string",
            self._token(handle, digests, now),
            timestamp=stamp or utc_timestamp(),
            permissions=permissions,
        )

    def _accept(
        self, handle: str, signature: HandleValue, values: list[HandleValue], now: int
    ) -> None:
        where = f"value index {signature.index} (HS_SIGNATURE)"
        try:
            _, unverified = read_jws(signature.value)
            issuer = unverified.get("iss")
            if not isinstance(issuer, str):
                raise InvalidValue(f"{where} has no 'iss' claim")
            split_key_id(issuer)
            cert = self._certificate_for(issuer, values)
            node_key = self._node_keys.get(cert.kid or "")
            if node_key is None:
                raise TrustFailure(
                    "bad-certificate",
                    f"the certificate of {issuer} was not issued by a key of this node",
                )
            check_certificate(cert, node_key.public_jwk(), self._node_grants, now)
            claims = check_signature(handle, signature, cert.public_jwk, cert.perms, now)
            _, _, problems = check_digests(claims, values, signature.index)
            if problems:
                raise TrustFailure(problems[0].code, problems[0].message)
            present = {v.index for v in values}
            digests = claims["digests"].get("digests")
            if not isinstance(digests, list) or not all(isinstance(e, dict) for e in digests):
                raise TrustFailure("bad-signature", "its digests claim is not a list of objects")
            missing = [e.get("index") for e in digests if e.get("index") not in present]
            if missing:
                raise TrustFailure(
                    "tampered-value", f"it signs values at index {missing} the record does not have"
                )
        except TrustFailure as exc:
            raise InvalidValue(
                f"{where}: the enterprise signature is not accepted ({exc.code}): {exc.message}",
                handle=handle,
            ) from exc
        except InvalidValue as exc:
            raise InvalidValue(
                f"{where}: the enterprise signature is not accepted: {exc.message}", handle=handle
            ) from exc

    @staticmethod
    def _certificate_for(issuer: str, values: Sequence[HandleValue]) -> Certificate:
        for value in values:
            if value.type != CERT_TYPE or not isinstance(value.value, str):
                continue
            try:
                cert = Certificate.parse(value.value)
            except InvalidValue:
                continue
            if cert.sub == issuer:
                return cert
        raise InvalidValue(
            f"a value signed by {issuer} must come with that key's HS_CERT value in the same"
            " record (issued by this node: idnode keys certify-enterprise)"
        )


def _by_index(value: HandleValue) -> int:
    return value.index


def _free_index(taken: set[int]) -> int:
    index = FIRST_SIGNATURE_INDEX
    while index in taken:
        index += 1
    return index


def _next_index(reused: list[int], taken: set[int]) -> int:
    """The first index of ``reused`` not yet taken, else the first free one; now taken."""
    index = next((i for i in reused if i not in taken), None)
    if index is None:
        index = _free_index(taken)
    taken.add(index)
    return index


def _publicly_readable(stored: dict[str, Any]) -> bool:
    """Does a stored value's permissions text (``"1110"`` when absent) grant public read?"""
    return stored.get("permissions", _PUBLIC_TEXT)[2] == "1"


@lru_cache(maxsize=8)
def _rebuilt_signer(
    node_code: str,
    active: tuple[KeyInfo, bytes],
    known: tuple[tuple[KeyInfo, bytes], ...],
    lifetime_seconds: int,
    digest_alg: str,
) -> RecordSigner:
    def load(info: KeyInfo, pem: bytes) -> SigningKey:
        return SigningKey(info, import_pem(pem, None))

    return RecordSigner(
        node_code,
        load(*active),
        [load(*key) for key in known],
        lifetime_seconds=lifetime_seconds,
        digest_alg=digest_alg,
    )
