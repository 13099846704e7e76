"""An enterprise's own data API: search its identifiers, import and export them as tables."""

from .endpoints import router

__all__ = ["router"]
