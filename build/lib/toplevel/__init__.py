"""The simulated national top-level node: prefix directory, onboarding, sync intake, faults, root CA.

A service of its own beside the node: it builds on ``registry``, never on ``node`` or ``resolver``.
"""

from .app import create_toplevel_app
from .authority import ROOT_PREFIX, RootAuthority
from .root import ROOT_FILE, open_root
from .server import run_toplevel
from .store import TopLevelStore

__all__ = [
    "ROOT_FILE",
    "ROOT_PREFIX",
    "RootAuthority",
    "TopLevelStore",
    "create_toplevel_app",
    "open_root",
    "run_toplevel",
]
