"""The demo enterprise and identifiers that ``make run`` starts with."""

from __future__ import annotations

from typing import Any

from registry import ADMIN, Handle, HandleValue, Prefix, Template

from .context import NodeContext
from .trust.identity import ensure_key

__all__ = ["DEMO_PASSWORD", "DEMO_PREFIX", "DEMO_TEMPLATE", "seed_demo"]

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


# The demo's product template: typed items (examples/products.csv is a file of it).
DEMO_TEMPLATE: dict[str, Any] = {
    "prefix": DEMO_PREFIX,
    "version": "products-1.0",
    "description": "产品 (demo product template)",
    "industryCategory": "C",
    "type": 1,
    "items": [
        {
            "name": "产品名称",
            "idType": "productName",
            "idIndex": 2000,
            "required": True,
            "metadata": {"type": "string", "minLength": 1, "maxLength": 100},
        },
        {
            "name": "型号",
            "idType": "model",
            "idIndex": 2001,
            "required": True,
            "metadata": {"type": "string", "maxLength": 32, "pattern": "^[A-Z0-9-]+$"},
        },
        {
            "name": "生产日期",
            "idType": "productionDate",
            "idIndex": 2002,
            "required": True,
            "metadata": {"type": "date"},
        },
        {
            "name": "重量(kg)",
            "idType": "weightKg",
            "idIndex": 2003,
            "metadata": {"type": "number", "minimum": 0, "maximum": 1000},
        },
        {
            "name": "数量",
            "idType": "quantity",
            "idIndex": 2004,
            "metadata": {"type": "integer", "minimum": 1, "maximum": 100000},
        },
        {
            "name": "等级",
            "idType": "grade",
            "idIndex": 2005,
            "metadata": {"type": "enum", "enum": ["A", "B", "C"]},
        },
        {
            "name": "说明书",
            "idType": "manual",
            "idIndex": 2006,
            "metadata": {"type": "url", "maxLength": 500},
        },
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
    template = Template.parse(DEMO_TEMPLATE)
    if await context.templates.load(Prefix.parse(DEMO_PREFIX), template.version) is None:
        await context.templates.create(ADMIN, DEMO_TEMPLATE)
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
            f"demo template:          {template.version} (examples/products.csv)",
        ]
    )
    return {
        "prefix": DEMO_PREFIX,
        "username": username,
        "password": DEMO_PASSWORD,
        "handles": handles,
        "text": text,
    }
