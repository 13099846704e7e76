"""Resolution: turning a handle into its record, wherever the record lives."""

from ._local import Resolver

__all__ = ["Resolver"]
