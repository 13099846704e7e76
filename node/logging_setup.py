"""The node's one logging configuration: for ``idnode serve`` (uvicorn's ``log_config``, in every
worker), the simulated top-level and the other commands.

Every line has a timestamp (UTC), a level, the logger's name and — while an HTTP request is being
answered — that request's id: in plain text (``IDNODE_LOG_FORMAT=text``, the default) or as one
JSON object per line for collectors (``json``). The request id comes from ``RequestId``, a pure
ASGI wrapper around the whole app (the hot path included): a client's ``X-Request-ID`` when it is
sane (at most 128 characters of letters, digits and ``-._:``), else a new one; it is echoed in the
response's ``X-Request-ID`` and kept in a context variable that ``RequestIdFilter`` adds to every
record logged while answering, uvicorn's access line included. The native protocol and DNS
answer outside any HTTP request: their lines carry no request id.
"""

from __future__ import annotations

import itertools
import logging
import logging.config
import re
import secrets
import time
from contextvars import ContextVar
from typing import Any, Literal

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "LogFormat",
    "RequestId",
    "RequestIdFilter",
    "TextFormatter",
    "configure_logging",
    "log_config",
    "request_id",
]

LogFormat = Literal["text", "json"]
REQUEST_ID_HEADER = "X-Request-ID"
_HEADER = REQUEST_ID_HEADER.lower().encode()
# Longer, or other characters (spaces, quotes, control characters a log line must not carry),
# and the client's id is replaced by one of ours.
_SANE_ID = re.compile(rb"[A-Za-z0-9\-._:]{1,128}")

request_id: ContextVar[str | None] = ContextVar("idnode_request_id", default=None)


# A made id is this process's random prefix and a counter: unique, without a system call per
# request (uvicorn's workers are spawned, each drawing its own prefix).
_PREFIX = secrets.token_hex(8)
_COUNTER = itertools.count(1)


def _new_id() -> bytes:
    return f"{_PREFIX}-{next(_COUNTER):x}".encode()


class RequestId:
    """Gives each HTTP request an id, echoes it in the response and logs it with the request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid: bytes | None = None
        for name, value in scope["headers"]:
            if name == _HEADER:
                if _SANE_ID.fullmatch(value):
                    rid = value
                break
        if rid is None:
            rid = _new_id()
        echoed = (_HEADER, rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A copy: the app's list may be one it sends again.
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = request_id.set(rid.decode("ascii"))
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (``None`` outside a request) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class AlembicChatterFilter(logging.Filter):
    """Drops Alembic's two lines per database connection ("Context impl SQLiteImpl.", "Will assume
    non-transactional DDL."): printed by every command and every start, they tell an operator
    nothing. Its "Running upgrade" lines stay."""

    CHATTER = ("Context impl ", "Will assume ")

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.startswith(self.CHATTER))


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger> [<request id>] <message>``, then any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        where = f" [{rid}]" if rid else ""
        line = f"{_timestamp(record)} {record.levelname} {record.name}{where} {record.getMessage()}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``message``, ``request_id``
    (inside a request), ``exception`` (with a traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


_FORMATTERS: dict[str, type[logging.Formatter]] = {"text": TextFormatter, "json": JsonFormatter}


def log_config(log_format: LogFormat = "text", level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dictionary (what uvicorn's ``log_config`` takes): one
    handler on standard error for the root logger; uvicorn's loggers propagate to it."""
    if log_format not in _FORMATTERS:
        raise ValueError(f"log format {log_format!r}: expected one of {sorted(_FORMATTERS)}")
    level_name = level.upper()
    if not isinstance(logging.getLevelName(level_name), int):
        raise ValueError(f"log level {level!r}: expected debug, info, warning, error or critical")
    formatter = _FORMATTERS[log_format]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": f"{__name__}.RequestIdFilter"},
            "alembic_chatter": {"()": f"{__name__}.AlembicChatterFilter"},
        },
        "formatters": {"node": {"()": f"{formatter.__module__}.{formatter.__qualname__}"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "node",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["stderr"], "level": level_name},
        # uvicorn's own handlers are replaced by the root's: its lines look like ours.
        "loggers": {
            **{
                name: {"handlers": [], "propagate": True, "level": level_name}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            # Alembic's plugin registrations at every start say nothing to an operator.
            "alembic.runtime.plugins": {"level": "WARNING"},
            # Its two lines per connection likewise (shown at --log-level debug).
            "alembic.runtime.migration": {
                "filters": [] if level_name == "DEBUG" else ["alembic_chatter"]
            },
            # A line per outgoing request (recursion, trust fetches, sync, `idnode verify`) is
            # debugging, not operating: shown at --log-level debug only.
            "httpx": {"level": "WARNING" if level_name != "DEBUG" else "DEBUG"},
            "httpcore": {"level": "WARNING"},
        },
    }


def configure_logging(
    log_format: LogFormat = "text", level: str = "info", *, force: bool = False
) -> None:
    """Applies ``log_config`` to this process (what uvicorn does with it in a server); as
    ``logging.basicConfig`` does, not over a setup the process has already (unless ``force``)."""
    if logging.getLogger().handlers and not force:
        return
    logging.config.dictConfig(log_config(log_format, level))
    # Python's warnings go through logging too, not bare on standard error.
    logging.captureWarnings(True)
