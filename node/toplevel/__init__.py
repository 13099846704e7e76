"""The simulated national top-level node: prefix directory, onboarding, sync intake, faults."""

from .app import create_toplevel_app
from .server import run_toplevel
from .store import TopLevelStore

__all__ = ["TopLevelStore", "create_toplevel_app", "run_toplevel"]
