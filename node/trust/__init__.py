"""Trust wiring: the node's signer, its published keys and certificates, and ``idnode verify``."""

from .fetch import HttpFetcher
from .identity import NodeIdentity, NodeKey, ensure_key
from .signing import (
    certify_enterprise,
    install_certificate,
    key_store,
    publish_keys,
)
from .verify import load_root, read_root, verify_handle

__all__ = [
    "HttpFetcher",
    "NodeIdentity",
    "NodeKey",
    "certify_enterprise",
    "ensure_key",
    "install_certificate",
    "key_store",
    "load_root",
    "publish_keys",
    "read_root",
    "verify_handle",
]
