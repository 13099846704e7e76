"""The Handle REST API slice (its error dialect is ``httpapi.handle_dialect``)."""

from .endpoints import router

__all__ = ["router"]
