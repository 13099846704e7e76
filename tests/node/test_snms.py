"""The SNMS API over HTTP against a running node, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from registry import EnterpriseService, Prefix, RecordService
from registry.storage import Database
from registry.trust import cipher_password
from registry.trust.cipher import CHINA_TIME

from .helpers import basic_auth, create_enterprise

TEMPLATE = {
    "prefix": "88.118.8",
    "version": "1.0",
    "description": "motor controllers",
    "industryCategory": "C",
    "industrySpecific": "38",
    "industryTrade": "381",
    "industrySubclass": "3812",
    "type": 1,
    "items": [
        {
            "name": "productName",
            "idType": "productName",
            "idIndex": 2000,
            "required": True,
            "state": 1,
            "metadata": {"type": "string", "minLength": 1, "maxLength": 20},
        },
        {
            "name": "batchNo",
            "idType": "batchNo",
            "idIndex": 2001,
            "required": False,
            "state": 1,
            "metadata": {"type": "string", "minLength": 0, "maxLength": 10},
        },
        {
            "name": "legacy",
            "idType": "legacy",
            "idIndex": 2002,
            "required": False,
            "state": 0,
            "metadata": {"type": "string", "minLength": 0, "maxLength": 10},
        },
    ],
}


def item(handle: str, name: str = "Motor", **extra) -> dict:
    values = [{"index": 2000, "type": "productName", "data": {"format": "string", "value": name}}]
    values += extra.pop("more", [])
    return {"handle": handle, "templateVersion": "1.0", "value": values, **extra}


@pytest.fixture
def client(node_server):
    with httpx.Client(base_url=node_server.url, timeout=60) as client:
        yield client


@pytest.fixture
def acme(node_server) -> dict:
    return create_enterprise(node_server.url, "Acme", "88.118.8")


@pytest.fixture
def auth(client: httpx.Client, acme: dict) -> dict:
    """Headers carrying an SNMS token of Acme, with its template in place."""
    response = client.post(
        "/identity/token", json={"username": acme["username"], "password": acme["password"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == 1 and body["message"] == "success"
    headers = {"Authorization": body["data"]["token"]}
    created = client.post("/snms/api/v5/template", json=TEMPLATE, headers=headers)
    assert created.json()["status"] == 1, created.text
    return headers


def test_token_login_and_wrong_password(client: httpx.Client, acme: dict) -> None:
    wrong = client.post("/identity/token", json={"username": acme["username"], "password": "x"})
    assert wrong.status_code == 401
    assert wrong.json()["status"] == -1 and wrong.json()["data"] is None
    missing = client.post("/identity/token", json={"username": acme["username"]})
    assert missing.status_code == 400 and missing.json()["status"] == -2
    assert "password" in missing.json()["message"]


def test_cipher_login_with_the_day_in_china(client: httpx.Client, acme: dict) -> None:
    today = datetime.now(UTC).astimezone(CHINA_TIME).date()
    cipher = cipher_password(acme["password"], today)
    ok = client.post("/identity/token/v1", json={"username": acme["username"], "password": cipher})
    assert ok.json()["status"] == 1, ok.text
    token = ok.json()["data"]["token"]
    listed = client.get(
        "/snms/api/v5/template?prefix=88.118.8", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.json() == {"status": 1, "message": "success", "data": []}

    stale = cipher_password(acme["password"], today - timedelta(days=5))
    refused = client.post(
        "/identity/token/v1", json={"username": acme["username"], "password": stale}
    )
    assert refused.status_code == 401 and refused.json()["status"] == -1
    plain = client.post(
        "/identity/token/v1", json={"username": acme["username"], "password": acme["password"]}
    )
    assert plain.json()["status"] == -1


async def test_an_expired_token_is_not_logged_in(
    client: httpx.Client, acme: dict, settings
) -> None:
    db = Database(settings.database_url)
    try:
        records = RecordService(db)
        enterprises = EnterpriseService(db, records, Prefix.parse("88.118"))
        principal = await enterprises.authenticate(acme["username"], acme["password"])
        token, _ = await enterprises.issue_token(principal, timedelta(seconds=-1))
    finally:
        await db.dispose()
    response = client.get(
        "/identityv2/data/detail?handle=88.118.8/X", headers={"Authorization": token}
    )
    assert response.status_code == 401
    assert response.json()["status"] == -1 and "expired" in response.json()["message"]


def test_not_logged_in(client: httpx.Client) -> None:
    for method, path in (
        ("POST", "/identityv2/data/batchCreate"),
        ("GET", "/identityv2/data/detail?handle=88.118.8/X"),
        ("GET", "/snms/api/v5/template?prefix=88.118.8"),
        ("POST", "/identityv2/data"),
        ("DELETE", "/snms/api/v5/template?prefix=bad..prefix"),
    ):
        response = client.request(method, path, json=[item("88.118.8/X")])
        assert response.status_code == 401, path
        assert response.json()["status"] == -1, path


def test_create_detail_update_delete(client: httpx.Client, auth: dict) -> None:
    created = client.post(
        "/identityv2/data",
        json=item("88.118.8/M1", more=[{"index": 1, "type": "URL", "data": "https://e.com/m1"}]),
        headers=auth,
    )
    assert created.json() == {"status": 1, "message": "success", "data": {"handle": "88.118.8/M1"}}
    detail = client.get("/identityv2/data/detail?handle=88.118.8/M1", headers=auth).json()
    assert detail["status"] == 1
    data = detail["data"]
    assert data["prefix"] == "88.118.8" and data["handle"] == "88.118.8/M1"
    assert data["templateVersion"] == "1.0"
    assert [(v["index"], v["type"]) for v in data["value"]] == [
        (1, "URL"),
        (1001, "TEMPLATE"),
        (2000, "productName"),
    ]
    assert data["value"][2] == {
        "index": 2000,
        "type": "productName",
        "auth": "1110",
        "data": {"format": "string", "value": "Motor"},
    }
    assert data["value"][1]["data"] == {"format": "string", "value": "1.0"}

    updated = client.put("/identityv2/data", json=item("88.118.8/M1", "Pump"), headers=auth)
    assert updated.json()["status"] == 1, updated.text
    values = client.get("/identityv2/data/detail?handle=88.118.8/M1", headers=auth).json()
    assert [v["data"]["value"] for v in values["data"]["value"]] == ["1.0", "Pump"]

    again = client.post("/identityv2/data", json=item("88.118.8/M1"), headers=auth)
    assert again.status_code == 409 and again.json()["status"] == -2
    assert "already exists" in again.json()["message"]

    deleted = client.request("DELETE", "/identityv2/data?handle=88.118.8/M1", headers=auth)
    assert deleted.json()["status"] == 1
    gone = client.get("/identityv2/data/detail?handle=88.118.8/M1", headers=auth)
    assert gone.status_code == 404 and gone.json()["status"] == -2
    missing = client.request(
        "DELETE", "/identityv2/data", json={"handle": "88.118.8/M1"}, headers=auth
    )
    assert missing.status_code == 404 and missing.json()["status"] == -2


def test_snms_records_resolve_through_handle_rest_and_back(
    client: httpx.Client, auth: dict, acme: dict
) -> None:
    client.post("/identityv2/data", json=item("88.118.8/S1"), headers=auth)
    resolved = client.get("/api/handles/88.118.8/S1").json()
    assert resolved["responseCode"] == 1
    assert {v["index"]: v["data"]["value"] for v in resolved["values"]} == {
        1001: "1.0",
        2000: "Motor",
    }
    client.put(
        "/api/handles/88.118.8/H1",
        json={"values": [{"index": 1, "type": "URL", "data": "https://e.com/h1"}]},
        auth=basic_auth(acme),
    )
    detail = client.get("/identityv2/data/detail?handle=88.118.8/H1", headers=auth).json()
    assert detail["data"]["templateVersion"] == ""
    assert detail["data"]["value"][0]["data"]["value"] == "https://e.com/h1"


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ([], "required items of template 1.0 are missing: 'productName'"),
        (
            [{"index": 2000, "type": "wrongType", "data": "Motor"}],
            "value index 2000 must have type 'productName'",
        ),
        (
            [
                {"index": 2000, "type": "productName", "data": "Motor"},
                {"index": 2005, "type": "other", "data": "x"},
            ],
            "value index 2005 is not an item of template 1.0",
        ),
        (
            [
                {"index": 2000, "type": "productName", "data": "Motor"},
                {"index": 2002, "type": "legacy", "data": "x"},
            ],
            "item 'legacy' (value index 2002) is disabled",
        ),
        (
            [{"index": 2000, "type": "productName", "data": "M" * 21}],
            "must be 1-20 characters long, got 21",
        ),
        ([{"index": 2000, "type": "productName", "data": ""}], "must be 1-20 characters long"),
        (
            [
                {"index": 2000, "type": "productName", "data": "Motor"},
                {"index": 1001, "type": "TEMPLATE", "data": "mine"},
            ],
            "index 1001 is reserved",
        ),
    ],
)
def test_template_rules_refuse_a_record(
    client: httpx.Client, auth: dict, values: list, reason: str
) -> None:
    body = {"handle": "88.118.8/T1", "templateVersion": "1.0", "value": values}
    response = client.post("/identityv2/data", json=body, headers=auth)
    assert response.status_code == 400, response.text
    assert response.json()["status"] == -2 and reason in response.json()["message"]
    assert client.get("/api/handles/88.118.8/T1").status_code == 404


def test_unknown_template_version_is_refused(client: httpx.Client, auth: dict) -> None:
    body = {**item("88.118.8/T2"), "templateVersion": "9.9"}
    response = client.post("/identityv2/data", json=body, headers=auth)
    assert response.status_code == 404 and response.json()["status"] == -2
    assert "template 9.9 of prefix 88.118.8 does not exist" in response.json()["message"]


def test_batch_mixes_valid_invalid_and_duplicate_items(client: httpx.Client, auth: dict) -> None:
    client.post("/identityv2/data", json=item("88.118.8/B0"), headers=auth)
    batch = [
        item("88.118.8/B1"),
        item("88.118.8/B2", "M" * 50),
        item("88.118.8/B0"),
        item("88.118.8/B3"),
        item("88.118.8/B3"),
        {"handle": "bad handle", "value": []},
        item("88.118.9/B4"),
    ]
    response = client.post("/identityv2/data/batchCreate", json=batch, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == 1 and body["message"] == "5 of 7 items failed"
    results = body["data"]
    assert [r["handle"] for r in results] == [b["handle"] for b in batch]
    assert results[0]["msg"] == "success" and results[3]["msg"] == "success"
    assert "characters long" in results[1]["msg"]
    assert results[2]["msg"] == "handle 88.118.8/B0 already exists"
    assert "more than once" in results[4]["msg"]
    assert "bad handle" in results[5]["msg"] or "prefix" in results[5]["msg"]
    assert "may not write under prefix 88.118.9" in results[6]["msg"]
    assert client.get("/api/handles/88.118.8/B1").status_code == 200
    assert client.get("/api/handles/88.118.8/B2").status_code == 404

    # Retrying the whole batch is safe: what was written is reported as existing.
    retry = client.post("/identityv2/data/batchCreate", json=batch[:1], headers=auth).json()
    assert retry["data"] == [{"handle": "88.118.8/B1", "msg": "handle 88.118.8/B1 already exists"}]


def test_batch_update_and_delete(client: httpx.Client, auth: dict) -> None:
    client.post(
        "/identityv2/data/batchCreate",
        json=[item("88.118.8/U1"), item("88.118.8/U2")],
        headers=auth,
    )
    updated = client.put(
        "/identityv2/data/batchUpdate",
        json=[item("88.118.8/U1", "New"), item("88.118.8/U9"), item("88.118.8/U2", "")],
        headers=auth,
    ).json()
    assert [r["msg"] for r in updated["data"]][:2] == [
        "success",
        "handle 88.118.8/U9 does not exist",
    ]
    assert "characters long" in updated["data"][2]["msg"]
    values = client.get("/api/handles/88.118.8/U1").json()["values"]
    assert values[-1]["data"]["value"] == "New"
    assert client.get("/api/handles/88.118.8/U2").json()["values"][-1]["data"]["value"] == "Motor"

    deleted = client.request(
        "DELETE",
        "/identityv2/data/batchDelete",
        json=["88.118.8/U1", {"handle": "88.118.8/U2"}, "88.118.8/U3"],
        headers=auth,
    ).json()
    assert [r["msg"] for r in deleted["data"]] == [
        "success",
        "success",
        "handle 88.118.8/U3 does not exist",
    ]
    assert client.get("/api/handles/88.118.8/U1").status_code == 404


def test_a_batch_of_2001_items_is_refused(client: httpx.Client, auth: dict) -> None:
    batch = [item(f"88.118.8/L{n}") for n in range(2001)]
    response = client.post("/identityv2/data/batchCreate", json=batch, headers=auth)
    assert response.status_code == 400
    assert response.json()["status"] == -2
    assert "at most 2000 items, got 2001" in response.json()["message"]
    bearer = {"Authorization": f"Bearer {auth['Authorization']}"}
    listed = client.get("/api/handles?prefix=88.118.8", headers=bearer).json()
    assert not [h for h in listed["handles"] if h.startswith("88.118.8/L")]


def test_one_enterprise_cannot_touch_another_prefix(
    client: httpx.Client, auth: dict, node_server
) -> None:
    other = create_enterprise(node_server.url, "Other", "88.118.9")
    token = client.post(
        "/identity/token", json={"username": other["username"], "password": other["password"]}
    ).json()["data"]["token"]
    theirs = {"Authorization": token}
    client.post("/identityv2/data", json=item("88.118.8/Mine"), headers=auth)
    for method, path, body in (
        ("POST", "/identityv2/data", item("88.118.8/Theirs")),
        ("PUT", "/identityv2/data", item("88.118.8/Mine", "Stolen")),
        ("DELETE", "/identityv2/data?handle=88.118.8/Mine", None),
        ("GET", "/identityv2/data/detail?handle=88.118.8/Mine", None),
        ("GET", "/snms/api/v5/template?prefix=88.118.8&version=1.0", None),
        ("DELETE", "/snms/api/v5/template?prefix=88.118.8&version=1.0", None),
        ("POST", "/snms/api/v5/template", {**TEMPLATE, "version": "2.0"}),
    ):
        response = client.request(method, path, json=body, headers=theirs)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["status"] == -3
    batch = client.post(
        "/identityv2/data/batchCreate", json=[item("88.118.8/Theirs")], headers=theirs
    ).json()
    assert "may not write under prefix 88.118.8" in batch["data"][0]["msg"]
    mine = client.get("/identityv2/data/detail?handle=88.118.8/Mine", headers=auth).json()
    assert mine["data"]["value"][-1]["data"]["value"] == "Motor"


def test_template_crud(client: httpx.Client, auth: dict) -> None:
    one = client.get("/snms/api/v5/template?prefix=88.118.8&version=1.0", headers=auth).json()
    assert one["status"] == 1 and one["data"]["items"][0]["idIndex"] == 2000
    assert {k: one["data"][k] for k in ("industryCategory", "industrySubclass", "type")} == {
        "industryCategory": "C",
        "industrySubclass": "3812",
        "type": 1,
    }
    twice = client.post("/snms/api/v5/template", json=TEMPLATE, headers=auth)
    assert twice.status_code == 409 and twice.json()["status"] == -2

    changed = {**TEMPLATE, "description": "changed"}
    assert client.put("/snms/api/v5/template", json=changed, headers=auth).json()["status"] == 1
    listed = client.get("/snms/api/v5/template?prefix=88.118.8", headers=auth).json()["data"]
    assert [t["description"] for t in listed] == ["changed"]
    unknown = client.put("/snms/api/v5/template", json={**TEMPLATE, "version": "7"}, headers=auth)
    assert unknown.status_code == 404 and unknown.json()["status"] == -2

    bad = client.post(
        "/snms/api/v5/template",
        json={**TEMPLATE, "version": "2.0", "items": [{**TEMPLATE["items"][0], "idIndex": 5}]},
        headers=auth,
    )
    assert (
        bad.status_code == 400 and "idIndex must be an integer from 2000" in bad.json()["message"]
    )

    client.post("/identityv2/data", json=item("88.118.8/InUse"), headers=auth)
    busy = client.delete("/snms/api/v5/template?prefix=88.118.8&version=1.0", headers=auth)
    assert busy.status_code == 409 and "in use" in busy.json()["message"]
    client.delete("/identityv2/data?handle=88.118.8/InUse", headers=auth)
    gone = client.delete("/snms/api/v5/template?prefix=88.118.8&version=1.0", headers=auth)
    assert gone.json()["status"] == 1
    missing = client.get("/snms/api/v5/template?prefix=88.118.8&version=1.0", headers=auth)
    assert missing.status_code == 404 and missing.json()["status"] == -2


def test_bad_bodies_are_named(client: httpx.Client, auth: dict) -> None:
    not_json = client.post(
        "/identityv2/data", content=b"x", headers={**auth, "Content-Type": "text/plain"}
    )
    assert not_json.status_code == 415 and not_json.json()["status"] == -2
    broken = client.post(
        "/identityv2/data",
        content=b"{",
        headers={**auth, "Content-Type": "application/json"},
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json()["message"]
    no_values = client.post("/identityv2/data", json={"handle": "88.118.8/Z"}, headers=auth)
    assert "has no 'value' list" in no_values.json()["message"]
    not_a_list = client.post("/identityv2/data/batchCreate", json={"x": 1}, headers=auth)
    assert not_a_list.status_code == 400 and "JSON array" in not_a_list.json()["message"]
    bad_auth = client.post(
        "/identityv2/data",
        json=item("88.118.8/Z", more=[{"index": 1, "type": "URL", "data": "u", "auth": "7"}]),
        headers=auth,
    )
    assert (
        bad_auth.status_code == 400
        and "permissions must be four bits" in bad_auth.json()["message"]
    )


def test_an_update_without_a_version_keeps_the_record_template(
    client: httpx.Client, auth: dict
) -> None:
    client.post("/identityv2/data", json=item("88.118.8/K1"), headers=auth)
    unversioned = {"handle": "88.118.8/K1", "value": [{"index": 1, "type": "URL", "data": "u"}]}
    refused = client.put("/identityv2/data", json=unversioned, headers=auth)
    assert refused.status_code == 400 and "'productName' (index 2000" in refused.json()["message"]
    kept = client.get("/identityv2/data/detail?handle=88.118.8/K1", headers=auth).json()["data"]
    assert kept["templateVersion"] == "1.0" and kept["value"][-1]["data"]["value"] == "Motor"


def _deep_site(depth: int) -> str:
    """An HS_SITE value nested ``depth`` levels, as JSON text (too deep for json.dumps)."""
    value = '{"next":' * (depth - 1) + '{"leaf":1}' + "}" * (depth - 1)
    return '{"index":1,"type":"HS_SITE","data":{"format":"site","value":' + value + "}}"


def _with_site(handle: str, site: str) -> str:
    plain = json.dumps(item(handle))
    return plain[: plain.rindex("]")] + "," + site + "]}"


@pytest.mark.parametrize("depth", [250, 1000])
def test_a_batch_with_deeply_nested_data_writes_its_valid_items(
    client: httpx.Client, auth: dict, depth: int
) -> None:
    items = [
        json.dumps(item("88.118.8/D1")),
        _with_site("88.118.8/D2", _deep_site(depth)),
        _with_site("88.118.8/D3", _deep_site(32)),
        json.dumps(
            {"handle": "88.118.8/D4", "value": [{"index": "9" * 5000, "type": "A", "data": "a"}]}
        ),
        json.dumps({"handle": "88.118.8/D5", "value": [{"index": "٣", "type": "A", "data": "a"}]}),
    ]
    json_headers = {**auth, "Content-Type": "application/json"}
    response = client.post(
        "/identityv2/data/batchCreate", content="[" + ",".join(items) + "]", headers=json_headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == 1 and body["message"] == "3 of 5 items failed"
    msgs = [line["msg"] for line in body["data"]]
    assert msgs[0] == "success" and msgs[2] == "success"
    assert "site data is nested more than 32 levels deep" in msgs[1]
    assert "index of 5000 digits is outside 1..2147483647" in msgs[3]
    assert "index must be an integer of ASCII digits" in msgs[4]
    assert client.get("/api/handles/88.118.8/D1").status_code == 200
    assert client.get("/api/handles/88.118.8/D3").status_code == 200
    for missing in ("D2", "D4", "D5"):
        assert client.get(f"/api/handles/88.118.8/{missing}").status_code == 404

    one = client.post("/identityv2/data", content=items[1], headers=json_headers)
    assert one.status_code == 400 and one.json()["status"] == -2
    assert "nested more than 32 levels" in one.json()["message"]


def test_large_integers_in_site_data_are_kept_exactly_or_refused(
    client: httpx.Client, auth: dict
) -> None:
    exact = {"serialNumber": 2**64 - 1, "primaryMask": -(2**63)}
    site = {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": exact}}
    created = client.post("/identityv2/data", json=item("88.118.8/S1", more=[site]), headers=auth)
    assert created.json()["status"] == 1, created.text
    detail = client.get("/identityv2/data/detail?handle=88.118.8/S1", headers=auth).json()
    assert detail["data"]["value"][0]["data"]["value"] == exact
    body = b'{"handle":"88.118.8/S2","templateVersion":"1.0","value":[' + (
        b'{"index":2000,"type":"productName","data":"x"},'
        b'{"index":1,"type":"HS_SITE","data":{"format":"site","value":'
        b'{"serialNumber":123456789012345678901234567890}}}]}'
    )
    refused = client.post(
        "/identityv2/data", content=body, headers={**auth, "Content-Type": "application/json"}
    )
    assert refused.status_code == 400 and refused.json()["status"] == -2
    assert "integers from -2^63 to 2^64-1" in refused.json()["message"]
    assert client.get("/api/handles/88.118.8/S2").status_code == 404


@pytest.mark.parametrize("name", ["a\x00b", "bell\x07", "c1\x9f"])
def test_template_item_names_refuse_control_characters(
    client: httpx.Client, auth: dict, name: str
) -> None:
    body = {**TEMPLATE, "version": "2.0"}
    body["items"] = [{**TEMPLATE["items"][0], "name": name}]
    response = client.post("/snms/api/v5/template", json=body, headers=auth)
    assert response.status_code == 400 and response.json()["status"] == -2, response.text
    assert "name contains the control character" in response.json()["message"]
    missing = client.get("/snms/api/v5/template?prefix=88.118.8&version=2.0", headers=auth)
    assert missing.json()["status"] != 1


def test_a_template_pattern_cannot_stall_the_node(client: httpx.Client, auth: dict) -> None:
    """A pattern RE2 cannot run in linear time is refused with the reason; one that would
    backtrack for hours in Python's ``re`` answers a long value at once."""
    item0 = TEMPLATE["items"][0]
    lookahead = {**TEMPLATE, "version": "3.0"}
    lookahead["items"] = [{**item0, "metadata": {"type": "string", "pattern": "^(?=M)"}}]
    refused = client.post("/snms/api/v5/template", json=lookahead, headers=auth)
    assert refused.status_code == 400 and refused.json()["status"] == -2, refused.text
    assert "no lookaround or backreferences" in refused.json()["message"]
    assert "invalid perl operator: (?=" in refused.json()["message"]

    stalling = {**TEMPLATE, "version": "3.1"}
    stalling["items"] = [{**item0, "metadata": {"type": "string", "pattern": "^(a+)+$"}}]
    created = client.post("/snms/api/v5/template", json=stalling, headers=auth)
    assert created.json()["status"] == 1, created.text
    value = [{"index": 2000, "type": "productName", "data": "a" * 5000 + "!"}]
    body = {"handle": "88.118.8/RE1", "templateVersion": "3.1", "value": value}
    response = client.post("/identityv2/data", json=body, headers=auth, timeout=30)
    assert response.status_code == 400 and response.json()["status"] == -2, response.text
    assert "must match the pattern '^(a+)+$'" in response.json()["message"]
    assert client.get("/api/handles/88.118.8/RE1").status_code == 404
