"""Metadata templates: what a prefix's records of one template version must carry.

A template names items ``{name, idType, idIndex, required, state, metadata}``; a record registered
with that template version holds each enabled item at its ``idIndex`` with its ``idType``, every
required one present, strings within their lengths. Index 1001 is the node's: it writes a
``TEMPLATE`` value there naming the version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError

from ._audit import audit
from ._errors import AlreadyExists, Conflict, EntityNotFound, InvalidInput, InvalidValue
from ._grammar import Prefix
from ._principal import Principal
from ._schema import ItemRules, SchemaProblem, Validator, compile_schema, parse_rules
from ._text import control_character
from ._values import MAX_INDEX, MAX_TYPE_LENGTH, HandleValue
from .storage.database import Database
from .storage.snms import Templates

__all__ = [
    "FIRST_ITEM_INDEX",
    "TEMPLATE_INDEX",
    "Template",
    "TemplateItem",
    "TemplateService",
    "apply_template",
    "check_reserved",
    "check_version",
    "reapply_template",
    "stored_template",
]

TEMPLATE_INDEX = 1001
TEMPLATE_TYPE = "TEMPLATE"
FIRST_ITEM_INDEX = 2000
# Indexes from here up belong to templates: 1001 to the node, items from 2000.
_TEMPLATE_RANGE = 1000
MAX_VERSION_LENGTH = 64
MAX_TEXT_LENGTH = 1000
MAX_CODE_LENGTH = 32
MAX_ITEMS = 500
TEMPLATE_TYPES = (1, 2)  # 1 active carrier, 2 other
ITEM_STATES = (0, 1)  # 0 disabled, 1 enabled
_GOOD_VERSIONS: set[str] = set()
# Templates parsed from their stored text (``_decode``), at most ``_DECODED_MAX``.
_DECODED: dict[str, Template] = {}
_DECODED_MAX = 256
INDUSTRY_FIELDS = ("industryCategory", "industrySpecific", "industryTrade", "industrySubclass")


def _text(body: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    raw = body.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidInput(f"template field {name!r} is required")
        return ""
    if not isinstance(raw, str) or len(raw) > limit or not raw.isprintable():
        raise InvalidInput(
            f"template field {name!r} must be printable text of at most {limit} characters"
        )
    return raw


def _integer(raw: Any, where: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise InvalidInput(f"{where} must be an integer from {low} to {high}, got {raw!r}")
    return raw


def check_version(raw: Any) -> str:
    """A template version: 1-64 printable characters without spaces."""
    # A batch names the same version thousands of times.
    if isinstance(raw, str) and raw in _GOOD_VERSIONS:
        return raw
    if (
        not isinstance(raw, str)
        or not 1 <= len(raw) <= MAX_VERSION_LENGTH
        or not raw.isprintable()
        or any(ch.isspace() for ch in raw)
    ):
        raise InvalidInput(
            f"template version must be 1-{MAX_VERSION_LENGTH} printable characters without spaces,"
            f" got {raw!r}"
        )
    if len(_GOOD_VERSIONS) < 1024:
        _GOOD_VERSIONS.add(raw)
    return raw


@dataclass(frozen=True, slots=True)
class TemplateItem:
    """One attribute of a template: the value a record holds at ``id_index``."""

    name: str
    id_type: str
    id_index: int
    required: bool
    state: int
    rules: ItemRules = field(default_factory=ItemRules)

    @property
    def enabled(self) -> bool:
        return self.state == 1

    @property
    def min_length(self) -> int:
        return self.rules.min_length

    @property
    def max_length(self) -> int:
        return self.rules.max_length

    @classmethod
    def parse(cls, raw: Any, position: int) -> TemplateItem:
        """Validate one item of a template body."""
        where = f"template item #{position}"
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"{where} must be an object")
        name = raw.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_TYPE_LENGTH:
            raise InvalidInput(f"{where}: name must be 1-{MAX_TYPE_LENGTH} characters")
        control = control_character(name)
        if control is not None:
            raise InvalidInput(f"{where}: name contains the control character {control}")
        id_type = raw.get("idType")
        if (
            not isinstance(id_type, str)
            or not 1 <= len(id_type) <= MAX_TYPE_LENGTH
            or not id_type.isprintable()
        ):
            raise InvalidInput(f"{where}: idType must be 1-{MAX_TYPE_LENGTH} printable characters")
        id_index = _integer(raw.get("idIndex"), f"{where}: idIndex", FIRST_ITEM_INDEX, MAX_INDEX)
        required = raw.get("required", False)
        if not isinstance(required, bool):
            raise InvalidInput(f"{where}: required must be true or false")
        state = _integer(raw.get("state", 1), f"{where}: state (0 disabled, 1 enabled)", 0, 1)
        rules = parse_rules(raw.get("metadata"), where)
        return cls(name, id_type, id_index, required, state, rules)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "idType": self.id_type,
            "idIndex": self.id_index,
            "required": self.required,
            "state": self.state,
            "metadata": self.rules.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Template:
    """A metadata template of one prefix and version."""

    prefix: str
    version: str
    description: str
    industry: tuple[str, ...]  # industryCategory, industrySpecific, industryTrade, industrySubclass
    type: int
    items: tuple[TemplateItem, ...]
    # Compiled on first use and kept with the template (a batch checks thousands of records).
    _validator: list[Validator] = field(default_factory=list, compare=False, hash=False, repr=False)

    @classmethod
    def parse(cls, body: Any) -> Template:
        """Validate a template as the SNMS API sends it; every broken rule is named."""
        if not isinstance(body, Mapping):
            raise InvalidInput("the template must be a JSON object")
        prefix = str(Prefix.parse(body.get("prefix")))
        version = check_version(body.get("version"))
        description = _text(body, "description", MAX_TEXT_LENGTH)
        industry = tuple(_text(body, name, MAX_CODE_LENGTH) for name in INDUSTRY_FIELDS)
        kind = _integer(body.get("type", 1), "template type (1 active carrier, 2 other)", 1, 2)
        raw_items = body.get("items")
        if not isinstance(raw_items, list) or not 1 <= len(raw_items) <= MAX_ITEMS:
            raise InvalidInput(f"template items must be a list of 1 to {MAX_ITEMS} items")
        items = tuple(TemplateItem.parse(raw, n) for n, raw in enumerate(raw_items, start=1))
        for attribute, label in (("id_index", "idIndex"), ("id_type", "idType"), ("name", "name")):
            seen: set[Any] = set()
            for item in items:
                key = getattr(item, attribute)
                if key in seen:
                    raise InvalidInput(f"template items share the {label} {key!r}")
                seen.add(key)
        template = cls(prefix, version, description, industry, kind, items)
        template.validator()  # a pattern the schema library refuses is the template's fault
        return template

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema (draft 7) of a record's template items, keyed by ``idIndex``.

        Number items are numbers in it (their stored text is read as one before checking);
        every other item is a string. Titles carry the item names, for forms.
        """
        enabled = [item for item in self.items if item.enabled]
        return {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "title": f"template {self.version} of {self.prefix}",
            "type": "object",
            "properties": {
                str(item.id_index): {
                    "title": item.name,
                    "description": f"idType {item.id_type}, index {item.id_index}",
                    **item.rules.schema(),
                }
                for item in enabled
            },
            "required": [str(item.id_index) for item in enabled if item.required],
        }

    def validator(self) -> Validator:
        """This template's compiled schema (see ``json_schema``)."""
        if not self._validator:
            self._validator.append(compile_schema(self.json_schema()))
        return self._validator[0]

    def item_at(self, index: int) -> TemplateItem | None:
        """The item at ``index``, or None."""
        return next((item for item in self.items if item.id_index == index), None)

    def describe(self, problem: SchemaProblem) -> str:
        """A schema problem in words naming the item: "item 'weight' (index 2002) must be …"."""
        item = self.item_at(int(problem.key)) if problem.key.isdigit() else None
        if item is None:
            return f"breaks the template rule {problem.rule!r}"
        return f"item {item.name!r} (value index {item.id_index}) {item.rules.problem(problem.rule, problem.value)}"

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prefix": self.prefix,
            "version": self.version,
            "description": self.description,
        }
        body.update(zip(INDUSTRY_FIELDS, self.industry, strict=True))
        body["type"] = self.type
        body["items"] = [item.to_json() for item in self.items]
        return body

    def check(self, handle: str, values: Sequence[HandleValue]) -> None:
        """Raise ``InvalidValue`` naming the first rule of this template that ``values`` break."""
        by_index = {item.id_index: item for item in self.items}
        present = set()
        instance: dict[str, Any] = {}
        for value in values:
            if value.index < _TEMPLATE_RANGE:
                continue
            item = by_index.get(value.index)
            if (
                item is not None
                and value.type == item.id_type
                and item.enabled
                and value.format == "string"
            ):
                # The common case, without building the messages below.
                present.add(value.index)
                instance[str(value.index)] = item.rules.coerce(value.value)
                continue
            where = f"value index {value.index}"
            if item is None:
                raise InvalidValue(
                    f"{where} is not an item of template {self.version} of {self.prefix}",
                    handle=handle,
                )
            if value.type != item.id_type:
                raise InvalidValue(
                    f"{where} must have type {item.id_type!r} (item {item.name!r} of template"
                    f" {self.version}), got {value.type!r}",
                    handle=handle,
                )
            if not item.enabled:
                raise InvalidValue(
                    f"item {item.name!r} ({where}) is disabled in template {self.version}",
                    handle=handle,
                )
            if value.format != "string":
                raise InvalidValue(
                    f"item {item.name!r} ({where}) must be string data, got {value.format}",
                    handle=handle,
                )
            present.add(value.index)
        missing = [i for i in self.items if i.required and i.enabled and i.id_index not in present]
        if missing:
            names = ", ".join(
                f"{i.name!r} (index {i.id_index}, type {i.id_type!r})" for i in missing
            )
            raise InvalidValue(
                f"required items of template {self.version} are missing: {names}", handle=handle
            )
        problem = self.validator()(instance)
        if problem is not None:
            raise InvalidValue(self.describe(problem), handle=handle)


