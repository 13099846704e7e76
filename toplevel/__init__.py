"""The simulated national top-level node: prefix directory, onboarding, sync intake, faults."""

from .app import create_toplevel_app
from .root import ROOT_FILE, open_root
from .server import run_toplevel
from .store import TopLevelStore

__all__ = ["ROOT_FILE", "TopLevelStore", "create_toplevel_app", "open_root", "run_toplevel"]
