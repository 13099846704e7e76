"""The operator's quota form and audit log page in-process (both backends): the form sets and
removes quotas through QuotaService (audited as quota.set), refuses bad values and forms
without their CSRF token, and neither page opens for anyone but the operator."""

from __future__ import annotations

import httpx
import pytest

from node import Settings
from node.console import audit_page

from ...conftest import ADMIN_TOKEN
from .consoling import console_client, csrf_of, log_in, seed

UNLIMITED = {
    "daily_resolutions": None,
    "daily_registrations": None,
    "identifiers": None,
    "prefixes": None,
}
EMPTY_FORM = dict.fromkeys(UNLIMITED, "")
NO_LIMIT = '<span class="muted">no limit</span>'


@pytest.fixture
async def client(settings: Settings):
    async with console_client(settings) as client:
        yield client


@pytest.fixture
async def enterprise(client: httpx.AsyncClient) -> dict:
    acme = await seed(client)
    context = client.app.state.node  # type: ignore[attr-defined]
    (info,) = [e for e in await context.enterprises.list() if e.name == "Acme"]
    return {**acme, "id": info.id, "url": f"/console/operator/enterprises/{info.id}/quotas"}


@pytest.fixture
async def operator(client: httpx.AsyncClient, enterprise: dict) -> httpx.AsyncClient:
    form = await client.get("/console/login", params={"operator": "1"})
    response = await client.post(
        "/console/operator/login", data={"csrf": csrf_of(form.text), "token": ADMIN_TOKEN}
    )
    assert response.status_code == 303, response.text
    return client


def _quotas(client: httpx.AsyncClient, enterprise: dict):
    return client.app.state.node.quotas.get(enterprise["id"])  # type: ignore[attr-defined]


async def _submit(client: httpx.AsyncClient, url: str, **fields: str) -> httpx.Response:
    form = await client.get(url)
    assert form.status_code == 200, form.text
    return await client.post(url, data={"csrf": csrf_of(form.text), **EMPTY_FORM, **fields})


async def test_the_overview_links_each_enterprise_to_its_quotas(
    operator: httpx.AsyncClient, enterprise: dict
) -> None:
    overview = await operator.get("/console/operator")
    assert f'href="{enterprise["url"]}"' in overview.text
    assert 'href="/console/operator/audit"' in overview.text


async def test_set_quotas_shows_them_with_usage_and_audits_quota_set(
    operator: httpx.AsyncClient, enterprise: dict
) -> None:
    page = await operator.get(enterprise["url"])
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Quotas of Acme" in page.text and page.text.count(NO_LIMIT) == 4
    saved = await _submit(
        operator, enterprise["url"], identifiers="1000", daily_registrations=" 50 "
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{enterprise['url']}?done=saved"
    quota = await _quotas(operator, enterprise)
    assert quota.as_dict() == {**UNLIMITED, "identifiers": 1000, "daily_registrations": 50}
    page = await operator.get(saved.headers["location"])
    assert 'value="1000"' in page.text and 'value="50"' in page.text
    assert "The change is in the audit log as quota.set." in page.text
    assert page.text.count(NO_LIMIT) == 2
    context = operator.app.state.node  # type: ignore[attr-defined]
    (entry,) = (await context.audit.find(action="quota.set")).entries
    assert (entry.actor, entry.role, entry.via) == ("admin", "admin", "console")
    assert entry.target == "88.118.8"
    # Only what changed is set (and audited).
    assert entry.summary == {"identifiers": 1000, "daily_registrations": 50}
    again = await _submit(operator, enterprise["url"], identifiers="1000", daily_registrations="50")
    assert again.headers["location"] == f"{enterprise['url']}?done=unchanged"
    assert len((await context.audit.find(action="quota.set")).entries) == 1


async def test_remove_quotas_by_emptying_a_field_or_all_at_once(
    operator: httpx.AsyncClient, enterprise: dict
) -> None:
    await _submit(operator, enterprise["url"], identifiers="10", prefixes="2")
    emptied = await _submit(operator, enterprise["url"], identifiers="10")
    assert emptied.status_code == 303
    assert (await _quotas(operator, enterprise)).as_dict() == {**UNLIMITED, "identifiers": 10}
    removed = await _submit(operator, enterprise["url"], identifiers="10", action="remove")
    assert removed.status_code == 303
    assert (await _quotas(operator, enterprise)).as_dict() == UNLIMITED


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "１２", "1e3", "9" * 41])
async def test_bad_values_are_shown_in_the_form_and_change_nothing(
    operator: httpx.AsyncClient, enterprise: dict, bad: str
) -> None:
    response = await _submit(operator, enterprise["url"], identifiers=bad, prefixes="3")
    assert response.status_code == 400
    assert 'id="quota-identifiers" name="identifiers"' in response.text
    assert response.text.count('aria-invalid="true"') == 1
    assert "Enter a whole number of 0 or more" in response.text
    assert 'value="3"' in response.text  # what was typed stays in the form
    assert (await _quotas(operator, enterprise)).as_dict() == UNLIMITED


