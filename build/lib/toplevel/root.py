"""The top-level node's root certificate authority, kept in a directory of its own."""

from __future__ import annotations

from pathlib import Path

from .authority import RootAuthority

__all__ = ["ROOT_FILE", "open_root"]

ROOT_FILE = "root.jws"


def open_root(directory: str | Path, alg: str = "ES256") -> RootAuthority:
    """The root CA in ``directory`` (a key and a self-signed certificate made on first start).

    A new root key is ``alg`` (SM2 for the gm profile); an existing one stays as it is.
    Its certificate is also written to ``<directory>/root.jws``, for ``idnode verify --root``.
    """
    authority = RootAuthority.open(directory, alg=alg)
    path = Path(directory) / ROOT_FILE
    certificate = authority.root_certificate() + "\n"
    if not path.exists() or path.read_text() != certificate:
        path.write_text(certificate)
    return authority
