"""Node administration slice."""

from .endpoints import router

__all__ = ["router"]
