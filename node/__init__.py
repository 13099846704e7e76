"""The running service: app factory, settings, HTTP slices, auth, CLI."""

from .app import create_app
from .settings import Settings, get_settings

__all__ = ["Settings", "create_app", "get_settings"]
