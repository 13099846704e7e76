"""The console's template editor, in-process: typed items with their constraints saved through the
template service (both backends), the service's refusals shown at their field, rows added and
removed with the values kept, CSRF, and an edit round-trip."""

from __future__ import annotations

import html
import random
import re

import httpx
import pytest

from node import Settings
from node.console.template_form import body_of, field_of, read_template_form
from registry import ADMIN, NodeError, Template

from .consoling import console_client, csrf_of, log_in, seed


@pytest.fixture
async def client(settings: Settings):
    async with console_client(settings) as client:
        yield client


@pytest.fixture
async def logged_in(client: httpx.AsyncClient) -> httpx.AsyncClient:
    enterprise = await seed(client)
    response = await log_in(client, enterprise["username"], enterprise["password"])
    assert response.status_code == 303, response.text
    return client


def _item(n: int, name: str, id_type: str, index: int, kind: str, **rules: str) -> dict:
    fields = {"name": name, "idType": id_type, "idIndex": str(index), "kind": kind, **rules}
    return {f"item-{n}-{key}": value for key, value in fields.items()}


# One item of each kind, with the constraints of its kind (and one that does not apply: dropped).
ITEMS = {
    **_item(0, "名称", "name", 2000, "string", minLength="1", maxLength="40", pattern="^[^<]+$"),
    **_item(1, "重量", "weight", 2001, "number", minimum="0.5", maximum="99.5", pattern="x"),
    **_item(2, "数量", "count", 2002, "integer", minimum="1", maximum="10"),
    **_item(3, "日期", "day", 2003, "date", minLength="3"),
    **_item(4, "等级", "grade", 2004, "enum", enum="A\r\nB\r\n\r\nC "),
    **_item(5, "手册", "manual", 2005, "url", maxLength="200"),
    "item-0-required": "1",
    "item-4-required": "1",
}


async def _post(client: httpx.AsyncClient, data: dict, **extra: str) -> httpx.Response:
    page = await client.get("/console/templates")
    form = {"csrf": csrf_of(page.text), "prefix": "88.118.8", **data, **extra}
    return await client.post("/console/templates", data=form)


async def _stored(client: httpx.AsyncClient, version: str):
    context = client.app.state.node
    return await context.templates.get(ADMIN, "88.118.8", version)


async def test_a_template_of_every_kind_is_created_through_the_form(
    logged_in: httpx.AsyncClient,
) -> None:
    created = await _post(logged_in, {"version": "kinds-1", "description": "全部", **ITEMS})
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/console/templates?prefix=88.118.8&saved=kinds-1"
    template = await _stored(logged_in, "kinds-1")
    assert template.description == "全部"
    rules = {item.id_type: item.rules.to_json() for item in template.items}
    assert rules == {
        "name": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": "^[^<]+$"},
        "weight": {"type": "number", "minimum": 0.5, "maximum": 99.5},
        "count": {"type": "integer", "minimum": 1, "maximum": 10},
        "day": {"type": "date"},
        "grade": {"type": "enum", "enum": ["A", "B", "C"]},
        "manual": {"type": "url", "minLength": 0, "maxLength": 200},
    }
    assert [item.required for item in template.items] == [True, False, False, False, True, False]
    page = await logged_in.get("/console/templates")
    assert "Template kinds-1 saved." in (await logged_in.get(created.headers["location"])).text
    assert "kinds-1" in page.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"item-2-minimum": "1.5"}, "item-2-minimum", "whole number"),
        ({"item-0-pattern": "(unclosed"}, "item-0-pattern", "not a regular expression"),
        ({"item-1-minimum": "100"}, "item-1-minimum", "above maximum"),
        ({"item-4-enum": ""}, "item-4-enum", "metadata.enum must list"),
        ({"item-3-idIndex": "12"}, "item-3-idIndex", "idIndex must be an integer"),
        ({"item-5-name": ""}, "item-5-name", "name must be"),
        ({"version": "has space"}, "version", "template version"),
        ({"item-0-maxLength": "ten"}, "item-0-maxLength", "maxLength"),
    ],
)
async def test_a_refused_definition_is_shown_at_its_field_with_the_values_kept(
    logged_in: httpx.AsyncClient, change: dict, field: str, message: str
) -> None:
    refused = await _post(logged_in, {"version": "bad-1", **ITEMS, **change})
    assert refused.status_code == 400, refused.text
    text = refused.text
    tag = re.search(rf'<(?:input|select|textarea) id="{field}"[^>]*>', text)
    assert tag is not None, text
    assert 'aria-invalid="true"' in tag.group(0)
    assert f'aria-describedby="{field}-error"' in tag.group(0)
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', text)
    assert error is not None and message in error.group(1)
    assert text.count('aria-invalid="true"') == 1
    assert 'value="^[^&lt;]+$"' in text or field == "item-0-pattern"  # the typed values are kept
    assert ">A\nB\n\nC</textarea>" in text or field == "item-4-enum"


