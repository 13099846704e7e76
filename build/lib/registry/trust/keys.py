"""The node's signing keys: PKCS#8 PEM files (mode 0600) in one directory, and their index."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from .._errors import EntityNotFound, InvalidInput
from .._values import utc_timestamp
from .jose import Key, check_algorithm, generate_key, import_pem, public_jwk

__all__ = ["FIRST_KEY_INDEX", "KeyInfo", "KeyStore", "SigningKey"]

FIRST_KEY_INDEX = 300
_INDEX_FILE = "keys.json"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is known of one key without loading it: id, algorithm, HS_PUBKEY index, certificate."""

    kid: str
    alg: str
    index: int
    created: str
    active: bool = False
    certificate: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Public facts about the key (never the certificate text or private key)."""
        return {
            "kid": self.kid,
            "alg": self.alg,
            "index": self.index,
            "created": self.created,
            "active": self.active,
            "certified": self.certificate is not None,
        }


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A loaded private key and what it is known by."""

    info: KeyInfo
    key: Key = field(repr=False)

    @property
    def kid(self) -> str:
        """The key id: the RFC 7638 thumbprint of its public JWK."""
        return self.info.kid

    @property
    def alg(self) -> str:
        """The JWS algorithm the key signs with."""
        return self.info.alg

    def public_jwk(self) -> dict[str, Any]:
        """The public JWK published as the key's HS_PUBKEY value."""
        return public_jwk(self.key, self.alg)


def _write_private(path: Path, data: bytes) -> None:
    # Created 0600 from the start, so the key is never readable by others, even briefly.
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class KeyStore:
    """Generates, lists, rotates and loads key pairs kept under ``directory``."""

    def __init__(self, directory: str | Path, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self.passphrase = passphrase or None

    def stamp(self) -> int | None:
        """A mark that changes whenever the keys change (None while the store holds none)."""
        try:
            return (self.directory / _INDEX_FILE).stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _read_index(self) -> dict[str, Any]:
        path = self.directory / _INDEX_FILE
        if not path.exists():
            return {"active": None, "keys": []}
        return orjson.loads(path.read_bytes())

    def _write_index(self, index: dict[str, Any]) -> None:
        _write_private(
            self.directory / _INDEX_FILE, orjson.dumps(index, option=orjson.OPT_INDENT_2)
        )

    def list(self) -> list[KeyInfo]:
        """Every key, oldest first; the active one flagged."""
        index = self._read_index()
        return [
            KeyInfo(
                kid=entry["kid"],
                alg=entry["alg"],
                index=entry["index"],
                created=entry["created"],
                active=entry["kid"] == index["active"],
                certificate=entry.get("certificate"),
            )
            for entry in index["keys"]
        ]

    def generate(self, alg: str = "ES256", *, activate: bool | None = None) -> KeyInfo:
        """Create a key pair; it becomes the active key when there is none (or ``activate``)."""
        alg = check_algorithm(alg)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = generate_key(alg)
        kid = key.thumbprint()
        _write_private(
            self.directory / f"{kid}.pem", key.as_pem(private=True, password=self.passphrase)
        )
        index = self._read_index()
        used = [entry["index"] for entry in index["keys"]]
        entry = {
            "kid": kid,
            "alg": alg,
            "index": max(used, default=FIRST_KEY_INDEX - 1) + 1,
            "created": utc_timestamp(),
        }
        index["keys"].append(entry)
        if activate or (activate is None and index["active"] is None):
            index["active"] = kid
        self._write_index(index)
        return next(info for info in self.list() if info.kid == kid)

    def rotate(self, alg: str = "ES256") -> KeyInfo:
        """A new active key; older keys stay so values they signed remain verifiable."""
        return self.generate(alg, activate=True)

    def set_certificate(self, kid: str, certificate: str) -> None:
        """Remember the certificate issued for key ``kid``."""
        index = self._read_index()
        for entry in index["keys"]:
            if entry["kid"] == kid:
                entry["certificate"] = certificate
                self._write_index(index)
                return
        raise EntityNotFound(f"no key with id {kid!r} in {self.directory}")

    def load(self, kid: str) -> SigningKey:
        """The private key ``kid``, decrypted with the passphrase."""
        info = next((info for info in self.list() if info.kid == kid), None)
        if info is None:
            raise EntityNotFound(f"no key with id {kid!r} in {self.directory}")
        pem = (self.directory / f"{kid}.pem").read_bytes()
        encrypted = b"ENCRYPTED" in pem.split(b"\n", 1)[0]
        if encrypted and not self.passphrase:
            raise InvalidInput(f"key {kid} is encrypted; set IDNODE_KEY_PASSPHRASE")
        try:
            key = import_pem(pem, self.passphrase if encrypted else None)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"key {kid} cannot be loaded: {exc}") from exc
        return SigningKey(info, key)

    def active(self) -> SigningKey | None:
        """The key that signs from now on, if any."""
        info = next((info for info in self.list() if info.active), None)
        return None if info is None else self.load(info.kid)
