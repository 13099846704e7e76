"""The Handle REST API slice."""

from .codes import HANDLE_STATUS, handle_dialect, handle_error
from .endpoints import router

__all__ = ["HANDLE_STATUS", "handle_dialect", "handle_error", "router"]