def check_reserved(handle: str, indexes: Iterable[int]) -> None:
    """Raise ``InvalidValue`` when a client names index 1001, which only the node writes."""
    if TEMPLATE_INDEX in indexes:
        raise InvalidValue(
            f"index {TEMPLATE_INDEX} is reserved: the node writes the TEMPLATE value there",
            handle=handle,
        )


def apply_template(
    handle: str, values: Sequence[HandleValue], template: Template | None
) -> list[HandleValue]:
    """Check ``values`` against ``template`` and add the node's ``TEMPLATE`` value at 1001.

    The one set of template rules: SNMS registrations and every Handle REST change to a record
    registered with a template version pass through here.
    """
    check_reserved(handle, (value.index for value in values))
    if template is None:
        return list(values)
    template.check(handle, values)
    marker = HandleValue(TEMPLATE_INDEX, TEMPLATE_TYPE, "string", template.version)
    return sorted([*values, marker], key=lambda v: v.index)


def reapply_template(
    handle: str, values: Sequence[HandleValue], template: Template | None, stamp: str
) -> list[HandleValue]:
    """A stored record's values after a change, checked again against its template.

    ``values`` may hold the node's own ``TEMPLATE`` value from before the change; it is written
    afresh. A record without a template is left as it is.
    """
    if template is None:
        return list(values)
    own = [value for value in values if value.index != TEMPLATE_INDEX]
    return [
        value if value.timestamp else value.stamped(stamp)
        for value in apply_template(handle, own, template)
    ]