async def test_a_version_taken_is_shown_at_the_version(logged_in: httpx.AsyncClient) -> None:
    refused = await _post(logged_in, {"version": "products-1.0", **ITEMS})
    assert refused.status_code == 409
    assert re.search(r'<input id="version"[^>]*aria-invalid="true"', refused.text)


async def test_add_and_remove_rows_keep_the_values(logged_in: httpx.AsyncClient) -> None:
    first = {"version": "rows-1", **_item(0, "甲", "a", 2000, "integer", minimum="3")}
    added = await _post(logged_in, first, action="add")
    assert added.status_code == 200
    assert 'id="item-1-idIndex" name="item-1-idIndex" value="2001"' in added.text
    assert (
        'value="甲"' in added.text and 'value="3"' in added.text and 'value="rows-1"' in added.text
    )
    assert '<option value="integer" selected>' in added.text
    two = {**first, **_item(1, "乙", "b", 2001, "date"), **_item(2, "丙", "c", 2002, "url")}
    removed = await _post(logged_in, two, action="remove-1")
    assert removed.status_code == 200
    assert 'value="乙"' not in removed.text
    assert 'id="item-1-name" name="item-1-name" value="丙"' in removed.text
    assert 'id="item-2-name"' not in removed.text
    alone = await _post(logged_in, first, action="remove-0")  # the last row: a blank one stays
    assert 'id="item-0-name" name="item-0-name" value=""' in alone.text
    assert (await _post(logged_in, two, action="save")).status_code == 303
    assert [i.id_type for i in (await _stored(logged_in, "rows-1")).items] == ["a", "b", "c"]


async def test_a_form_without_its_csrf_token_is_refused(logged_in: httpx.AsyncClient) -> None:
    response = await logged_in.post(
        "/console/templates", data={"prefix": "88.118.8", "version": "x-1", **ITEMS}
    )
    assert response.status_code == 403
    context = logged_in.app.state.node
    assert [t.version for t in await context.templates.list(ADMIN, "88.118.8")] == ["products-1.0"]


async def test_edit_shows_the_stored_template_and_saves_the_change(
    logged_in: httpx.AsyncClient,
) -> None:
    page = await logged_in.get(
        "/console/templates", params={"prefix": "88.118.8", "edit": "products-1.0"}
    )
    assert page.status_code == 200
    text = page.text
    assert (
        'id="version" name="version" value="products-1.0" required' in text and "readonly" in text
    )
    assert 'id="item-1-pattern" name="item-1-pattern" value="^[A-Z0-9-]+$"' in text
    assert 'id="item-0-required" name="item-0-required" value="1" checked' in text
    # Submit the form as shown (its inputs read back), with one constraint changed.
    fields = _shown_fields(text)
    before = await _stored(logged_in, "products-1.0")
    fields["item-3-maximum"] = "500"
    saved = await _post(logged_in, fields, editing="products-1.0", version="changed")
    assert saved.status_code == 303, saved.text
    after = await _stored(logged_in, "products-1.0")
    assert after.items[3].rules.maximum == 500
    assert [i.to_json() for i in after.items if i.id_index != 2003] == [
        i.to_json() for i in before.items if i.id_index != 2003
    ]


