"""The console's import (dry run, job, progress) and export, in-process, on both backends."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import httpx
import pytest

from node import Settings
from registry import Handle

from .consoling import console_client, csrf_of, log_in, seed

SAMPLE = Path(__file__).parents[3] / "examples" / "products.csv"


@pytest.fixture
async def client(settings: Settings):
    async with console_client(settings) as client:
        account = await seed(client)
        assert (await log_in(client, account["username"], account["password"])).is_redirect
        yield client


async def _post(client: httpx.AsyncClient, action: str, content: bytes, **fields: str):
    form = await client.get("/console/import")
    data = {"csrf": csrf_of(form.text), "prefix": "88.118.8", "template": "products-1.0"}
    data["action"] = action
    files = {"file": ("products.csv", content, "text/csv")}
    return await client.post("/console/import", data={**data, **fields}, files=files)


async def test_the_dry_run_lists_the_bad_row_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await _post(client, "dry", SAMPLE.read_bytes())
    assert response.status_code == 200, response.text
    assert "5 rows: 4 can be imported, 1 have problems. Nothing was written." in response.text
    assert "2026-02-30" in response.text
    records = client.app.state.node.records
    assert await records.get(Handle.parse("88.118.8/P2026001")) is None


async def test_the_import_skips_the_bad_row_and_a_retry_is_safe(
    client: httpx.AsyncClient,
) -> None:
    for attempt in range(2):
        started = await _post(client, "import", SAMPLE.read_bytes())
        assert started.status_code == 303, started.text
        job_page = started.headers["location"]
        for _ in range(200):
            page = await client.get(job_page)
            if "Finished." in page.text:
                break
            assert 'http-equiv="refresh"' in page.text  # the bar moves by itself meanwhile
            await asyncio.sleep(0.05)
        assert "Finished." in page.text, page.text
        assert "<progress" in page.text
        if attempt == 0:
            assert "<dt>Newly registered</dt><dd>4</dd>" in page.text
        else:
            assert "<dt>Already registered</dt><dd>4</dd>" in page.text
    records = client.app.state.node.records
    assert await records.get(Handle.parse("88.118.8/P2026001")) is not None
    assert await records.get(Handle.parse("88.118.8/P2026004")) is None


async def test_import_refuses_a_missing_file_and_a_missing_token(
    client: httpx.AsyncClient,
) -> None:
    empty = await _post(client, "dry", b"")
    assert empty.status_code == 400 and "empty" in empty.text
    forged = await client.post(
        "/console/import",
        data={"prefix": "88.118.8", "template": "products-1.0"},
        files={"file": ("p.csv", SAMPLE.read_bytes(), "text/csv")},
    )
    assert forged.status_code == 403


async def test_export_of_a_search_as_csv(client: httpx.AsyncClient) -> None:
    await _post(client, "import", SAMPLE.read_bytes())
    for _ in range(200):
        if await client.app.state.node.records.get(Handle.parse("88.118.8/P2026005")):
            break
        await asyncio.sleep(0.05)
    response = await client.get(
        "/console/export", params={"suffix": "P202600?", "template": "products-1.0"}
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="88.118.8.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["suffix", "产品名称", "型号"]
    assert [row[0] for row in rows[1:]] == ["P2026001", "P2026002", "P2026003", "P2026005"]
    bad = await client.get("/console/export", params={"format": "pdf"})
    assert bad.status_code == 400