async def stored_template(session: Any, handle: str, prefix: Prefix, version: str) -> Template:
    """The template a record of ``prefix`` is registered against, read in the write's session."""
    row = await Templates(session).get(str(prefix), version)
    if row is None:
        raise EntityNotFound(f"template {version} of prefix {prefix} does not exist", handle=handle)
    return _decode(row.body)


def _summary(template: Template) -> dict[str, Any]:
    """What the audit log keeps of a template written: its version and item indexes."""
    return {"version": template.version, "items": [item.id_index for item in template.items]}


def _decode(text: str) -> Template:
    """The template stored as ``text``, parsed once per distinct text.

    Keyed by the stored text itself, so a template changed (by any process) is a new key and
    never answered from an old parse; a single SNMS registration reads its template per write,
    and parsing it with its compiled schema cost more than the read.
    """
    template = _DECODED.get(text)
    if template is None:
        template = Template.parse(orjson.loads(text))
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[text] = template
    return template


class TemplateService:
    """Creates, changes, lists and deletes the templates of an enterprise's prefixes."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # The text each template had when last read here, by (prefix, version): a hint only.
        # A write relying on it checks the text in its insert (``remembered``).
        self._seen: dict[tuple[str, str], str] = {}

    def remembered(self, prefix: Prefix, version: str) -> tuple[str, Template] | None:
        """The template as last read by ``load``, and its stored text; ``None`` if not read.

        It may have changed since, in any process: whoever uses it makes the write conditional
        on the stored text being still this one (``WriteTransaction.insert``'s
        ``template_body``), and reads it afresh if not.
        """
        text = self._seen.get((str(prefix), version))
        return None if text is None else (text, _decode(text))

    def forget(self, prefix: Prefix, version: str) -> None:
        """Drop what ``remembered`` holds for this template."""
        self._seen.pop((str(prefix), version), None)

    async def create(self, principal: Principal, body: Any) -> Template:
        template = Template.parse(body)
        principal.require_owner(Prefix.parse(template.prefix))
        text = orjson.dumps(template.to_json()).decode()
        try:
            async with self.db.write() as session:
                if await Templates(session).get(template.prefix, template.version) is not None:
                    raise self._exists(template)
                await Templates(session).insert(
                    template.prefix, template.version, text, datetime.now(UTC)
                )
                await audit(session, "template.create", template.prefix, _summary(template))
        except IntegrityError as exc:
            raise self._exists(template) from exc
        return template

    @staticmethod
    def _exists(template: Template) -> AlreadyExists:
        return AlreadyExists(
            f"template {template.version} of prefix {template.prefix} exists already;"
            " use PUT to change it"
        )

    async def update(self, principal: Principal, body: Any) -> Template:
        """Replace a template; records registered against it keep their values."""
        template = Template.parse(body)
        principal.require_owner(Prefix.parse(template.prefix))
        text = orjson.dumps(template.to_json()).decode()
        async with self.db.write() as session:
            if not await Templates(session).update(
                template.prefix, template.version, text, datetime.now(UTC)
            ):
                raise self._missing(template.prefix, template.version)
            await audit(session, "template.update", template.prefix, _summary(template))
        return template

    @staticmethod
    def _missing(prefix: str, version: str) -> EntityNotFound:
        return EntityNotFound(f"template {version} of prefix {prefix} does not exist")

    async def get(self, principal: Principal, prefix: str, version: str) -> Template:
        parsed = Prefix.parse(prefix)
        principal.require_owner(parsed)
        found = await self.load(parsed, check_version(version))
        if found is None:
            raise self._missing(str(parsed), version)
        return found

    async def list(self, principal: Principal, prefix: str) -> list[Template]:
        parsed = Prefix.parse(prefix)
        principal.require_owner(parsed)
        async with self.db.read() as session:
            rows = await Templates(session).of_prefix(str(parsed))
        return [_decode(row.body) for row in rows]

    async def delete(self, principal: Principal, prefix: str, version: str) -> None:
        """Delete a template no record is registered against."""
        parsed = Prefix.parse(prefix)
        principal.require_owner(parsed)
        version = check_version(version)
        async with self.db.write() as session:
            templates = Templates(session)
            if await templates.in_use(str(parsed), version):
                raise Conflict(
                    f"template {version} of prefix {parsed} is in use by registered records;"
                    " delete or re-register them first"
                )
            if not await templates.delete(str(parsed), version):
                raise self._missing(str(parsed), version)
            await audit(session, "template.delete", str(parsed), {"version": version})

    async def load(self, prefix: Prefix, version: str, session: Any = None) -> Template | None:
        """The template of ``prefix`` and ``version`` without an authorization check."""
        key = (str(prefix), version)
        if session is not None:
            row = await Templates(session).get(*key)
            return None if row is None else _decode(row.body)
        # Outside a transaction: one statement on a bare connection, no BEGIN/ROLLBACK round
        # trips (a single SNMS registration pays this before its write transaction).
        body = await self.db.lookup(lambda connection: Templates(connection).get_body(*key))
        if body is None:
            self._seen.pop(key, None)
            return None
        # Parsed first: a stored text this node refuses (a pattern RE2 cannot run) is never
        # remembered, so the next write reads the template afresh, as saved again by then.
        template = _decode(body)
        if len(self._seen) >= _DECODED_MAX and key not in self._seen:
            self._seen.clear()
        self._seen[key] = body
        return template
