"""Trust wiring: the node's signer, its published keys and certificates, and ``idnode verify``."""

from .fetch import HttpFetcher, parse_rest_values
from .signing import build_signer, certify_enterprise, install_certificate, key_store, publish_keys
from .verify import load_root, verify_handle

__all__ = [
    "HttpFetcher",
    "build_signer",
    "certify_enterprise",
    "install_certificate",
    "key_store",
    "load_root",
    "parse_rest_values",
    "publish_keys",
    "verify_handle",
]
