"""``idnode hdl …``: the native Handle protocol from the command line, built on ``client``."""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from registry import Unavailable
from registry.codec import native

from ..settings import Settings
from .client import HandleClient, HandleError

__all__ = ["add_hdl_commands"]

DEFAULT_PORT = 2641
SHOWN_CHARACTERS = 100
# What ``exchange`` returns when the server answered with an error code (already printed).
REFUSED: Any = object()

T = TypeVar("T")


def _value_json(value: native.WireValue) -> dict[str, Any]:
    """A value as Handle REST shows it; data that is not UTF-8 (HS_SITE, keys) in base64."""
    try:
        kind = value.type.decode()
    except UnicodeDecodeError:
        kind = base64.b64encode(value.type).decode()
    try:
        data = {"format": "string", "value": value.data.decode()}
    except UnicodeDecodeError:
        data = {"format": "base64", "value": base64.b64encode(value.data).decode()}
    bits = value.permissions
    return {
        "index": value.index,
        "type": kind,
        "data": data,
        "ttl": value.ttl,
        "timestamp": value.timestamp,
        "permissions": "".join("1" if bits & mask else "0" for mask in (8, 4, 2, 1)),
    }


def _address(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    host = args.host or settings.handle_host
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return host, args.port or settings.handle_port or DEFAULT_PORT


async def exchange(
    args: argparse.Namespace,
    settings: Settings,
    work: Callable[[HandleClient], Awaitable[T]],
    *,
    about: tuple[str, str],
) -> T:
    """``work`` with a client of the server ``args`` names, or ``REFUSED`` once its error answer
    is printed (``about``: the JSON key and value naming what was asked). A server that does not
    answer is ``Unavailable``, naming it."""
    host, port = _address(args, settings)
    try:
        async with HandleClient(host, port, udp=args.udp, timeout=args.timeout) as client:
            return await work(client)
    except HandleError as exc:
        key, target = about
        if args.json:
            print(json.dumps({key: target, "responseCode": exc.code, "message": exc.message}))
        else:
            print(f"{target}: {exc}")
        return REFUSED
    except (OSError, TimeoutError) as exc:
        transport = "udp" if args.udp else "tcp"
        raise Unavailable(
            f"no answer from {host}:{port} over {transport}: {exc or type(exc).__name__}"
        ) from None  # the server named, not the database (the CLI reads an OSError cause as that)


async def cmd_hdl_resolve(args: argparse.Namespace, settings: Settings) -> int:
    host, port = _address(args, settings)
    transport = "udp" if args.udp else "tcp"
    resolution = await exchange(
        args,
        settings,
        lambda client: client.resolve(args.handle, indexes=args.index or (), types=args.type or ()),
        about=("handle", args.handle),
    )
    if resolution is REFUSED:
        return 1
    values = [_value_json(v) for v in resolution.values]
    if args.json:
        print(
            json.dumps(
                {"handle": args.handle, "responseCode": 1, "values": values}, ensure_ascii=False
            )
        )
        return 0
    print(f"{args.handle}: {len(values)} value(s) from {host}:{port} over {transport}")
    for item in values:
        data = item["data"]["value"]
        shown = data if item["data"]["format"] == "string" else f"base64:{data}"
        if len(shown) > SHOWN_CHARACTERS:
            # Signatures and sites run long; --json prints them whole.
            shown = shown[: SHOWN_CHARACTERS - 1] + "…"
        print(f"  {item['index']:>5}  {item['type']:<12} {shown}")
    return 0


def add_hdl_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> Any:
    """Register ``idnode hdl`` and its ``resolve`` command; returns the ``hdl`` subparsers."""
    hdl = sub.add_parser("hdl", help="speak the native Handle protocol (TCP/UDP 2641) to a node")
    hdl_sub = hdl.add_subparsers(dest="action", required=True)
    resolve = add(hdl_sub, "resolve", cmd_hdl_resolve, "resolve a handle over the native protocol")
    resolve.add_argument("handle")
    resolve.add_argument("--udp", action="store_true", help="over UDP (default TCP)")
    resolve.add_argument("--host", help="server address (default IDNODE_HANDLE_HOST)")
    resolve.add_argument("--port", type=int, help="server port (default IDNODE_HANDLE_PORT, 2641)")
    resolve.add_argument("--index", type=int, action="append", help="only this index (repeatable)")
    resolve.add_argument(
        "--type", action="append", help="only this type (repeatable; 'X.' for X.*)"
    )
    resolve.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer")
    return hdl_sub
