"""The logging configuration's parts: the formatters, the request-id filter and middleware."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import random
import re
import sys
import time
from typing import Any

import pytest

from node.logging_setup import (
    JsonFormatter,
    RequestId,
    RequestIdFilter,
    TextFormatter,
    configure_logging,
    log_config,
    request_id,
)

from ..commands import idnode

SANE = re.compile(r"[A-Za-z0-9\-._:]{1,128}")


def _record(message: str = "hello %s", args: tuple = ("world",)) -> logging.LogRecord:
    record = logging.LogRecord("idnode.sync", logging.WARNING, __file__, 1, message, args, None)
    RequestIdFilter().filter(record)
    return record


def test_text_lines_have_time_level_logger_and_the_request_id_inside_a_request() -> None:
    line = TextFormatter().format(_record())
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARNING idnode.sync hello world", line
    ), line
    token = request_id.set("req-1")
    try:
        line = TextFormatter().format(_record())
    finally:
        request_id.reset(token)
    assert line.endswith(" WARNING idnode.sync [req-1] hello world"), line


def test_json_lines_are_one_object_each_with_the_request_id_and_the_traceback() -> None:
    entry = json.loads(JsonFormatter().format(_record()))
    assert entry.keys() == {"time", "level", "logger", "message"}
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "WARNING",
        "idnode.sync",
        "hello world",
    )
    token = request_id.set("abc")
    try:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            record = _record("failed", ())
            record.exc_info = sys.exc_info()
        line = JsonFormatter().format(record)
    finally:
        request_id.reset(token)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "abc"
    assert "ValueError: boom" in entry["exception"]


def test_configured_logging_writes_idnode_info_lines(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("json", "info", force=True)
        logging.getLogger("idnode.sync").info("sync: onboarded at %s", "x")
        logging.getLogger("idnode.sync").debug("not shown")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        root.handlers[:], root.level = saved
        logging.captureWarnings(False)
    assert [(e["level"], e["message"]) for e in lines] == [("INFO", "sync: onboarded at x")]


@pytest.mark.parametrize(("level", "chatter"), [("info", False), ("debug", True)])
def test_alembic_s_per_connection_chatter_is_dropped_but_upgrades_are_shown(
    capsys: pytest.CaptureFixture[str], level: str, chatter: bool
) -> None:
    # Every command (`backup`, `admin quota show`, ...) and every start printed these two lines.
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    migration = logging.getLogger("alembic.runtime.migration")
    saved_filters = migration.filters[:]
    migration.filters[:] = []  # dictConfig adds filters, never removes those of other tests
    try:
        configure_logging("json", level, force=True)
        migration.info("Context impl %s.", "SQLiteImpl")
        migration.info("Will assume %s DDL.", "non-transactional")
        migration.info("Running upgrade %s -> %s, %s", "0004_audit", "0005_quotas", "quotas")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        root.handlers[:], root.level = saved
        migration.filters[:] = saved_filters
        logging.captureWarnings(False)
    messages = [e["message"] for e in lines if e["logger"] == "alembic.runtime.migration"]
    upgrade = "Running upgrade 0004_audit -> 0005_quotas, quotas"
    expected = ["Context impl SQLiteImpl.", "Will assume non-transactional DDL."] if chatter else []
    assert messages == [*expected, upgrade]


@pytest.mark.parametrize(("level", "shown"), [("info", False), ("debug", True)])
def test_outgoing_http_requests_are_logged_at_debug_only(level: str, shown: bool) -> None:
    # `idnode verify` printed an httpx line per request it made.
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    httpx_level = logging.getLogger("httpx").level
    try:
        configure_logging("text", level, force=True)
        assert logging.getLogger("httpx").isEnabledFor(logging.INFO) is shown
        assert logging.getLogger("idnode").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:], root.level = saved
        logging.getLogger("httpx").setLevel(httpx_level)
        logging.captureWarnings(False)


def test_logging_already_set_up_is_left_alone() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    mine = logging.StreamHandler(io.StringIO())
    try:
        root.handlers[:] = [mine]
        configure_logging("json", "debug")
        assert root.handlers == [mine]
    finally:
        root.handlers[:], root.level = saved


@pytest.mark.parametrize(
    ("log_format", "level", "problem"),
    [("xml", "info", "log format 'xml'"), ("json", "loud", "log level 'loud'")],
)
def test_a_bad_format_or_level_is_named(log_format: Any, level: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        log_config(log_format, level)


def _call(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, list[tuple[bytes, bytes]]]:
    """The request id the app saw and the response headers, through ``RequestId``."""
    seen: list[str | None] = []
    sent: list[dict] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(request_id.get())
        await send({"type": "http.response.start", "status": 200, "headers": [(b"a", b"b")]})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    asyncio.run(RequestId(app)(scope, None, send))  # type: ignore[arg-type]
    assert request_id.get() is None
    return seen[0], sent[0]["headers"]


@pytest.mark.parametrize(
    "given",
    [b"abc-123", b"0f8e.trace:span_1", b"A" * 128],
)
def test_a_sane_request_id_is_kept_and_echoed(given: bytes) -> None:
    seen, headers = _call([(b"x-request-id", given)])
    assert seen == given.decode()
    assert headers == [(b"a", b"b"), (b"x-request-id", given)]


@pytest.mark.parametrize(
    "given",
    [b"", b"A" * 129, b"has space", b'quote"', b"new\nline", "\u00e9".encode(), b"a/b", b"\xff"],
)
def test_an_insane_request_id_is_replaced(given: bytes) -> None:
    seen, headers = _call([(b"x-request-id", given)])
    assert seen is not None and seen.encode() != given and SANE.fullmatch(seen)
    assert headers[-1] == (b"x-request-id", seen.encode())


def test_a_request_without_an_id_gets_a_new_one_each_time() -> None:
    first, _ = _call([(b"accept", b"*/*")])
    second, headers = _call([])
    assert first and second and first != second
    assert headers[-1] == (b"x-request-id", second.encode())


def test_fuzzed_ids_are_kept_only_when_sane_and_the_echo_is_always_sane() -> None:
    rng = random.Random(20)
    alphabet = b'Aa0-._: /"\n\t\x00\xff\xe9=;'
    deadline = time.monotonic() + 2
    cases = 0
    while time.monotonic() < deadline and cases < 3000:
        given = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 140)))
        seen, headers = _call([(b"x-request-id", given)])
        assert seen is not None and SANE.fullmatch(seen)
        assert (seen.encode() == given) == bool(SANE.fullmatch(given.decode("latin-1")))
        assert headers[-1] == (b"x-request-id", seen.encode())
        cases += 1
    assert cases > 50


def test_other_scopes_pass_through_untouched() -> None:
    scopes: list[dict] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scopes.append(scope)
        assert request_id.get() is None

    scope = {"type": "lifespan"}
    asyncio.run(RequestId(app)(scope, None, None))  # type: ignore[arg-type]
    assert scopes == [scope]


def test_a_log_line_inside_the_request_carries_its_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("idnode.test_logging_setup")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        logger.info("inside")
        await send({"type": "http.response.start", "status": 204, "headers": []})

    async def send(message: dict) -> None:
        return None

    try:
        scope = {"type": "http", "headers": [(b"x-request-id", b"r-42")]}
        asyncio.run(RequestId(app)(scope, None, send))  # type: ignore[arg-type]
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e["message"], e.get("request_id")) for e in entries] == [
        ("inside", "r-42"),
        ("outside", None),
    ]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["serve", "--log-level", "loud"], "--log-level: invalid choice: 'loud'"),
        (["serve", "--log-format", "xml"], "--log-format: invalid choice: 'xml'"),
        (["toplevel", "--log-format", "yaml"], "--log-format: invalid choice: 'yaml'"),
    ],
)
def test_the_commands_name_a_bad_log_option(args: list[str], problem: str) -> None:
    result = idnode({}, *args)
    assert result.returncode == 2
    assert problem in result.stderr