def _shown_fields(text: str) -> dict[str, str]:
    """The form's fields as the page shows them: what a browser submits untouched."""
    fields = dict(re.findall(r'<input id="[^"]*" name="([^"]*)" value="([^"]*)"', text))
    fields.update(
        re.findall(r'<textarea id="[^"]*" name="([^"]*)" rows="3">([^<]*)</textarea>', text)
    )
    fields.update(
        (name, kind)
        for name, kind in re.findall(
            r'<select id="[^"]*" name="([^"]*)">(?:(?!</select>).)*?<option value="(\w+)" selected>',
            text,
        )
    )
    fields.update(
        (name, "1") for name in re.findall(r'name="(item-\d+-required)" value="1" checked', text)
    )
    return {name: html.unescape(value) for name, value in fields.items()}


async def test_saving_the_form_keeps_what_it_does_not_show(logged_in: httpx.AsyncClient) -> None:
    """The form shows neither the industry codes, the template's type nor an item's state: an
    edit saved through it keeps them as stored (a disabled item is not enabled again)."""
    context = logged_in.app.state.node
    await context.templates.create(
        ADMIN,
        {
            "prefix": "88.118.8", "version": "coded", "type": 2,
            "industryCategory": "C", "industrySpecific": "38",
            "industryTrade": "381", "industrySubclass": "3812",
            "items": [
                {"name": "名称", "idType": "name", "idIndex": 2000, "required": True},
                {"name": "旧编号", "idType": "old", "idIndex": 2001, "required": True,
                 "state": 0},
            ],
        },
    )  # fmt: skip
    page = await logged_in.get("/console/templates", params={"prefix": "88.118.8", "edit": "coded"})
    assert page.status_code == 200
    fields = _shown_fields(page.text)
    fields["item-0-maxLength"] = "30"
    fields["item-2-name"], fields["item-2-idType"], fields["item-2-idIndex"] = "新", "new", "2002"
    fields["item-2-kind"] = "string"
    saved = await _post(logged_in, fields, editing="coded", version="coded")
    assert saved.status_code == 303, saved.text
    after = await _stored(logged_in, "coded")
    assert after.industry == ("C", "38", "381", "3812") and after.type == 2
    assert [(i.id_index, i.state) for i in after.items] == [(2000, 1), (2001, 0), (2002, 1)]
    assert after.items[0].rules.max_length == 30


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("template item #3: metadata.pattern is not a regular expression", "item-2-pattern"),
        ("template item #1: metadata.type must be one of", "item-0-kind"),
        ("template item #2: metadata must be an object", "item-1-kind"),
        ("template item #1: idIndex must be an integer", "item-0-idIndex"),
        ("template version must be 1-64 printable characters", "version"),
        ("template v of prefix p exists already; use PUT to change it", "version"),
        ("template field 'description' must be printable text", "description"),
        ("template items share the idIndex 2000", None),
        ("the template must be a JSON object", None),
    ],
)
def test_field_of_reads_the_field_a_message_names(message: str, field: str | None) -> None:
    assert field_of(message) == field


FIELDS = ["name", "idType", "idIndex", "kind", "required", "minLength", "maxLength", "pattern"]
FIELDS += ["minimum", "maximum", "enum"]
PIECES = ["", "0", "1", "-1", "2000", "2**53", "1e999", "nan", "1.5", "A", "a b", "(", "\x00"]
PIECES += [
    "string",
    "number",
    "integer",
    "date",
    "enum",
    "url",
    "colour",
    "A\nA",
    "电机",
    "x" * 300,
]


def test_any_form_is_a_template_or_a_refusal_named_at_a_field_it_has() -> None:
    rng = random.Random(21)
    for _ in range(400):
        rows = rng.randint(0, 3)
        form = {"version": rng.choice(["v-1", "", "a b", "x" * 70])}
        for n in range(rows):
            for name in FIELDS:
                if rng.random() < 0.7:
                    pieces = rng.randint(0, 2)
                    form[f"item-{n}-{name}"] = "".join(rng.choice(PIECES) for _ in range(pieces))
            form[f"item-{n}-name"] = form.get(f"item-{n}-name", "")
        read = read_template_form(form)
        assert len(read.rows) == rows
        try:
            Template.parse(body_of(read, "88.118.8"))
        except NodeError as exc:
            field = field_of(exc.message)
            shown = {"version", "description"} | {
                f"item-{n}-{f}" for n in range(rows) for f in FIELDS
            }
            assert field is None or field in shown, exc.message
