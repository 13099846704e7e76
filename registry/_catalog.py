"""An enterprise's identifiers: searched a page at a time, and exported as table rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from ._grammar import Prefix
from ._principal import Principal
from ._templates import FIRST_ITEM_INDEX, TEMPLATE_INDEX, Template
from ._values import decode_values, utc_timestamp
from .storage.database import Database
from .storage.search import RecordFilter, RecordSearch

__all__ = ["MAX_PAGE", "RecordCatalog", "RecordFilter"]

MAX_PAGE = 1000
_EXPORT_PAGE = 1000


class RecordCatalog:
    """Search and export of the records of a prefix the caller holds."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def search(
        self, principal: Principal, where: RecordFilter, after: str | None, limit: int
    ) -> dict[str, Any]:
        """A page: ``{"items": [...], "next": <handle to pass as after, or None>}``."""
        principal.require_owner(Prefix.parse(where.prefix))
        limit = max(1, min(limit, MAX_PAGE))
        async with self.db.read() as session:
            rows = await RecordSearch(session).page(where, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return {
            "items": [
                {
                    "handle": row.handle,
                    "templateVersion": row.template_version or "",
                    "createdAt": _iso(row.created_at),
                    "updatedAt": _iso(row.updated_at),
                }
                for row in rows
            ],
            "next": rows[-1].handle if more and rows else None,
        }

    async def export(
        self, principal: Principal, where: RecordFilter, template: Template | None
    ) -> AsyncIterator[list[str]]:
        """Table rows, header first: ``suffix``, the template's item names (or ``values`` as
        ``index:type=value`` lines without one), ``templateVersion``, ``createdAt``.

        A template's export reads back as an import of the same template.
        """
        principal.require_owner(Prefix.parse(where.prefix))
        items = [item for item in template.items if item.enabled] if template else []
        names = [item.name for item in items] if template else ["values"]
        yield ["suffix", *names, "templateVersion", "createdAt"]
        after: str | None = None
        while True:
            async with self.db.read() as session:
                rows = await RecordSearch(session).page(where, after, _EXPORT_PAGE)
            for row in rows:
                values = decode_values(row.values)
                if template is not None:
                    by_index = {v.index: v.value for v in values if v.index >= FIRST_ITEM_INDEX}
                    cells = [str(by_index.get(item.id_index, "")) for item in items]
                else:
                    cells = [
                        "\n".join(
                            f"{v.index}:{v.type}={v.value}"
                            for v in values
                            if v.index != TEMPLATE_INDEX and v.format == "string"
                        )
                    ]
                suffix = row.handle.split("/", 1)[1]
                yield [suffix, *cells, row.template_version or "", _iso(row.created_at)]
            if len(rows) < _EXPORT_PAGE:
                return
            after = rows[-1].handle


def _iso(moment: datetime) -> str:
    return utc_timestamp(moment)
