"""The bodies of the session opcodes (Handle.Net ``Encoder.*SessionSetupRequest`` and kin).

SESSION_SETUP (400): int2 key exchange mode, int4 timeout (seconds), ``bytes`` identity handle,
int4 identity index (-1: anonymous), then by mode: CIPHER_CLIENT (1) and DH (4) ``bytes``
public key; CIPHER_HDL (3) ``bytes`` key handle and int4 key index; CIPHER_SERVER (2) nothing.
Handle.Net's encoder counts the mode as four bytes but writes two, so its bodies end with two
zero bytes: trailing bytes are tolerated. SESSION_EXCHANGEKEY (402): ``bytes`` encrypted
session key. SESSION_TERMINATE (401) has no body.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from .codes import MAX_HANDLE_LENGTH
from .wire import ProtocolError, Reader, int2, int4, sized

__all__ = [
    "MAX_SESSION_KEY",
    "KeyExchange",
    "SessionSetup",
    "decode_exchange_key",
    "decode_session_setup",
    "encode_exchange_key",
    "encode_session_setup",
]

# Public keys and encrypted session keys: an RSA-8192 or DH-8192 key with its parameters fits.
MAX_SESSION_KEY = 16_384


class KeyExchange(IntEnum):
    """``Common.KEY_EXCHANGE_*``: how the session key is agreed."""

    CIPHER_CLIENT = 1  # the server encrypts a key with the client's public key
    CIPHER_SERVER = 2  # the client encrypts a key with the server's public key
    CIPHER_HDL = 3  # ... with the public key in a handle value
    DH = 4  # Diffie-Hellman (Handle.Net's default)


@dataclass(frozen=True, slots=True)
class SessionSetup:
    """A SESSION_SETUP request: how to agree a key, for whom, for how long."""

    mode: KeyExchange
    timeout: int
    identity: bytes = b""
    identity_index: int = -1
    public_key: bytes = b""  # CIPHER_CLIENT, DH
    key_handle: bytes = b""  # CIPHER_HDL
    key_index: int = 0  # CIPHER_HDL


def decode_session_setup(reader: Reader) -> SessionSetup:
    """A SESSION_SETUP body; ``ProtocolError`` (4) names what is missing or unknown."""
    raw_mode = reader.int2("key exchange mode")
    try:
        mode = KeyExchange(raw_mode)
    except ValueError:
        raise ProtocolError(f"unknown session key exchange mode {raw_mode}") from None
    timeout = reader.sint4("session timeout")
    identity = reader.sized("session identity handle", MAX_HANDLE_LENGTH)
    index = reader.sint4("session identity index")
    public_key, key_handle, key_index = b"", b"", 0
    if mode in (KeyExchange.CIPHER_CLIENT, KeyExchange.DH):
        public_key = reader.sized("session exchange public key", MAX_SESSION_KEY)
    elif mode is KeyExchange.CIPHER_HDL:
        key_handle = reader.sized("session key handle", MAX_HANDLE_LENGTH)
        key_index = reader.sint4("session key index")
    return SessionSetup(mode, timeout, identity, index, public_key, key_handle, key_index)


def encode_session_setup(setup: SessionSetup) -> bytes:
    """A SESSION_SETUP body as Handle.Net's client sends it (with its two trailing zero bytes)."""
    body = (
        int2(setup.mode) + int4(setup.timeout) + sized(setup.identity) + int4(setup.identity_index)
    )
    if setup.mode in (KeyExchange.CIPHER_CLIENT, KeyExchange.DH):
        body += sized(setup.public_key)
    elif setup.mode is KeyExchange.CIPHER_HDL:
        body += sized(setup.key_handle) + int4(setup.key_index)
    return body + bytes(2)


def decode_exchange_key(reader: Reader) -> bytes:
    """A SESSION_EXCHANGEKEY body: the encrypted session key."""
    return reader.sized("encrypted session key", MAX_SESSION_KEY)


def encode_exchange_key(key: bytes) -> bytes:
    return sized(key)
