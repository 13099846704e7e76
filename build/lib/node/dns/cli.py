"""The ``idnode dns name`` and ``idnode dns handle`` commands: the mapping, both ways."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import dns.name

from registry import Handle, InvalidIdentifier
from registry.codec import handle_from_name, handle_to_name

from ..settings import Settings

__all__ = ["add_dns_commands"]


def _zone(settings: Settings) -> dns.name.Name:
    try:
        return dns.name.from_text(settings.dns_zone)
    except dns.exception.DNSException as exc:
        raise InvalidIdentifier(f"IDNODE_DNS_ZONE {settings.dns_zone!r}: {exc}") from None


def cmd_dns_name(args: argparse.Namespace, settings: Settings) -> None:
    handle = Handle.parse(args.handle)
    name = handle_to_name(handle, _zone(settings)).to_text()
    _emit(args, {"handle": str(handle), "name": name}, name)


def cmd_dns_handle(args: argparse.Namespace, settings: Settings) -> None:
    handle = str(handle_from_name(args.name, _zone(settings)))
    _emit(args, {"name": args.name, "handle": handle}, handle)


def _emit(args: argparse.Namespace, result: Any, text: str) -> None:
    import json

    print(json.dumps(result, ensure_ascii=False) if args.json else text)


def add_dns_commands(sub: Any, add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``idnode dns name|handle`` on the ``idnode`` parser."""
    dns_parser = sub.add_parser("dns", help="identifiers as DNS names under IDNODE_DNS_ZONE")
    dns_sub = dns_parser.add_subparsers(dest="action", required=True)
    name = add(dns_sub, "name", cmd_dns_name, "print the DNS owner name of a handle")
    name.add_argument("handle", help="e.g. 88.118.8/JXDY2106023")
    handle = add(dns_sub, "handle", cmd_dns_handle, "print the handle a DNS owner name names")
    handle.add_argument("name", help="e.g. 99c48m9i64o3cc1i6c._1.8.118.88.idis.internal.")
