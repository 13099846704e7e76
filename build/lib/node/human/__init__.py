"""Human resolution slice."""

from .endpoints import human_dialect, router

__all__ = ["human_dialect", "router"]