async def test_a_value_over_the_quota_service_maximum_is_refused_by_the_service(
    operator: httpx.AsyncClient, enterprise: dict
) -> None:
    response = await _submit(operator, enterprise["url"], prefixes=str(2**31))
    assert response.status_code == 400
    assert "quota prefixes is at most 2147483647" in response.text
    assert (await _quotas(operator, enterprise)).as_dict() == UNLIMITED


async def test_chinese_form_errors(operator: httpx.AsyncClient, enterprise: dict) -> None:
    form = await operator.get(enterprise["url"], headers={"accept-language": "zh-CN"})
    assert "Acme 的配额" in form.text and "保存配额" in form.text
    response = await operator.post(
        enterprise["url"],
        data={"csrf": csrf_of(form.text), **EMPTY_FORM, "identifiers": "x"},
        headers={"accept-language": "zh-CN"},
    )
    assert response.status_code == 400 and "请输入不小于 0 的整数" in response.text


async def test_a_form_without_its_csrf_token_is_refused(
    operator: httpx.AsyncClient, enterprise: dict
) -> None:
    missing = await operator.post(enterprise["url"], data={**EMPTY_FORM, "identifiers": "5"})
    assert missing.status_code == 403 and "CSRF" in missing.text
    wrong = await operator.post(
        enterprise["url"], data={**EMPTY_FORM, "identifiers": "5", "csrf": "forged"}
    )
    assert wrong.status_code == 403
    assert (await _quotas(operator, enterprise)).as_dict() == UNLIMITED


async def test_unknown_enterprises_are_not_found(operator: httpx.AsyncClient) -> None:
    for path in ("999999", "abc", "1" * 30):
        response = await operator.get(f"/console/operator/enterprises/{path}/quotas")
        assert response.status_code == 404, path


