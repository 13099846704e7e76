"""A template as the console's form editor shows it, and the SNMS template a submitted form means.

One row of fields per item (``item-<n>-name``, ``-idType``, ``-idIndex``, ``-kind``,
``-required``, ``-minLength``, ``-maxLength``, ``-pattern``, ``-minimum``, ``-maximum``,
``-enum`` one value a line). Only the constraints of the row's kind are sent. The body goes to
the template service, which checks every rule; ``field_of`` reads which field its message names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from registry import Template

__all__ = [
    "KINDS",
    "ItemRow",
    "TemplateForm",
    "blank_form",
    "body_of",
    "field_of",
    "form_of_template",
    "read_template_form",
]

KINDS = ("string", "number", "integer", "date", "enum", "url")
_MAX_ROWS = 500
FIRST_ITEM_INDEX = 2000  # template items start here (registry._templates)
_TEXT_KINDS = ("string", "url")
_NUMBER_KINDS = ("number", "integer")
_ITEM_PROBLEM = re.compile(r"^template item #(\d+): (?:metadata\.)?(\w+)")
_FIELDS = {
    "name": "name",
    "idType": "idType",
    "idIndex": "idIndex",
    "required": "required",
    "type": "kind",
    "metadata": "kind",
    "minLength": "minLength",
    "maxLength": "maxLength",
    "pattern": "pattern",
    "minimum": "minimum",
    "maximum": "maximum",
    "enum": "enum",
}


@dataclass(frozen=True, slots=True)
class ItemRow:
    """One item of the form, as text (what the user typed is shown back as typed)."""

    name: str = ""
    id_type: str = ""
    id_index: str = ""
    kind: str = "string"
    required: bool = False
    min_length: str = ""
    max_length: str = ""
    pattern: str = ""
    minimum: str = ""
    maximum: str = ""
    enum: str = ""


@dataclass(frozen=True, slots=True)
class TemplateForm:
    """The form: the template's version and description and its item rows."""

    version: str
    description: str
    rows: tuple[ItemRow, ...]

    def added(self) -> TemplateForm:
        """The form with one more empty row, its index after the highest one."""
        taken = [int(row.id_index) for row in self.rows if row.id_index.isdigit()]
        index = max([FIRST_ITEM_INDEX - 1, *taken]) + 1
        return replace(self, rows=(*self.rows, ItemRow(id_index=str(index))))

    def removed(self, position: int) -> TemplateForm:
        """The form without row ``position`` (0-based); an empty form keeps one blank row."""
        rows = tuple(row for n, row in enumerate(self.rows) if n != position)
        return replace(self, rows=rows or (ItemRow(id_index=str(FIRST_ITEM_INDEX)),))


def blank_form() -> TemplateForm:
    return TemplateForm("", "", (ItemRow(id_index=str(FIRST_ITEM_INDEX)),))


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def form_of_template(template: Template) -> TemplateForm:
    """The form of a stored template (its constraints as the SNMS API shows them)."""
    rows = []
    for item in template.items:
        rules = item.rules.to_json()
        text = rules["type"] in _TEXT_KINDS
        rows.append(
            ItemRow(
                name=item.name,
                id_type=item.id_type,
                id_index=str(item.id_index),
                kind=rules["type"],
                required=item.required,
                min_length=_shown(rules.get("minLength")) if text else "",
                max_length=_shown(rules.get("maxLength")) if text else "",
                pattern=_shown(rules.get("pattern")),
                minimum=_shown(rules.get("minimum")),
                maximum=_shown(rules.get("maximum")),
                enum="\n".join(rules.get("enum", ())),
            )
        )
    return TemplateForm(template.version, template.description, tuple(rows))


def read_template_form(form: Mapping[str, Any]) -> TemplateForm:
    """The form as submitted, every value kept as typed."""
    rows = []
    for n in range(_MAX_ROWS):
        if f"item-{n}-name" not in form:
            break

        def text(name: str, n: int = n) -> str:
            return str(form.get(f"item-{n}-{name}", "")).strip()

        rows.append(
            ItemRow(
                name=text("name"),
                id_type=text("idType"),
                id_index=text("idIndex"),
                kind=text("kind") or "string",
                required=bool(form.get(f"item-{n}-required")),
                min_length=text("minLength"),
                max_length=text("maxLength"),
                pattern=text("pattern"),
                minimum=text("minimum"),
                maximum=text("maximum"),
                enum=text("enum").replace("\r\n", "\n"),
            )
        )
    version = str(form.get("version", "")).strip()
    description = str(form.get("description", "")).strip()
    return TemplateForm(version, description, tuple(rows))


def _number(text: str) -> Any:
    """A typed number as JSON has it; anything else as typed (the service names the problem)."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _metadata(row: ItemRow) -> dict[str, Any]:
    metadata: dict[str, Any] = {"type": row.kind}
    if row.kind in _TEXT_KINDS:
        for key, value in (("minLength", row.min_length), ("maxLength", row.max_length)):
            if value:
                metadata[key] = _number(value)
        if row.pattern:
            metadata["pattern"] = row.pattern
    if row.kind in _NUMBER_KINDS:
        for key, value in (("minimum", row.minimum), ("maximum", row.maximum)):
            if value:
                metadata[key] = _number(value)
    if row.kind == "enum":
        metadata["enum"] = [line.strip() for line in row.enum.splitlines() if line.strip()]
    return metadata


def body_of(form: TemplateForm, prefix: str, kept: Template | None = None) -> dict[str, Any]:
    """The SNMS template body the form asks for; changing ``kept`` (the stored template), what
    the form does not show stays as stored: the industry codes, the template's type and the
    state of each item it keeps (a disabled item is not enabled by saving the form)."""
    body: dict[str, Any] = {
        "prefix": prefix,
        "version": form.version,
        "type": 1,
        "items": [
            {
                "name": row.name,
                "idType": row.id_type,
                "idIndex": _number(row.id_index) if row.id_index else None,
                "required": row.required,
                "metadata": _metadata(row),
            }
            for row in form.rows
        ],
    }
    if form.description:
        body["description"] = form.description
    if kept is None:
        return body
    states = {item.id_index: item.state for item in kept.items}
    for item in body["items"]:
        if item["idIndex"] in states:
            item["state"] = states[item["idIndex"]]
    return {**kept.to_json(), **body, "type": kept.type, "description": form.description}


def field_of(message: str) -> str | None:
    """The form field a template service message names (``item-<n>-<field>``, ``version``)."""
    found = _ITEM_PROBLEM.match(message)
    if found is not None:
        name = _FIELDS.get(found.group(2))
        return f"item-{int(found.group(1)) - 1}-{name}" if name else None
    if message.startswith("template version") or (
        message.startswith("template ") and "exists already" in message
    ):
        return "version"
    if "'description'" in message:
        return "description"
    return None
