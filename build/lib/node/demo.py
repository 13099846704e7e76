"""The demo enterprise and identifiers that ``make run`` starts with."""

from __future__ import annotations

from typing import Any

from registry import ADMIN, Handle, HandleValue

from .context import NodeContext
from .trust.identity import ensure_key

__all__ = ["DEMO_PASSWORD", "DEMO_PREFIX", "seed_demo"]

DEMO_PREFIX = "88.118.8"
# Printed in the README so its examples work as shown; never use the demo outside a laptop.
DEMO_PASSWORD = "demo-password"
DEMO_RECORDS = {
    "JXDY2106023": [
        HandleValue(1, "URL", "string", "https://example.com/products/JXDY2106023"),
        HandleValue(2, "EMAIL", "string", "quality@example.com"),
        HandleValue(3, "DESC", "string", "Motor controller, batch 2106, line 3"),
    ],
    "JXDY2106024": [
        HandleValue(
            2, "DESC", "string", "Motor controller, batch 2106, line 4 (no URL: shows a page)"
        ),
    ],
}


async def seed_demo(context: NodeContext) -> dict[str, Any]:
    """Create the demo enterprise and identifiers unless they exist; return what to print.

    The node's signing key is created first when it has none, so the demo records are signed.
    """
    if context.settings.sign_records:
        ensure_key(context.settings)
    if await context.enterprises.holder_of(DEMO_PREFIX) is None:
        await context.enterprises.create("Demo Enterprise", DEMO_PREFIX, password=DEMO_PASSWORD)
    handles = []
    for suffix, values in DEMO_RECORDS.items():
        handle = Handle.parse(f"{DEMO_PREFIX}/{suffix}")
        if await context.records.get(handle) is None:
            await context.records.put(ADMIN, handle, values, overwrite=False)
        handles.append(str(handle))
    username = f"300:{DEMO_PREFIX}/ADMIN"
    text = "\n".join(
        [
            f"demo enterprise prefix: {DEMO_PREFIX}",
            f"demo credential:        {username} / {DEMO_PASSWORD}",
            *(f"demo identifier:        {handle}" for handle in handles),
        ]
    )
    return {
        "prefix": DEMO_PREFIX,
        "username": username,
        "password": DEMO_PASSWORD,
        "handles": handles,
        "text": text,
    }