async def test_only_the_operator_reaches_quotas_and_the_audit_log(
    client: httpx.AsyncClient, enterprise: dict
) -> None:
    for path in (enterprise["url"], "/console/operator/audit"):
        anonymous = await client.get(path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/console/login?operator=1"
    assert (await log_in(client, enterprise["username"], enterprise["password"])).status_code == 303
    dashboard = await client.get("/console/")
    token = csrf_of(dashboard.text)  # a valid token of the enterprise's session
    for path in (enterprise["url"], "/console/operator/audit"):
        page = await client.get(path)
        assert page.status_code == 303
        assert page.headers["location"] == "/console/login?operator=1"
    posted = await client.post(enterprise["url"], data={"csrf": token, "identifiers": "1"})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/console/login?operator=1"
    assert (await _quotas(client, enterprise)).as_dict() == UNLIMITED


async def test_the_audit_page_filters_and_pages_newest_first(
    operator: httpx.AsyncClient, enterprise: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = operator.app.state.node  # type: ignore[attr-defined]
    await context.enterprises.create("Beta", "88.118.9")
    for n in range(1, 4):
        await _submit(operator, enterprise["url"], identifiers=str(n))
    page = await operator.get("/console/operator/audit")
    assert page.status_code == 200 and "Audit log" in page.text
    assert page.text.count("quota.set") >= 3 and "enterprise.create" in page.text
    # Newest first: the last change is shown before the first.
    assert page.text.index("identifiers: 3") < page.text.index("identifiers: 1")

    only_quota = await operator.get(
        "/console/operator/audit", params={"action": "quota.set", "target": "88.118.8"}
    )
    assert only_quota.text.count("<tr>") == 1 + 3  # the header row and three entries
    assert 'value="quota.set"' in only_quota.text  # the filters stay in the form
    by_target = await operator.get("/console/operator/audit", params={"target": "88.118.9"})
    assert (
        "enterprise.create" in by_target.text
        and "quota.set" not in by_target.text.split("<tbody>")[1]
    )
    by_actor = await operator.get("/console/operator/audit", params={"actor": "nobody"})
    assert "No audit entries match." in by_actor.text
    future = await operator.get("/console/operator/audit", params={"since": "2999-01-01"})
    assert "No audit entries match." in future.text
    past = await operator.get("/console/operator/audit", params={"until": "2000-01-01"})
    assert "No audit entries match." in past.text

    monkeypatch.setattr(audit_page, "AUDIT_PAGE_SIZE", 2)
    first = await operator.get("/console/operator/audit", params={"action": "quota.set"})
    assert first.text.count("<tr>") == 1 + 2
    assert "identifiers: 3" in first.text and "identifiers: 1" not in first.text
    assert "Newest entries" not in first.text
    older = first.text.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert "action=quota.set" in older and "before=" in older
    second = await operator.get(older.replace("&amp;", "&"))
    assert second.text.count("<tr>") == 1 + 1
    assert "identifiers: 1" in second.text
    assert "Newest entries" in second.text and 'rel="next"' not in second.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "is not an ISO 8601 time"),
        ({"since": "2026-12-05", "until": "2026-12-04"}, "since must be earlier than until"),
        ({"before": "x"}, "before must be an entry id"),
        ({"actor": "a\x00b"}, "must not contain the NUL character"),
    ],
)
async def test_bad_audit_filters_are_explained_on_the_page(
    operator: httpx.AsyncClient, params: dict, message: str
) -> None:
    response = await operator.get("/console/operator/audit", params=params)
    assert response.status_code == 400
    assert message in response.text and 'role="alert"' in response.text
    assert "<form" in response.text  # the filters stay to correct


async def test_the_landing_page_links_the_console(client: httpx.AsyncClient) -> None:
    landing = await client.get("/", headers={"accept-language": "zh-CN"})
    assert landing.status_code == 200
    assert '<a href="/console/">企业控制台</a>' in landing.text


async def test_an_enterprise_write_in_the_console_is_audited_as_its_credential(
    client: httpx.AsyncClient, enterprise: dict
) -> None:
    assert (await log_in(client, enterprise["username"], enterprise["password"])).status_code == 303
    page = await client.get("/console/templates")
    body = (
        '{"prefix": "88.118.8", "version": "parts-1", "items": [{"name": "批次", "idType":'
        ' "batch", "idIndex": 2000, "metadata": {"type": "integer", "minimum": 1}}]}'
    )
    created = await client.post(
        "/console/templates", data={"csrf": csrf_of(page.text), "body": body}
    )
    assert created.status_code == 303, created.text
    context = client.app.state.node  # type: ignore[attr-defined]
    (entry,) = (
        await context.audit.find(action="template.create", actor=enterprise["username"])
    ).entries
    assert (entry.role, entry.via, entry.client) == ("enterprise", "console", "127.0.0.9")
