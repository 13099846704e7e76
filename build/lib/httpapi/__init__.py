"""HTTP plumbing the node and the simulated top-level share: JSON responses, error dialects.

Knows ``registry``'s error tree and Starlette, nothing of either application: each app says
which dialect answers under which path prefix (``install_error_handlers``).
"""

from .docs import ASSETS_PATH, install_offline_docs, json_body
from .errors import (
    PLAIN_STATUS,
    Dialect,
    error_headers,
    install_error_handlers,
    lookup,
    plain_dialect,
)
from .handle_rest import HANDLE_STATUS, handle_dialect, handle_error
from .responses import json_response

__all__ = [
    "ASSETS_PATH",
    "HANDLE_STATUS",
    "PLAIN_STATUS",
    "Dialect",
    "error_headers",
    "handle_dialect",
    "handle_error",
    "install_error_handlers",
    "install_offline_docs",
    "json_body",
    "json_response",
    "lookup",
    "plain_dialect",
]
