"""The one exception tree of idnode.

Every failure the domain can name is a ``NodeError``; each API dialect (Handle REST codes,
SNMS status envelope, admin JSON, DNS RCODEs) turns these into responses through one table.

    NodeError
    ├── InvalidInput ............ the request is malformed (the client's fault)
    │   ├── InvalidIdentifier ... a prefix or handle breaks the grammar
    │   ├── InvalidValue ........ a handle value breaks the value rules
    │   ├── PayloadTooLarge ..... a body over the configured limit
    │   └── UnsupportedMediaType  a body that is not JSON by its content type
    ├── Unauthenticated ......... no credentials, or wrong ones
    │   └── TooManyAttempts ..... failed logins over their limit; retry after a while
    ├── Forbidden ............... authenticated, but not allowed to do this
    ├── NotFound
    │   ├── HandleNotFound
    │   ├── ValuesNotFound ...... the handle exists but no value matches
    │   └── EntityNotFound ...... an enterprise, prefix or credential
    ├── AlreadyExists
    │   ├── HandleAlreadyExists
    │   └── ValueAlreadyExists
    ├── Conflict ................ the request clashes with the current state
    └── Unavailable ............. storage or an upstream is down; retry later
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "Conflict",
    "EntityNotFound",
    "Forbidden",
    "HandleAlreadyExists",
    "HandleNotFound",
    "InvalidIdentifier",
    "InvalidInput",
    "InvalidValue",
    "NodeError",
    "NotFound",
    "PayloadTooLarge",
    "TooManyAttempts",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "ValueAlreadyExists",
    "ValuesNotFound",
]


class NodeError(Exception):
    """Base of every error idnode raises on purpose."""

    def __init__(self, message: str, *, handle: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.handle = handle

    def __reduce__(self) -> tuple[object, ...]:
        # Intact across processes (the sealing pool): the default pickling drops ``handle``.
        return (_rebuilt, (type(self), self.message, self.handle))


class InvalidInput(NodeError):
    """The request is malformed."""


class InvalidIdentifier(InvalidInput):
    """A prefix or handle breaks the identifier grammar."""


class InvalidValue(InvalidInput):
    """A handle value breaks the value rules."""


class PayloadTooLarge(InvalidInput):
    """A request body is over the configured size limit."""


class UnsupportedMediaType(InvalidInput):
    """A request body arrived with a content type other than JSON."""


class Unauthenticated(NodeError):
    """Credentials are missing or wrong."""


class TooManyAttempts(Unauthenticated):
    """Too many failed logins for an identity or from a client; ``retry_after`` in seconds."""

    def __init__(self, message: str, *, retry_after: int, handle: str | None = None) -> None:
        super().__init__(message, handle=handle)
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[object, ...]:
        return (_throttled, (self.message, self.retry_after, self.handle))


class Forbidden(NodeError):
    """The caller is known but may not do this."""


class NotFound(NodeError):
    """Something asked for does not exist."""


class HandleNotFound(NotFound):
    """The handle is not registered."""


class ValuesNotFound(NotFound):
    """The handle exists but none of its values match the request."""


class EntityNotFound(NotFound):
    """An enterprise, prefix, credential or template does not exist."""


class AlreadyExists(NodeError):
    """Something to be created exists already."""


class HandleAlreadyExists(AlreadyExists):
    """The handle is registered already."""


class ValueAlreadyExists(AlreadyExists):
    """A value with that index exists already."""


class Conflict(NodeError):
    """The request clashes with the current state."""


class Unavailable(NodeError):
    """Storage or an upstream is unreachable; the request may be retried."""


def _rebuilt(cls: type[NodeError], message: str, handle: str | None) -> NodeError:
    return cls(message, handle=handle)


def _throttled(message: str, retry_after: int, handle: str | None) -> TooManyAttempts:
    return TooManyAttempts(message, retry_after=retry_after, handle=handle)
