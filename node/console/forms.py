"""A record's values as the console's forms show them, and the values a submitted form means.

A form has one field per item of the record's template (``item-<idIndex>``) and rows of plain
values (``row-<n>-index``, ``-type``, ``-value``) for the record's other string values. Values the
console does not edit (admin, signatures, binary data, the node's TEMPLATE marker) are kept as
they are. Every rule is checked again by the record service; this module only reads the form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from registry import HandleValue, InvalidValue, Template, parse_values

__all__ = [
    "BLANK_ROWS",
    "MAX_ROWS",
    "TEMPLATE_INDEX",
    "FieldView",
    "RecordForm",
    "editable",
    "form_of",
    "read_form",
    "values_from",
]

TEMPLATE_INDEX = 1001
BLANK_ROWS = 2
MAX_ROWS = 200
_INPUT_TYPES = {"number": "number", "integer": "number", "date": "date", "url": "url"}


def editable(value: HandleValue, template: Template | None) -> bool:
    """Whether the console edits ``value`` (string data the node does not manage)."""
    if value.format != "string" or value.index == TEMPLATE_INDEX or value.type.startswith("HS_"):
        return False
    return template is None or template.item_at(value.index) is None


@dataclass(frozen=True, slots=True)
class FieldView:
    """One template item as a form field: what the template asks, what the form holds."""

    name: str
    index: int
    id_type: str
    required: bool
    kind: str
    input_type: str
    value: str
    min_length: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()

    @property
    def field(self) -> str:
        return f"item-{self.index}"


@dataclass(slots=True)
class RecordForm:
    """What a record form shows: template fields, plain rows, and the values kept as they are."""

    fields: list[FieldView]
    rows: list[tuple[str, str, str]]
    kept: list[HandleValue] = field(default_factory=list)


def _field_view(template: Template, index: int, value: str) -> FieldView | None:
    item = template.item_at(index)
    if item is None or not item.enabled:
        return None
    rules = item.rules
    text = rules.type in ("string", "url")
    return FieldView(
        name=item.name,
        index=item.id_index,
        id_type=item.id_type,
        required=item.required,
        kind=rules.type,
        input_type=_INPUT_TYPES.get(rules.type, "text"),
        value=value,
        min_length=rules.min_length if text and rules.min_length else None,
        max_length=rules.max_length if text else None,
        minimum=rules.minimum,
        maximum=rules.maximum,
        pattern=rules.pattern,
        choices=tuple(rules.choices),
    )


def form_of(values: Sequence[HandleValue], template: Template | None) -> RecordForm:
    """The form of a stored record (no values: a new record's empty form)."""
    by_index = {v.index: v for v in values}
    fields: list[FieldView] = []
    if template is not None:
        for item in template.items:
            current = by_index.get(item.id_index)
            shown = str(current.value) if current is not None else ""
            view = _field_view(template, item.id_index, shown)
            if view is not None:
                fields.append(view)
    rows = [(str(v.index), v.type, str(v.value)) for v in values if editable(v, template)]
    kept = [
        v
        for v in values
        if not editable(v, template)
        and v.index != TEMPLATE_INDEX
        and (template is None or template.item_at(v.index) is None)
    ]
    rows += [("", "", "")] * BLANK_ROWS
    return RecordForm(fields, rows, kept)


def _rows(form: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    rows = []
    for n in range(MAX_ROWS):
        index = form.get(f"row-{n}-index")
        if index is None:
            break
        rows.append(
            (
                str(index).strip(),
                str(form.get(f"row-{n}-type", "")).strip(),
                str(form.get(f"row-{n}-value", "")),
            )
        )
    return rows


def read_form(
    form: Mapping[str, Any], template: Template | None, kept: Sequence[HandleValue] = ()
) -> RecordForm:
    """The form as submitted: its template fields and rows, with ``kept`` carried over."""
    fields: list[FieldView] = []
    if template is not None:
        for item in template.items:
            text = str(form.get(f"item-{item.id_index}", "")).strip()
            view = _field_view(template, item.id_index, text)
            if view is not None:
                fields.append(view)
    rows = [row for row in _rows(form) if any(row)]
    return RecordForm(fields, [*rows, *[("", "", "")] * BLANK_ROWS], list(kept))


def values_from(submitted: RecordForm) -> list[HandleValue]:
    """The values a submitted form asks for: its filled fields and rows, and the kept values.

    ``InvalidValue`` names a row that is not a value (a bad index, an empty type, a clash).
    """
    items: list[dict[str, Any]] = [
        {"index": view.index, "type": view.id_type, "data": view.value}
        for view in submitted.fields
        if view.value
    ]
    for position, (index, kind, value) in enumerate(submitted.rows, start=1):
        if not index and not kind and not value:
            continue
        if not index or not kind:
            raise InvalidValue(f"row {position}: a value needs an index and a type")
        items.append({"index": index, "type": kind, "data": value})
    values = list(parse_values(items, allow_empty=True)) if items else []
    taken = {v.index for v in values}
    clash = sorted(v.index for v in submitted.kept if v.index in taken)
    if clash:
        raise InvalidValue(f"index {clash} is taken by a value the console does not edit")
    return sorted([*values, *submitted.kept], key=lambda v: v.index)
