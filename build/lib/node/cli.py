"""The ``idnode`` command: every operator task, scriptable (``--json`` prints one JSON object)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from registry import InvalidInput, NodeError, Unavailable

from .config_cli import add_config_commands
from .dns.cli import add_dns_commands
from .native.admin_cli import add_hdl_admin_commands
from .native.cli import add_hdl_commands
from .settings import CONFIG_ENV, Settings, get_settings
from .trust.cli import add_trust_commands

# A command imports the heavy parts it needs (the context and its database, the web stack, the
# simulator, Alembic) when it runs: ``idnode --help`` and every sealing process, which imports
# this module when it starts, pay for none of them.
if TYPE_CHECKING:
    from .context import NodeContext

__all__ = ["EXIT_CONFIG", "EXIT_DATABASE", "EXIT_FAILED", "main"]

# Exit codes: 2 is argparse's for bad arguments.
EXIT_FAILED = 1  # the command failed (bad input, a refused operation, an unexpected error)
EXIT_CONFIG = 2  # the settings are invalid (an unsupported database URL, a bad value)
EXIT_DATABASE = 3  # the database could not be reached

Command = Callable[[argparse.Namespace, Settings], Awaitable[Any]]


def _emit(args: argparse.Namespace, result: Any, text: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(text)


async def _with_context(settings: Settings, work: Callable[[NodeContext], Awaitable[Any]]) -> Any:
    from .context import NodeContext

    async with NodeContext(settings) as context:
        return await work(context)


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> None:
    # Alembic is slow to import: only migrate pays for it.
    from migrations.runner import current_revisions, upgrade

    async def work(context: NodeContext) -> tuple[list[str], list[str]]:
        before = await current_revisions(context.db)
        await upgrade(context.db)
        return before, await current_revisions(context.db)

    before, after = await _with_context(settings, work)
    url = _safe_url(settings.database_url)
    now = ", ".join(after)
    if before == after:
        text = f"schema already up to date at {now} ({url})"
    elif not before:
        text = f"created the schema at {now} ({url})"
    else:
        text = f"migrated the schema from {', '.join(before)} to {now} ({url})"
    result = {"migrated": before != after, "from": before, "to": after, "database": url}
    _emit(args, result, text)


async def cmd_enterprise_create(args: argparse.Namespace, settings: Settings) -> None:
    async def work(context: NodeContext) -> Any:
        return await context.enterprises.create(args.name, args.prefix)

    info, credential = await _with_context(settings, work)
    result = {"id": info.id, "name": info.name, **credential.as_dict()}
    _emit(
        args,
        result,
        f"enterprise {info.id} {info.name!r}: prefix {credential.prefix}\n"
        f"  username {credential.username}\n  password {credential.password}\n"
        "  (the password is shown only now)",
    )


async def cmd_enterprise_list(args: argparse.Namespace, settings: Settings) -> None:
    async def work(context: NodeContext) -> Any:
        return await context.enterprises.list()

    infos = await _with_context(settings, work)
    result = {"enterprises": [info.as_dict() for info in infos]}
    lines = [
        f"{i.id}\t{i.name}\t{','.join(i.prefixes)}\t{len(i.credentials)} credential(s)"
        for i in infos
    ]
    _emit(args, result, "\n".join(lines) or "no enterprises yet")


async def cmd_prefix_allocate(args: argparse.Namespace, settings: Settings) -> None:
    async def work(context: NodeContext) -> Any:
        return await context.enterprises.allocate_prefix(args.enterprise, args.prefix)

    prefix = await _with_context(settings, work)
    _emit(args, {"enterprise": args.enterprise, "prefix": prefix}, f"allocated {prefix}")


async def cmd_credential_issue(args: argparse.Namespace, settings: Settings) -> None:
    async def work(context: NodeContext) -> Any:
        return await context.enterprises.issue_credential(args.prefix)

    credential = await _with_context(settings, work)
    _emit(
        args,
        credential.as_dict(),
        f"username {credential.username}\npassword {credential.password}\n(the password is shown only now)",
    )


async def cmd_credential_add_key(args: argparse.Namespace, settings: Settings) -> None:
    from registry.trust import public_key_data

    try:
        pem = Path(args.key).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {args.key}: {exc.strerror}") from exc
    data = public_key_data(pem)

    async def work(context: NodeContext) -> str:
        return await context.enterprises.register_public_key(args.prefix, data)

    username = await _with_context(settings, work)
    _emit(
        args,
        {"username": username, "prefix": args.prefix},
        f"username {username}\n(answers native-protocol challenges with the key's private half)",
    )


async def cmd_credential_revoke(args: argparse.Namespace, settings: Settings) -> None:
    async def work(context: NodeContext) -> None:
        await context.enterprises.revoke_credential(args.username)

    await _with_context(settings, work)
    _emit(args, {"revoked": args.username}, f"revoked {args.username}")


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> None:
    from .demo import seed_demo

    result = await _with_context(settings, seed_demo)
    _emit(args, result, result["text"])


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from urllib.parse import urlsplit

    from .serving import serve, server_config

    allowed = args.allow_loopback_public_url or settings.allow_loopback_public_url
    public_host = urlsplit(settings.public_url).hostname
    if not allowed and _is_loopback(public_host) is True and _is_loopback(args.host) is False:
        _fail(
            args,
            "InvalidSettings",
            f"IDNODE_PUBLIC_URL {settings.public_url} is a loopback URL but serve binds"
            f" {args.host}: other machines would be sent to themselves; set IDNODE_PUBLIC_URL"
            " to the URL clients reach, or pass --allow-loopback-public-url",
        )
        return EXIT_CONFIG

    if args.workers > 1:
        # Each worker binds the native Handle port too; the kernel spreads clients among them.
        os.environ.setdefault("IDNODE_HANDLE_REUSE_PORT", "true")
    log_level, log_options = _log_options(args, settings)
    config = server_config(
        "node.app:create_served_app",
        settings,
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=log_level,
        **log_options,
        # uvloop when installed (uvicorn[standard]).
        loop="auto",
    )
    serve(config)
    return 0


def _is_loopback(host: str | None) -> bool | None:
    """Whether ``host`` (a name or an address) is loopback; None when it cannot be told."""
    import ipaddress

    if not host:
        return None
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost: not loopback as far as we can tell


async def cmd_sync_status(args: argparse.Namespace, settings: Settings) -> None:
    from .sync.status import sync_status

    async def work(context: NodeContext) -> Any:
        return await sync_status(context.db, settings.toplevel_url, None)

    status = await _with_context(settings, work)
    lines = [
        f"top-level node:  {status['toplevelUrl'] or 'not set (IDNODE_TOPLEVEL_URL)'}",
        f"lag:             {status['pendingRows']} row(s), {status['lagSeconds']} s",
        f"last batch:      {status['lastAckedSeq']} at {status['lastSuccessAt'] or '-'}",
        f"in flight:       {status['inflightSeq'] or '-'}",
        f"shipped:         {status['shippedRows']} row(s)",
        f"last error:      {status['lastError'] or '-'} ({status['lastErrorAt'] or '-'})",
    ]
    _emit(args, status, "\n".join(lines))


def cmd_toplevel(args: argparse.Namespace, settings: Settings) -> None:
    from toplevel import ROOT_FILE, open_root, run_toplevel

    token = settings.toplevel_bootstrap_token
    if token is None:
        raise InvalidInput("set IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN: nodes onboard with it")
    url = args.db if "://" in args.db else f"sqlite+aiosqlite:///{args.db}"
    root_dir = args.root_dir or settings.toplevel_root_dir
    root = open_root(root_dir, alg="SM2" if settings.crypto_profile == "gm" else "ES256")
    print(
        f"root CA {root.root_id}: certificate in {root_dir}/{ROOT_FILE} and at GET /root",
        flush=True,
    )
    operator = settings.toplevel_operator_token
    log_level, log_options = _log_options(args, settings)
    run_toplevel(
        url,
        token.get_secret_value(),
        args.host,
        args.port,
        log_level,
        root,
        keep_alive_seconds=settings.keep_alive_seconds,
        operator_token=None if operator is None else operator.get_secret_value(),
        **log_options,
    )


def _log_options(args: argparse.Namespace, settings: Settings) -> tuple[str, dict[str, Any]]:
    """A server's log level and uvicorn's logging options: the flags, else the settings."""
    from .logging_setup import log_config

    level = args.log_level or settings.log_level
    access_log = settings.access_log if args.access_log is None else args.access_log
    return level, {
        "log_config": log_config(args.log_format or settings.log_format, level),
        "access_log": access_log,
    }


def _add_log_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--log-level",
        type=str.lower,
        choices=["debug", "info", "warning", "error", "critical"],
        help="least severe level logged (default IDNODE_LOG_LEVEL, info)",
    )
    command.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="'json': one JSON object per line (default IDNODE_LOG_FORMAT, text)",
    )
    command.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        default=None,
        help="no line per HTTP request (default IDNODE_ACCESS_LOG, on)",
    )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="idnode", description=_plain(__doc__ or ""))
    parser.add_argument("--version", action="version", version=f"idnode {_version()}")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"settings file: TOML (*.toml) or .env; the environment overrides it (also {CONFIG_ENV})",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(subparsers: Any, name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        command = subparsers.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--json", action="store_true", help="print one JSON object")
        command.set_defaults(handler=handler)
        return command

    add(sub, "migrate", cmd_migrate, "apply database migrations (Alembic) up to the newest")
    serve = sub.add_parser("serve", help="run the node's HTTP server")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    serve.add_argument(
        "--port", type=int, default=8000, help="HTTP port to bind (default %(default)s)"
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the ports (default %(default)s)",
    )
    _add_log_options(serve)
    serve.add_argument(
        "--allow-loopback-public-url",
        action="store_true",
        help="bind a non-loopback host although IDNODE_PUBLIC_URL is a loopback URL",
    )
    serve.set_defaults(handler=cmd_serve)
    add(sub, "demo", cmd_demo, "create the demo enterprise and identifiers (idempotent)")
    toplevel = sub.add_parser("toplevel", help="run the simulated national top-level node")
    toplevel.add_argument("--host", default="127.0.0.1")
    toplevel.add_argument("--port", type=int, default=8100)
    toplevel.add_argument("--db", default="./var/toplevel.db", help="its SQLite file")
    _add_log_options(toplevel)
    toplevel.add_argument(
        "--root-dir", help="its root CA's key directory (default IDNODE_TOPLEVEL_ROOT_DIR)"
    )
    toplevel.set_defaults(handler=cmd_toplevel)
    sync = sub.add_parser("sync", help="synchronisation with the top-level node")
    sync_sub = sync.add_subparsers(dest="action", required=True)
    add(sync_sub, "status", cmd_sync_status, "outbox lag in rows and seconds, the last error")

    admin = sub.add_parser("admin", help="manage enterprises, prefixes and credentials")
    admin_sub = admin.add_subparsers(dest="area", required=True)
    enterprise = admin_sub.add_parser("enterprise", help="enterprises").add_subparsers(
        dest="action", required=True
    )
    create = add(
        enterprise,
        "create",
        cmd_enterprise_create,
        "create an enterprise with a prefix and a credential",
    )
    create.add_argument("--name", required=True)
    create.add_argument("--prefix", help="e.g. 88.118.8; the next free prefix when omitted")
    add(enterprise, "list", cmd_enterprise_list, "list enterprises, their prefixes and credentials")

    prefix = admin_sub.add_parser("prefix", help="prefixes").add_subparsers(
        dest="action", required=True
    )
    allocate = add(
        prefix, "allocate", cmd_prefix_allocate, "allocate one more prefix to an enterprise"
    )
    allocate.add_argument("--enterprise", type=int, required=True)
    allocate.add_argument("--prefix")

    credential = admin_sub.add_parser("credential", help="credentials").add_subparsers(
        dest="action", required=True
    )
    issue = add(credential, "issue", cmd_credential_issue, "issue another credential for a prefix")
    issue.add_argument("--prefix", required=True)
    add_key = add(
        credential,
        "add-key",
        cmd_credential_add_key,
        "register a public key as a new <prefix>/ADMIN identity for the native protocol",
    )
    add_key.add_argument("--prefix", required=True)
    add_key.add_argument("--key", required=True, help="RSA, DSA or SM2 public key, PEM")
    revoke = add(credential, "revoke", cmd_credential_revoke, "revoke a credential and its tokens")
    revoke.add_argument("--username", required=True, help="e.g. 301:88.118.8/ADMIN")
    add_trust_commands(sub, add)
    add_hdl_admin_commands(add_hdl_commands(sub, add), add)
    add_dns_commands(sub, add)
    add_config_commands(sub, add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Databases, keys, ./var and whatever else the node writes are its owner's alone.
    os.umask(0o077)
    args = build_parser().parse_args(argv)
    if args.config:
        # In the environment, so that serve's worker processes read the same file.
        os.environ[CONFIG_ENV] = args.config
    try:
        settings = get_settings()
    except ValidationError as exc:
        _fail(args, "InvalidSettings", _invalid_settings(exc))
        return EXIT_CONFIG
    except NodeError as exc:
        _fail(args, "InvalidSettings", exc.message)
        return EXIT_CONFIG
    from .logging_setup import configure_logging

    # A server's uvicorn applies the same configuration again, with its flags.
    configure_logging(settings.log_format, settings.log_level)
    handler = args.handler
    try:
        if asyncio.iscoroutinefunction(handler):
            code = asyncio.run(handler(args, settings))
        else:
            code = handler(args, settings)
    except NodeError as exc:
        cause = exc.__cause__
        if isinstance(exc, Unavailable) and isinstance(cause, Exception) and _from_storage(cause):
            # Storage said it is out: name the database, and what it said.
            if _unreachable(cause):
                return _unreachable_database(args, settings, cause)
            _fail(args, type(exc).__name__, _unexpected(cause, _safe_url(settings.database_url)))
            return 1
        _fail(args, type(exc).__name__, exc.message)
        return 1
    except BrokenPipeError:
        # The reader went away (`idnode … | head`): nothing left to say, and nowhere to say it.
        return 1
    except Exception as exc:
        if _unreachable(exc):
            return _unreachable_database(args, settings, exc)
        # One line, never a traceback: a database error's traceback holds the statement's
        # parameters, which for a credential are its scrypt hash and sealed verifier.
        _fail(args, type(exc).__name__, _unexpected(exc, _safe_url(settings.database_url)))
        return 1
    return code if isinstance(code, int) else 0


def _invalid_settings(exc: ValidationError) -> str:
    """Which settings are wrong and why, without their values (one may be a password)."""
    problems = []
    for error in exc.errors():
        name = "IDNODE_" + "_".join(str(part) for part in error["loc"]).upper()
        problems.append(f"{name}: {error['msg'].removeprefix('Value error, ')}")
    return "invalid settings: " + "; ".join(problems)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("idnode")
    except PackageNotFoundError:
        return "unknown (not installed)"


def _plain(text: str) -> str:
    """A docstring as a help text: without reST's literal markup."""
    return text.replace("``", "'")


