"""The record page's content: template labels, links, technical values set apart."""

from __future__ import annotations

from node.human.view import build_view
from registry import Handle, HandleValue, Record, Template
from registry.trust import Verdict

TEMPLATE = Template.parse(
    {
        "prefix": "88.118.8",
        "version": "1.0",
        "type": 1,
        "items": [
            {"name": "产品名称", "idType": "productName", "idIndex": 2000, "required": True,
             "state": 1, "metadata": {"type": "string", "minLength": 1, "maxLength": 40}},
        ],
    }
)  # fmt: skip


def _record(*values: HandleValue) -> Record:
    return Record(Handle.parse("88.118.8/X"), values)


def test_template_items_label_their_values() -> None:
    record = _record(
        HandleValue(2000, "productName", "string", "电机控制器", timestamp="2026-01-01T00:00:00Z"),
        HandleValue(1001, "TEMPLATE", "string", "1.0"),
        HandleValue(1, "URL", "string", "https://example.com/a"),
        HandleValue(2, "DESC", "string", "javascript:alert(1)"),
        HandleValue(3, "colour", "string", "red"),
    )
    view = build_view(record, TEMPLATE, None)
    shown = {field.index: field for field in view.fields}
    assert shown[2000].label == "产品名称" and not shown[2000].translated
    assert shown[1].label == "Web address" and shown[1].translated
    assert shown[1].link == "https://example.com/a"
    assert shown[2].link is None  # not a web address: text, never a link
    assert shown[3].label == "colour" and not shown[3].translated
    assert [field.index for field in view.technical] == [1001]
    assert view.template == "1.0" and view.updated == "2026-01-01T00:00:00Z"
    assert view.trusted is None


def test_without_a_template_the_type_is_the_label() -> None:
    view = build_view(_record(HandleValue(2000, "productName", "string", "x")), None, None)
    assert view.fields[0].label == "productName"


def test_signatures_certificates_and_admin_values_are_technical() -> None:
    record = _record(
        HandleValue(1, "URL", "string", "https://example.com/a"),
        HandleValue(100, "HS_ADMIN", "admin", {"handle": "88.118.8/ADMIN", "index": 300, "permissions": "111111111111"}),
        HandleValue(400, "HS_SIGNATURE", "string", "eyJhbGciOiJFUzI1NiJ9.e30.sig"),
        HandleValue(401, "HS_CERT", "string", "eyJ.e30.sig"),
        HandleValue(5, "BLOB", "base64", "AAAA"),
    )  # fmt: skip
    verdict = Verdict("88.118.8/X", True, verified=(1,), signers=("300:0.NA/88.118",))
    view = build_view(record, None, verdict)
    assert [field.index for field in view.fields] == [1]
    assert [field.index for field in view.technical] == [100, 400, 401, 5]
    assert view.trusted is True and view.signers == ("300:0.NA/88.118",)
