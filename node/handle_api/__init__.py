"""The Handle REST API slice."""

from .codes import HANDLE_CODES, handle_dialect
from .endpoints import router

__all__ = ["HANDLE_CODES", "handle_dialect", "router"]
