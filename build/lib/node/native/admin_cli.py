"""``idnode hdl create|delete|add|modify|remove|list``: administration over the native protocol.

    idnode hdl create 88.118.8/X1 --value 1:URL:https://example.com/x1 \\
        --auth 300:88.118.8/ADMIN --secret demo-password

The identity answers the server's challenges with its secret (``--secret``, or the
``IDNODE_HDL_SECRET`` variable, which stays out of the process list) or an RSA/DSA private key
in PEM (``--key file.pem``).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, rsa

from registry import HandleValue, InvalidInput, parse_index, parse_username

from ..settings import Settings
from .admin_client import AdminClient, Auth, PrivateKeyAuth, SecretKeyAuth
from .cli import REFUSED, exchange

__all__ = ["add_hdl_admin_commands", "parse_value_spec"]

SECRET_VARIABLE = "IDNODE_HDL_SECRET"


def parse_value_spec(spec: str) -> HandleValue:
    """``INDEX:TYPE:DATA`` (DATA may hold colons) as a string value."""
    index, _, rest = spec.partition(":")
    kind, colon, data = rest.partition(":")
    if not colon or not kind:
        raise InvalidInput(f"--value {spec!r} is not INDEX:TYPE:DATA, e.g. 1:URL:https://a.example")
    return HandleValue(parse_index(index, f"--value {spec!r}"), kind, "string", data)


def _auth(args: argparse.Namespace) -> Auth:
    index, handle = parse_username(args.auth)
    if args.key:
        try:
            key = serialization.load_pem_private_key(Path(args.key).read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidInput(
                f"--key {args.key}: not an unencrypted PEM private key: {exc}"
            ) from exc
        if not isinstance(key, rsa.RSAPrivateKey | dsa.DSAPrivateKey):
            raise InvalidInput(f"--key {args.key}: only RSA and DSA keys are supported")
        return PrivateKeyAuth(str(handle), index, key)
    secret = args.secret if args.secret is not None else os.environ.get(SECRET_VARIABLE)
    if secret is None:
        raise InvalidInput(f"give --secret, --key, or set {SECRET_VARIABLE}")
    return SecretKeyAuth(str(handle), index, secret.encode())


async def _run(
    args: argparse.Namespace,
    settings: Settings,
    work: Callable[[AdminClient], Awaitable[Any]],
    done: Callable[[Any], str],
) -> int:
    auth = _auth(args)
    result = await exchange(
        args,
        settings,
        lambda client: work(AdminClient(client, auth)),
        about=("target", args.target),
    )
    if result is REFUSED:
        return 1
    if args.json:
        print(json.dumps({"target": args.target, "responseCode": 1, "result": result}))
    else:
        print(done(result))
    return 0


async def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    values = [parse_value_spec(spec) for spec in args.value]
    return await _run(
        args,
        settings,
        lambda admin: admin.create(args.target, values, overwrite=args.overwrite, mint=args.mint),
        lambda handle: f"created {handle}",
    )


async def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    return await _run(
        args, settings, lambda admin: admin.delete(args.target), lambda _: f"deleted {args.target}"
    )


async def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    values = [parse_value_spec(spec) for spec in args.value]
    return await _run(
        args,
        settings,
        lambda admin: admin.add_values(args.target, values, overwrite=args.overwrite),
        lambda _: f"added {len(values)} value(s) to {args.target}",
    )


async def cmd_modify(args: argparse.Namespace, settings: Settings) -> int:
    values = [parse_value_spec(spec) for spec in args.value]
    return await _run(
        args,
        settings,
        lambda admin: admin.modify_values(args.target, values),
        lambda _: f"modified {len(values)} value(s) of {args.target}",
    )


async def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    return await _run(
        args,
        settings,
        lambda admin: admin.remove_values(args.target, args.index),
        lambda _: f"removed index {', '.join(map(str, args.index))} from {args.target}",
    )


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    return await _run(args, settings, lambda admin: admin.list_handles(args.target), "\n".join)


def add_hdl_admin_commands(hdl_sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the administration commands under ``idnode hdl``."""

    def command(name: str, handler: Any, help_text: str, target: str) -> argparse.ArgumentParser:
        parser = add(hdl_sub, name, handler, help_text)
        parser.add_argument("target", metavar=target)
        parser.add_argument("--auth", required=True, help="identity, e.g. 300:88.118.8/ADMIN")
        parser.add_argument("--secret", help=f"its secret (or set {SECRET_VARIABLE})")
        parser.add_argument("--key", help="or its RSA/DSA private key, PEM, unencrypted")
        parser.add_argument("--udp", action="store_true", help="over UDP (default TCP)")
        parser.add_argument("--host", help="server address (default IDNODE_HANDLE_HOST)")
        parser.add_argument("--port", type=int, help="server port (default 2641)")
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds per answer")
        return parser

    def values(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--value", action="append", required=True, help="INDEX:TYPE:DATA (repeatable)"
        )

    create = command("create", cmd_create, "register a handle over the native protocol", "HANDLE")
    values(create)
    create.add_argument("--overwrite", action="store_true", help="replace it if it exists")
    create.add_argument(
        "--mint", action="store_true", help="HANDLE is prefix/stem: the node adds a unique suffix"
    )
    command("delete", cmd_delete, "delete a handle over the native protocol", "HANDLE")
    add_values = command("add", cmd_add, "add values to a handle", "HANDLE")
    values(add_values)
    add_values.add_argument(
        "--overwrite", action="store_true", help="replace values at those indexes"
    )
    values(command("modify", cmd_modify, "replace values of a handle", "HANDLE"))
    remove = command("remove", cmd_remove, "remove values from a handle", "HANDLE")
    remove.add_argument(
        "--index", type=int, action="append", required=True, help="index to remove (repeatable)"
    )
    command("list", cmd_list, "list the handles under a prefix", "PREFIX")
