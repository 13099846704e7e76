"""The running service: app factory, settings, HTTP slices, auth, CLI.

``create_app`` is imported on first use, so the ``idnode`` command and a sealing process (which
imports the command's module when it starts) do not load the web stack for nothing.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from .app import create_app
    from .settings import Settings, get_settings

__all__ = ["Settings", "create_app", "get_settings"]

_HOME = {"Settings": ".settings", "create_app": ".app", "get_settings": ".settings"}


def __getattr__(name: str) -> object:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_HOME))
