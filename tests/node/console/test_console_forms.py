"""The console's forms on the server, in-process: sessions, CSRF, validation, and each write
reaching the record service as the APIs' writes do (both backends)."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from node import Settings
from registry import Handle, Unauthenticated

from .consoling import console_client, csrf_of, log_in, seed

HANDLE = "88.118.8/CONSOLE-1"
GOOD_ITEMS = {
    "item-2000": "电机控制器",
    "item-2001": "MC-2106",
    "item-2002": "2026-12-01",
    "item-2003": "12.5",
    "item-2004": "3",
    "item-2005": "A",
    "item-2006": "https://example.com/manual.pdf",
}


@pytest.fixture
async def client(settings: Settings):
    async with console_client(settings) as client:
        yield client


@pytest.fixture
async def enterprise(client: httpx.AsyncClient) -> dict:
    return await seed(client)


@pytest.fixture
async def logged_in(client: httpx.AsyncClient, enterprise: dict) -> httpx.AsyncClient:
    response = await log_in(client, enterprise["username"], enterprise["password"])
    assert response.status_code == 303, response.text
    return client


def _record(client: httpx.AsyncClient, handle: str = HANDLE):
    return client.app.state.node.records.get(Handle.parse(handle))


async def _register(client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    form = await client.get("/console/record/new", params={"template": "products-1.0"})
    assert form.status_code == 200, form.text
    data = {"csrf": csrf_of(form.text), "prefix": "88.118.8", "template": "products-1.0"}
    return await client.post("/console/record/new", data={**data, **fields})


async def test_login_page_is_chinese_by_default_with_a_csrf_token(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/console/login", headers={"accept-language": ""})
    assert response.status_code == 200
    assert "企业控制台登录" in response.text
    assert csrf_of(response.text)
    assert "script-src" not in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_login_sets_httponly_samesite_cookies_scoped_to_the_console(
    client: httpx.AsyncClient, enterprise: dict
) -> None:
    response = await log_in(client, enterprise["username"], enterprise["password"])
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("idnode_console="))
    flags = session.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags
    assert "secure" not in flags  # plain http: a Secure cookie would never come back
    dashboard = await client.get("/console/")
    assert dashboard.status_code == 200
    assert enterprise["username"] in dashboard.text


async def test_cookies_are_secure_when_the_operator_says_tls_is_in_front(
    settings: Settings,
) -> None:
    async with console_client(settings.model_copy(update={"console_secure_cookies": True})) as c:
        account = await seed(c)
        response = await log_in(c, account["username"], account["password"])
    cookies = response.headers.get_list("set-cookie")
    assert all("secure" in cookie.lower() for cookie in cookies), cookies


async def test_a_bare_prefix_logs_in_as_its_first_credential(
    client: httpx.AsyncClient, enterprise: dict
) -> None:
    response = await log_in(client, "88.118.8", enterprise["password"])
    assert response.status_code == 303


async def test_wrong_password_is_refused_with_the_form_again(
    client: httpx.AsyncClient, enterprise: dict
) -> None:
    response = await log_in(client, enterprise["username"], "not-the-password")
    assert response.status_code == 401
    assert "Unknown credential or wrong password." in response.text
    assert "idnode_console=" not in response.headers.get("set-cookie", "")


async def test_failed_logins_are_throttled_like_the_apis(
    client: httpx.AsyncClient, enterprise: dict
) -> None:
    for _ in range(10):
        assert (await log_in(client, enterprise["username"], "wrong")).status_code == 401
    # Over the limit even the right password is refused, and the API is throttled alike.
    response = await log_in(client, enterprise["username"], enterprise["password"])
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "Too many failed logins" in response.text


async def test_pages_without_a_session_go_to_the_login_form(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/identifiers", params={"suffix": "A*"})
    assert response.status_code == 303
    location = httpx.URL(response.headers["location"])
    assert location.path == "/console/login"
    assert location.params["next"] == "/console/identifiers?suffix=A%2A"
    operator = await client.get("/console/operator")
    assert operator.headers["location"] == "/console/login?operator=1"


async def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(
    logged_in: httpx.AsyncClient,
) -> None:
    data = {"prefix": "88.118.8", "suffix": "CONSOLE-1", "row-0-index": "1", "row-0-type": "URL"}
    data["row-0-value"] = "https://example.com/"
    for token in (None, "forged-token"):
        sent = data if token is None else {**data, "csrf": token}
        response = await logged_in.post("/console/record/new", data=sent)
        assert response.status_code == 403
        assert "CSRF" in response.text
    assert await _record(logged_in) is None
    logout = await logged_in.post("/console/logout", data={})
    assert logout.status_code == 403


async def test_a_token_from_another_session_is_refused(
    logged_in: httpx.AsyncClient, enterprise: dict
) -> None:
    old = csrf_of((await logged_in.get("/console/record/new")).text)
    logged_in.cookies.clear()
    assert (await log_in(logged_in, enterprise["username"], enterprise["password"])).is_redirect
    response = await logged_in.post(
        "/console/record/new", data={"csrf": old, "suffix": "X", "row-0-index": "1"}
    )
    assert response.status_code == 403


async def test_register_through_the_form_uses_the_template(logged_in: httpx.AsyncClient) -> None:
    response = await _register(logged_in, suffix="CONSOLE-1", **GOOD_ITEMS)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/record?h=88.118.8%2FCONSOLE-1&saved=1"
    record = await _record(logged_in)
    by_index = {v.index: v for v in record.values}
    assert by_index[2000].type == "productName" and by_index[2000].value == "电机控制器"
    assert by_index[1001].value == "products-1.0"
    page = await logged_in.get(response.headers["location"])
    assert "MC-2106" in page.text and "Saved." in page.text
    assert "<td>产品名称</td>" in page.text  # the template item names label the values


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"item-2001": "lower-case"}, "must match the pattern"),
        ({"item-2000": ""}, "required items of template products-1.0 are missing"),
        ({"item-2003": "heavy"}, "must be a number"),
        ({"item-2005": "Z"}, "must be one of A, B, C"),
        ({"item-2002": "2026-13-45"}, "must be a date"),
        ({"suffix": ""}, "suffix"),
        ({"row-0-index": "1001", "row-0-type": "X", "row-0-value": "y"}, "1001"),
        ({"row-0-index": "abc", "row-0-type": "URL", "row-0-value": "y"}, "index must be"),
        ({"row-0-index": "", "row-0-type": "URL", "row-0-value": "y"}, "needs an index"),
    ],
)
async def test_the_server_refuses_what_the_template_refuses(
    logged_in: httpx.AsyncClient, change: dict, message: str
) -> None:
    response = await _register(logged_in, **{"suffix": "CONSOLE-1", **GOOD_ITEMS, **change})
    assert response.status_code == 400, response.text
    assert message in response.text.replace("&#39;", "'")
    # The form comes back as it was sent, with the problem, and nothing is written.
    assert 'value="MC-2106"' in response.text or "item-2001" in change
    assert await _record(logged_in) is None


async def test_register_refuses_a_taken_identifier(logged_in: httpx.AsyncClient) -> None:
    assert (await _register(logged_in, suffix="CONSOLE-1", **GOOD_ITEMS)).status_code == 303
    again = await _register(logged_in, suffix="CONSOLE-1", **GOOD_ITEMS)
    assert again.status_code == 409
    assert "already exists" in again.text


async def test_edit_changes_values_and_keeps_the_template(logged_in: httpx.AsyncClient) -> None:
    await _register(logged_in, suffix="CONSOLE-1", **GOOD_ITEMS)
    form = await logged_in.get("/console/record/edit", params={"h": HANDLE})
    assert form.status_code == 200
    assert "console.js" in form.text
    assert "script-src 'self'" in form.headers["content-security-policy"]
    data = {"csrf": csrf_of(form.text), **GOOD_ITEMS, "item-2001": "MC-2107"}
    data.update({"row-0-index": "1", "row-0-type": "URL", "row-0-value": "https://example.com/x"})
    bad = await logged_in.post(
        "/console/record/edit", params={"h": HANDLE}, data={**data, "item-2004": "0"}
    )
    assert bad.status_code == 400
    assert "must be at least 1" in bad.text
    saved = await logged_in.post("/console/record/edit", params={"h": HANDLE}, data=data)
    assert saved.status_code == 303, saved.text
    by_index = {v.index: v for v in (await _record(logged_in)).values}
    assert by_index[2001].value == "MC-2107"
    assert by_index[1].value == "https://example.com/x"
    assert by_index[1001].value == "products-1.0"


async def test_delete_asks_first_then_deletes(logged_in: httpx.AsyncClient) -> None:
    await _register(logged_in, suffix="CONSOLE-1", **GOOD_ITEMS)
    confirm = await logged_in.get("/console/record/delete", params={"h": HANDLE})
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert await _record(logged_in) is not None  # asking deletes nothing
    done = await logged_in.post(
        "/console/record/delete", params={"h": HANDLE}, data={"csrf": csrf_of(confirm.text)}
    )
    assert done.status_code == 303
    assert await _record(logged_in) is None
    listing = await logged_in.get(done.headers["location"])
    assert f"Deleted {HANDLE}." in listing.text


async def test_another_enterprises_identifiers_are_forbidden(
    logged_in: httpx.AsyncClient,
) -> None:
    context = logged_in.app.state.node
    await context.enterprises.create("Other", "88.118.9", password="other-password")
    for path in ("/console/record", "/console/record/edit", "/console/record/delete"):
        response = await logged_in.get(path, params={"h": "88.118.9/SECRET"})
        assert response.status_code == 403, path
    listing = await logged_in.get("/console/identifiers", params={"prefix": "88.118.9"})
    assert listing.status_code == 403


async def test_search_filters_by_suffix_template_and_date(logged_in: httpx.AsyncClient) -> None:
    await _register(logged_in, suffix="CONSOLE-1", **GOOD_ITEMS)
    await _register(logged_in, suffix="OTHER-2", **GOOD_ITEMS)
    found = await logged_in.get("/console/identifiers", params={"suffix": "CONS*"})
    assert "88.118.8/CONSOLE-1" in found.text and "88.118.8/OTHER-2" not in found.text
    templated = await logged_in.get("/console/identifiers", params={"template": "products-1.0"})
    assert "88.118.8/OTHER-2" in templated.text
    past = await logged_in.get("/console/identifiers", params={"to": "2020-01-01"})
    assert "No identifiers match." in past.text
    bad = await logged_in.get("/console/identifiers", params={"from": "yesterday"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text


async def test_logout_ends_the_session_on_the_server(logged_in: httpx.AsyncClient) -> None:
    cookie = logged_in.cookies.get("idnode_console")
    page = await logged_in.get("/console/")
    response = await logged_in.post("/console/logout", data={"csrf": csrf_of(page.text)})
    assert response.status_code == 303
    # The old cookie, replayed, opens nothing: the token behind it is gone.
    logged_in.cookies.set("idnode_console", cookie, path="/console")
    assert (await logged_in.get("/console/")).status_code == 303


async def test_password_change_needs_the_current_one_and_ends_other_sessions(
    logged_in: httpx.AsyncClient, enterprise: dict
) -> None:
    context = logged_in.app.state.node
    page = await logged_in.get("/console/credentials")
    data = {"csrf": csrf_of(page.text), "new": "a-new-password-2", "repeat": "a-new-password-2"}
    wrong = await logged_in.post("/console/credentials/password", data={**data, "current": "x"})
    assert wrong.status_code == 401
    old_cookie = logged_in.cookies.get("idnode_console")
    changed = await logged_in.post(
        "/console/credentials/password", data={**data, "current": enterprise["password"]}
    )
    assert changed.status_code == 303, changed.text
    assert (await logged_in.get("/console/credentials")).status_code == 200  # a new session
    principal = await context.enterprises.authenticate(enterprise["username"], "a-new-password-2")
    assert principal.username == enterprise["username"]
    with pytest.raises(Unauthenticated):
        await context.enterprises.principal_for_token(old_cookie)
    with pytest.raises(Unauthenticated):
        await context.enterprises.authenticate(enterprise["username"], enterprise["password"])


async def test_register_a_public_key(logged_in: httpx.AsyncClient) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    page = await logged_in.get("/console/credentials")
    token = csrf_of(page.text)
    bad = await logged_in.post(
        "/console/credentials/keys", data={"csrf": token, "prefix": "88.118.8", "public_key": "x"}
    )
    assert bad.status_code == 400 and "not a public key" in bad.text
    done = await logged_in.post(
        "/console/credentials/keys", data={"csrf": token, "prefix": "88.118.8", "public_key": pem}
    )
    assert done.status_code == 303
    listing = await logged_in.get(done.headers["location"])
    assert "301:88.118.8/ADMIN" in listing.text


async def test_statistics_are_svg_charts(logged_in: httpx.AsyncClient) -> None:
    await _register(logged_in, suffix="CONSOLE-1", **GOOD_ITEMS)
    await logged_in.get("/api/handles/88.118.8/CONSOLE-1")
    page = await logged_in.get("/console/stats", params={"days": "7"})
    assert page.status_code == 200
    assert page.text.count("<svg") >= 2
    assert "Registrations per day" in page.text
    assert "88.118.8/CONSOLE-1" in page.text  # resolved once: a top identifier


async def test_operator_login_with_the_admin_token(
    client: httpx.AsyncClient, settings: Settings, enterprise: dict
) -> None:
    form = await client.get("/console/login", params={"operator": "1"})
    token = csrf_of(form.text)
    wrong = await client.post("/console/operator/login", data={"csrf": token, "token": "nope"})
    assert wrong.status_code == 401
    admin = settings.admin_token
    assert isinstance(admin, SecretStr)
    ok = await client.post(
        "/console/operator/login", data={"csrf": token, "token": admin.get_secret_value()}
    )
    assert ok.status_code == 303 and ok.headers["location"] == "/console/operator"
    overview = await client.get("/console/operator")
    assert overview.status_code == 200
    assert "Acme" in overview.text and "88.118.8" in overview.text
    # The operator is not an enterprise: enterprise pages send it back to the login form.
    assert (await client.get("/console/identifiers")).status_code == 303


async def test_an_enterprise_session_does_not_open_the_operator_view(
    logged_in: httpx.AsyncClient,
) -> None:
    response = await logged_in.get("/console/operator")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?operator=1"


async def test_templates_are_created_and_changed_through_the_template_service(
    logged_in: httpx.AsyncClient,
) -> None:
    page = await logged_in.get("/console/templates")
    assert page.status_code == 200 and "products-1.0" in page.text
    token = csrf_of(page.text)
    body = (
        '{"prefix": "88.118.8", "version": "parts-1", "items": [{"name": "批次", "idType":'
        ' "batch", "idIndex": 2000, "metadata": {"type": "integer", "minimum": 1}}]}'
    )
    for text, message in (
        ("{not json", "not JSON"),
        (body.replace('"integer"', '"colour"'), "metadata"),
        (body.replace("2000", "5"), "idIndex"),
    ):
        refused = await logged_in.post("/console/templates", data={"csrf": token, "body": text})
        assert refused.status_code == 400, text
        assert message in refused.text
    created = await logged_in.post("/console/templates", data={"csrf": token, "body": body})
    assert created.status_code == 303, created.text
    context = logged_in.app.state.node
    template = await context.templates.get(await _principal(logged_in), "88.118.8", "parts-1")
    assert template.items[0].rules.type == "integer"
    changed = body.replace('"minimum": 1', '"minimum": 10')
    again = await logged_in.post(
        "/console/templates", data={"csrf": token, "body": changed, "editing": "parts-1"}
    )
    assert again.status_code == 303
    other = await logged_in.post(
        "/console/templates", data={"csrf": token, "body": body, "editing": "products-1.0"}
    )
    assert other.status_code == 400


async def _principal(client: httpx.AsyncClient):
    context = client.app.state.node
    return await context.enterprises.principal_for_token(client.cookies["idnode_console"])