def _unreachable_database(args: argparse.Namespace, settings: Settings, exc: Exception) -> int:
    detail = _unexpected(exc).split(": ", 1)[-1]
    url = _safe_url(settings.database_url)
    _fail(args, "DatabaseUnreachable", f"cannot reach the database at {url}: {detail}")
    return EXIT_DATABASE


def _from_storage(exc: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, OSError | DBAPIError)


def _unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be connected to (not that a statement failed)."""
    from sqlalchemy.exc import OperationalError, StatementError

    if isinstance(exc, OperationalError) and "unable to open database file" in str(exc.orig):
        return True  # SQLite: a directory that is missing or not ours
    cause = exc.orig if isinstance(exc, StatementError) and exc.orig else exc
    return isinstance(cause, OSError | TimeoutError) or "connect" in type(cause).__name__.lower()


def _fail(args: argparse.Namespace, kind: str, message: str) -> None:
    if getattr(args, "json", False):
        print(json.dumps({"error": kind, "message": message}), file=sys.stderr)
    else:
        print(f"idnode: {message}", file=sys.stderr)


def _unexpected(exc: Exception, database: str = "") -> str:
    """What went wrong, without the statement or parameters a database error carries.

    A database error names ``database`` (the URL, its password masked) when given.
    """
    from sqlalchemy.exc import StatementError

    cause: BaseException = exc.orig if isinstance(exc, StatementError) and exc.orig else exc
    lines = str(cause).strip().splitlines()
    detail = lines[0][:300] if lines else type(cause).__name__
    kind = "unexpected error"
    if isinstance(exc, StatementError):
        kind = f"database error at {database}" if database else "database error"
    return f"{kind} ({type(cause).__name__}): {detail}"
