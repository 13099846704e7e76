"""Trust wiring: the node's signer, its published keys and certificates, and ``idnode verify``.

Names are imported on first use: ``idnode`` builds its parser from ``node.trust.cli`` without
loading the HTTP client that verification and fetches use.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .fetch import HttpFetcher
    from .identity import NodeIdentity, NodeKey, ensure_key
    from .signing import certify_enterprise, install_certificate, key_store, publish_keys
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

_HOMES = {
    ".fetch": ("HttpFetcher",),
    ".identity": ("NodeIdentity", "NodeKey", "ensure_key"),
    ".signing": ("certify_enterprise", "install_certificate", "key_store", "publish_keys"),
    ".verify": ("load_root", "read_root", "verify_handle"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_HOME))
