"""The record page's content for a resolution, worked out once and kept with the cached entry."""

from __future__ import annotations

from registry import NodeError, Record, Template
from resolver import Entry, Resolution

from ..context import NodeContext
from .trust import RootCertificate, verify_for_page
from .view import RecordView, build_view, template_version

__all__ = ["kept_view", "record_view"]

_NOTE = "human.view"


async def _template(context: NodeContext, record: Record) -> Template | None:
    version = template_version(record)
    if version is None:
        return None
    try:
        return await context.templates.load(record.handle.prefix, version)
    except NodeError:
        return None  # labels fall back to the types; the page still shows


def kept_view(entry: Entry) -> RecordView | None:
    """The view kept with a cache entry by an earlier page view, if any."""
    kept = entry.note(_NOTE)
    return kept if isinstance(kept, RecordView) else None


async def record_view(
    context: NodeContext, root: RootCertificate, resolution: Resolution, record: Record
) -> RecordView:
    """The view of ``record`` (the public record of ``resolution``), from the entry if kept.

    Template labels and the signature verdict cost reads and a chain check: done on the first
    page view of an entry, then kept until the record changes or its entry expires.
    """
    kept = kept_view(resolution.entry)
    if kept is not None:
        return kept
    template = await _template(context, record)
    verdict = await verify_for_page(
        record, await root.get(), context.resolver, context.settings.trust_max_chain
    )
    view = build_view(record, template, verdict)
    if not resolution.stale:
        resolution.entry.keep_note(_NOTE, view)
    return view
