"""The node's key store and the signer that seals its writes, as the settings describe them."""

from __future__ import annotations

from registry.trust import KeyStore, KeyWatchingSigner, SealingPool

from .settings import Settings

__all__ = ["build_signer", "default_alg", "key_store"]


def default_alg(settings: Settings) -> str:
    """The algorithm of keys made without ``--alg``: SM2 in the gm profile, else ES256."""
    return "SM2" if settings.crypto_profile == "gm" else "ES256"


def key_store(settings: Settings) -> KeyStore:
    """The node's key store as the settings describe it."""
    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    return KeyStore(settings.keys_dir, passphrase)


def build_signer(settings: Settings) -> KeyWatchingSigner | None:
    """The sealer that signs every write once the node has a key; None when signing is off."""
    if not settings.sign_records:
        return None
    processes = settings.sealing_processes
    return KeyWatchingSigner(
        key_store(settings),
        settings.node_code,
        lifetime_seconds=settings.signature_lifetime_seconds,
        recheck_seconds=settings.key_recheck_seconds,
        pool=SealingPool(processes) if processes else None,
        # The gm profile signs SM3 digests whatever the key (an ES256 key kept from before).
        digest_alg="SM3" if settings.crypto_profile == "gm" else None,
    )
