"""``idnode admin quota show|set``: an enterprise's quotas and what it uses of them."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .context import NodeContext
    from .settings import Settings

__all__ = ["add_quota_commands"]

# Option → quota name; the names are ``registry.QUOTA_KINDS`` (not imported: ``--help`` stays
# free of the registry's storage layer).
OPTIONS = {
    "--daily-resolutions": "daily_resolutions",
    "--daily-registrations": "daily_registrations",
    "--identifiers": "identifiers",
    "--prefixes": "prefixes",
}


def _limit(text: str) -> int | None:
    if text.lower() in {"none", "unlimited"}:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number ≥ 0 or 'none'")
    return value


def _text(result: dict[str, Any]) -> str:
    lines = [f"enterprise {result['enterprise']}"]
    for name, limit in result["quotas"].items():
        shown = "no limit" if limit is None else str(limit)
        lines.append(f"  {name:<20} {result['usage'][name]:>10} used of {shown}")
    return "\n".join(lines)


async def _answer(context: NodeContext, enterprise: int) -> dict[str, Any]:
    quota = await context.quotas.get(enterprise)
    return {
        "enterprise": enterprise,
        "quotas": quota.as_dict(),
        "usage": await context.quotas.usage(enterprise),
    }


async def _run(args: argparse.Namespace, settings: Settings, changes: dict[str, Any]) -> None:
    from registry import Actor, acting_as

    from .context import NodeContext

    # The operator running the command set the quotas (the audit log's who), as in cli.py.
    with acting_as(Actor.operator()):
        async with NodeContext(settings) as context:
            if changes:
                await context.quotas.set(args.enterprise, changes)
            result = await _answer(context, args.enterprise)
    print(json.dumps(result) if args.json else _text(result))


async def cmd_quota_show(args: argparse.Namespace, settings: Settings) -> None:
    await _run(args, settings, {})


async def cmd_quota_set(args: argparse.Namespace, settings: Settings) -> None:
    changes = {name: getattr(args, name) for name in OPTIONS.values() if hasattr(args, name)}
    await _run(args, settings, changes)


def add_quota_commands(admin_sub: Any, add: Any) -> None:
    """``admin quota show`` and ``admin quota set`` under ``idnode admin``."""
    quota = admin_sub.add_parser("quota", help="per-enterprise quotas").add_subparsers(
        dest="action", required=True
    )
    show = add(quota, "show", cmd_quota_show, "show an enterprise's quotas and their use today")
    show.add_argument("--enterprise", type=int, required=True)
    change = add(
        quota,
        "set",
        cmd_quota_set,
        "set an enterprise's quotas (options left out stay as they are; 'none' removes one)",
    )
    change.add_argument("--enterprise", type=int, required=True)
    for option, name in OPTIONS.items():
        change.add_argument(
            option,
            dest=name,
            type=_limit,
            default=argparse.SUPPRESS,
            metavar="N|none",
            help=f"{name.replace('_', ' ')} allowed",
        )
