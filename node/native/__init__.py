"""The native Handle protocol (TCP and UDP, port 2641): the I/O beside ``registry.codec.native``.

``open_native`` runs the listeners in the HTTP app's lifespan; ``Dispatcher`` maps opcodes to
handlers (``resolution`` answers opcodes 1 and 2); ``client`` speaks to any Handle server.
"""

from .dispatch import Answer, Connection, Dispatcher, Handler, Request, error_code
from .server import NativeServer, build_site, open_native

__all__ = [
    "Answer",
    "Connection",
    "Dispatcher",
    "Handler",
    "NativeServer",
    "Request",
    "build_site",
    "error_code",
    "open_native",
]
