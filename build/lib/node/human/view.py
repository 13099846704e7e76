"""What the record page shows, worked out once per cached record (no I/O here).

A record's values become labelled fields: a template item's name where the record was
registered with a template (``产品名称`` rather than ``2000``), a translated name for the usual
types, the type itself otherwise. Signatures, certificates, keys and administrative values are
set apart as technical values, which the page folds away.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from registry import HandleValue, Record, Template
from registry.trust import Verdict

from ..web import N_
from .links import is_web_url, redirect_target

__all__ = ["TEMPLATE_INDEX", "Field", "RecordView", "build_view", "template_version"]

TEMPLATE_INDEX = 1001
# Types shown with a name of ours (translated); any other type is shown as it is spelled.
_TYPE_LABELS = {
    "URL": N_("Web address"),
    "EMAIL": N_("Email"),
    "DESC": N_("Description"),
    "DESCRIPTION": N_("Description"),
    "NAME": N_("Name"),
    "HS_SIGNATURE": N_("Signature"),
    "HS_CERT": N_("Certificate"),
    "HS_ADMIN": N_("Administrator"),
    "HS_VLIST": N_("Administrator group"),
    "HS_PUBKEY": N_("Public key"),
    "HS_SITE": N_("Service site"),
    "HS_SERV": N_("Service handle"),
    "TEMPLATE": N_("Template version"),
}
# Values for machines rather than people, folded away on the page.
_TECHNICAL_TYPES = frozenset(
    {"HS_SIGNATURE", "HS_CERT", "HS_ADMIN", "HS_VLIST", "HS_PUBKEY", "HS_SECKEY", "HS_SITE",
     "HS_SITE.PREFIX", "HS_SERV", "HS_NA_DELEGATE", "HS_ALIAS", "TEMPLATE"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Field:
    """One value as a labelled line: ``label`` is a message id when ``translated``."""

    label: str
    translated: bool
    text: str
    link: str | None
    index: int
    type: str
    timestamp: str | None


@dataclass(frozen=True, slots=True)
class RecordView:
    """The record page's content: fields, technical values, template and signature verdict."""

    handle: str
    fields: tuple[Field, ...]
    technical: tuple[Field, ...]
    template: str | None
    updated: str | None
    # True: the signatures chain to the national root; False: they do not; None: not checked.
    trusted: bool | None
    signers: tuple[str, ...] = ()
    # Where a scan of it is sent (its first public web URL), if anywhere.
    redirect: str | None = None


def template_version(record: Record) -> str | None:
    """The template version a record was registered with (its ``TEMPLATE`` value at 1001)."""
    for value in record.values:
        if value.index == TEMPLATE_INDEX and value.type == "TEMPLATE":
            return value.value if isinstance(value.value, str) else None
    return None


def _text(value: HandleValue) -> str:
    if isinstance(value.value, str):
        return value.value
    return json.dumps(value.value, ensure_ascii=False, indent=1, sort_keys=True)


def _field(value: HandleValue, names: dict[int, str]) -> Field:
    label, translated = names.get(value.index), False
    if label is None:
        known = _TYPE_LABELS.get(value.type.upper())
        label, translated = (known, True) if known else (value.type, False)
    text = _text(value)
    link = text if value.format == "string" and is_web_url(text) else None
    return Field(label, translated, text, link, value.index, value.type, value.timestamp)


def _technical(value: HandleValue) -> bool:
    return value.type.upper() in _TECHNICAL_TYPES or value.format not in ("string", "hex")


def build_view(record: Record, template: Template | None, verdict: Verdict | None) -> RecordView:
    """``record``'s (public) values laid out for people, labelled by ``template``'s items."""
    names = {item.id_index: item.name for item in template.items} if template else {}
    fields, technical = [], []
    for value in record.values:
        (technical if _technical(value) else fields).append(_field(value, names))
    stamps = [v.timestamp for v in record.values if v.timestamp]
    return RecordView(
        handle=str(record.handle),
        fields=tuple(fields),
        technical=tuple(technical),
        template=template_version(record),
        updated=max(stamps) if stamps else None,
        trusted=None if verdict is None else verdict.trusted,
        signers=() if verdict is None else verdict.signers,
        redirect=redirect_target(record),
    )
