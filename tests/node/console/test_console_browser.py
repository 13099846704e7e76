"""The console in a real browser (Debian's chromium) against a real node on a free port.

Log in, register through the form (validation as you type), edit, delete with confirmation,
CSRF rejection, the session cookie's flags, login throttling, the operator view's access
control, and axe-core on the main pages. Screenshots are kept under var/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from node import Settings, create_app
from node.demo import DEMO_TEMPLATE

from ...browsing import axe_violations, open_page, screenshot
from ...conftest import ADMIN_TOKEN
from ...servers import ThreadedServer
from ..helpers import create_enterprise

pytestmark = pytest.mark.slow

HANDLE = "88.118.8/WEB-0001"
SAMPLE = Path(__file__).parents[3] / "examples" / "products.csv"


@pytest.fixture
def node(settings: Settings) -> Iterator[dict]:
    """A node with an enterprise (88.118.8) and the demo's typed product template."""
    with ThreadedServer(create_app(settings)) as server:
        acme = create_enterprise(server.url, "Acme", "88.118.8")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            token = client.post(
                "/identity/token", json={"username": acme["username"], "password": acme["password"]}
            ).json()["data"]["token"]
            created = client.post(
                "/snms/api/v5/template", json=DEMO_TEMPLATE, headers={"Authorization": token}
            )
            assert created.json()["status"] == 1, created.text
        yield {"url": server.url, **acme}


def _clean(page: Any, name: str) -> None:
    """No CSP complaint and no serious accessibility violation on the page; a screenshot."""
    assert not page.csp_errors, page.csp_errors
    violations = axe_violations(page)
    assert not violations, violations
    screenshot(page, name)


def _log_in(page: Any, node: dict, password: str | None = None) -> Any:
    response = page.goto(f"{node['url']}/console/")
    assert response is not None and response.status == 200  # the login form, after a redirect
    page.get_by_label("凭据").fill(node["username"])
    page.get_by_label("密码").fill(password or node["password"])
    page.get_by_role("button", name="登录").click()
    return page


def test_log_in_register_edit_and_delete(node: dict, backend: str, browser) -> None:
    with open_page(browser, width=1280) as page:
        _clean(page.goto(f"{node['url']}/console/login") and page, f"console-login-{backend}")
        _log_in(page, node)
        page.wait_for_url(f"{node['url']}/console/")
        assert page.locator("h1").inner_text() == "概览"
        session = next(c for c in page.context.cookies() if c["name"] == "idnode_console")
        assert session["httpOnly"] and session["sameSite"] == "Strict"
        assert session["path"] == "/console" and not session["secure"]  # plain http here
        _clean(page, f"console-dashboard-{backend}")

        # Register through the form, the template's rules checked as one types.
        page.goto(f"{node['url']}/console/record/new?template=products-1.0")
        page.get_by_label("标识").fill("WEB-0001")
        page.get_by_label("产品名称").fill("电机控制器")
        model = page.get_by_label("型号")
        model.fill("lower-case")
        assert model.get_attribute("aria-invalid") == "true"
        assert "^[A-Z0-9-]+$" in page.locator("#item-2001-error").inner_text()
        model.fill("MC-2106")
        assert model.get_attribute("aria-invalid") is None
        page.get_by_label("生产日期").fill("2026-12-01")
        page.get_by_label("等级").select_option("B")
        _clean(page, f"console-register-{backend}")
        page.get_by_role("button", name="注册", exact=True).click()
        page.wait_for_url(f"{node['url']}/console/record?h=88.118.8%2FWEB-0001&saved=1")
        assert page.locator("h1").inner_text() == HANDLE
        assert page.get_by_role("status").inner_text() == "已保存。"
        _clean(page, f"console-record-{backend}")

        # Edit: the browser refuses a value out of range; the server saves a good one.
        page.get_by_role("link", name="编辑").click()
        quantity = page.get_by_label("数量")
        quantity.fill("0")
        page.get_by_role("button", name="保存").click()
        assert "/console/record/edit" in page.url  # the script kept the bad form here
        assert quantity.get_attribute("aria-invalid") == "true"
        quantity.fill("12")
        _clean(page, f"console-edit-{backend}")
        page.get_by_role("button", name="保存").click()
        page.wait_for_url("**/console/record?h=*&saved=1")
        assert page.get_by_role("cell", name="12", exact=True).is_visible()

        # Search finds it; delete asks first.
        page.goto(f"{node['url']}/console/identifiers?suffix=WEB*")
        assert page.get_by_role("link", name=HANDLE, exact=True).is_visible()
        _clean(page, f"console-identifiers-{backend}")
        page.get_by_role("link", name=HANDLE, exact=True).click()
        page.get_by_role("link", name="删除").click()
        assert page.locator("h1").inner_text() == "确定删除该标识？"
        page.get_by_role("button", name="确定删除").click()
        page.wait_for_url("**/console/identifiers?*deleted=*")
        assert f"已删除 {HANDLE}。" in page.get_by_role("status").inner_text()
        assert httpx.get(f"{node['url']}/api/handles/{HANDLE}").status_code == 404

        for path, name in (
            ("stats", "stats"),
            ("credentials", "credentials"),
            ("templates", "templates"),
            ("import", "import"),
        ):
            page.goto(f"{node['url']}/console/{path}")
            _clean(page, f"console-{name}-{backend}")


def test_the_console_fits_a_phone_in_english(node: dict, browser) -> None:
    with open_page(browser, width=390, locale="en") as page:
        # By keyboard alone: the skip link, then the credential, the password, Enter.
        page.goto(f"{node['url']}/console/login")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        page.locator("#username").focus()
        page.keyboard.type(node["username"])
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "password"
        page.keyboard.type(node["password"])
        page.keyboard.press("Enter")
        page.wait_for_url(f"{node['url']}/console/")
        for path in ("", "identifiers", "record/new?template=products-1.0", "stats"):
            page.goto(f"{node['url']}/console/{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"/console/{path}: {overflow} px wider than the window"
        _clean(page, "console-register-en-390")


def test_a_form_without_its_csrf_token_is_refused(node: dict, browser) -> None:
    with open_page(browser, width=1280) as page:
        _log_in(page, node)
        page.wait_for_url(f"{node['url']}/console/")
        page.goto(f"{node['url']}/console/record/new")
        page.get_by_label("标识").fill("FORGED")
        page.locator("input[name=row-0-index]").fill("1")
        page.locator("input[name=row-0-type]").fill("URL")
        page.locator("input[name=row-0-value]").fill("https://example.com/")
        # As a forged cross-site form would arrive: without the token.
        page.evaluate("document.querySelectorAll('input[name=csrf]').forEach(e => e.remove())")
        page.get_by_role("button", name="注册", exact=True).click()
        assert page.locator("h1").inner_text() == "表单被拒绝（CSRF 校验）"
        _clean(page, "console-csrf-refused")
    assert httpx.get(f"{node['url']}/api/handles/88.118.8/FORGED").status_code == 404


def test_failed_logins_are_throttled(node: dict, browser) -> None:
    with open_page(browser, width=390) as page:
        for _ in range(10):
            _log_in(page, node, password="wrong-password")
            assert page.get_by_role("alert").inner_text() == "凭据不存在或密码错误。"
        _log_in(page, node)  # the right password, now too late
        assert page.get_by_role("alert").inner_text() == "登录失败次数过多，请稍候一分钟再试。"
        assert "/console/login" in page.url


def test_the_operator_view_needs_the_admin_token(node: dict, browser) -> None:
    with open_page(browser, width=1280, locale="en") as page:
        page.goto(f"{node['url']}/console/login")
        page.get_by_label("Credential").fill(node["username"])
        page.get_by_label("Password").fill(node["password"])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{node['url']}/console/")
        # An enterprise session does not open the operator's view.
        page.goto(f"{node['url']}/console/operator")
        assert page.locator("h1").inner_text() == "Node operator login"
        page.get_by_label("Admin token").fill("not-the-token")
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("alert").inner_text() == "That is not the admin token."
        page.get_by_label("Admin token").fill(ADMIN_TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{node['url']}/console/operator")
        assert page.locator("h1").inner_text() == "Node 88.118"
        assert page.get_by_role("cell", name="Acme", exact=True).is_visible()
        _clean(page, "console-operator")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(f"{node['url']}/console/login")


def test_import_the_sample_csv_dry_run_first(node: dict, backend: str, browser) -> None:
    with open_page(browser, width=1280) as page:
        _log_in(page, node)
        page.wait_for_url(f"{node['url']}/console/")
        page.get_by_role("link", name="导入", exact=True).click()
        page.get_by_label("文件（CSV 或 Excel）").set_input_files(str(SAMPLE))
        page.get_by_role("button", name="检查文件（试运行）").click()
        assert "共 5 行：4 行可导入，1 行有问题。" in page.get_by_role("status").inner_text()
        assert page.get_by_role("cell", name="2026-02-30", exact=False).count() >= 1
        _clean(page, f"console-import-dry-run-{backend}")
        assert httpx.get(f"{node['url']}/api/handles/88.118.8/P2026001").status_code == 404
        page.get_by_label("文件（CSV 或 Excel）").set_input_files(str(SAMPLE))
        page.get_by_role("button", name="导入", exact=True).click()
        page.wait_for_url("**/console/import/job?id=*")
        page.get_by_text("已完成。").wait_for(timeout=30_000)
        assert page.locator("progress").get_attribute("value") == "5"
        _clean(page, f"console-import-done-{backend}")
    assert httpx.get(f"{node['url']}/api/handles/88.118.8/P2026001").status_code == 200
    assert httpx.get(f"{node['url']}/api/handles/88.118.8/P2026004").status_code == 404


def test_the_operator_sets_a_quota_and_finds_it_in_the_audit_log(node: dict, browser) -> None:
    with open_page(browser, width=1280) as page:
        page.goto(f"{node['url']}/")
        page.get_by_role("link", name="企业控制台").click()
        page.wait_for_url(f"{node['url']}/console/login*")
        page.goto(f"{node['url']}/console/login?operator=1")
        page.get_by_label("管理令牌").fill(ADMIN_TOKEN)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{node['url']}/console/operator")
        page.get_by_role("link", name="配额与用量 · Acme").click()
        page.wait_for_url("**/console/operator/enterprises/*/quotas")
        _clean(page, "console-quotas")

        # A bad value is explained at its field; nothing is saved.
        page.get_by_label("标识", exact=True).fill("-5")
        page.get_by_role("button", name="保存配额").click()
        assert page.get_by_label("标识", exact=True).get_attribute("aria-invalid") == "true"
        assert "请输入不小于 0 的整数" in page.locator("#quota-identifiers-error").inner_text()

        page.get_by_label("标识", exact=True).fill("500")
        page.get_by_role("button", name="保存配额").click()
        page.wait_for_url("**/quotas?done=saved")
        assert "配额已保存" in page.get_by_role("status").inner_text()
        assert page.get_by_role("row", name="标识").get_by_role("cell").first.inner_text() == "500"

        page.get_by_role("link", name="审计日志中的配额变更").click()
        page.wait_for_url("**/console/operator/audit?action=quota.set")
        rows = page.locator("table.audit tbody tr")
        assert rows.count() == 1
        assert "quota.set" in rows.first.inner_text()
        assert "identifiers: 500" in rows.first.inner_text()
        assert "console" in rows.first.inner_text()  # audited as the operator, via the console
        _clean(page, "console-audit")
        # The filters narrow it: no quota change on another prefix.
        page.get_by_label("对象前缀").fill("88.118.9")
        page.get_by_role("button", name="筛选").click()
        page.get_by_text("没有符合条件的审计条目。").wait_for()


def test_a_template_made_with_the_form_registers_an_identifier(node: dict, browser) -> None:
    with open_page(browser, width=390) as page:
        _log_in(page, node)
        page.wait_for_url(f"{node['url']}/console/")
        page.goto(f"{node['url']}/console/templates")
        page.get_by_label("版本").fill("form-1.0")
        page.locator("#item-0-name").fill("出厂日期")
        page.locator("#item-0-idType").fill("madeOn")
        assert page.locator("#item-0-idIndex").input_value() == "2000"
        page.locator("#item-0-kind").select_option("date")
        page.locator("#item-0-required").check()
        # Another row, by the server: the values typed so far come back.
        page.get_by_role("button", name="添加属性").click()
        assert page.locator("#item-0-name").input_value() == "出厂日期"
        assert page.locator("#item-0-required").is_checked()
        assert page.locator("#item-1-idIndex").input_value() == "2001"
        page.locator("#item-1-name").fill("颜色")
        page.locator("#item-1-idType").fill("colour")
        page.locator("#item-1-kind").select_option("enum")
        page.locator("#item-1-enum").fill("红\n蓝")
        _clean(page, "console-template-form")
        page.set_viewport_size({"width": 1280, "height": 900})
        screenshot(page, "console-template-form-1280")
        page.locator("#item-1-idType").press("Enter")  # Enter saves (never removes a row)
        page.wait_for_url("**/console/templates?prefix=88.118.8&saved=form-1.0")
        assert page.get_by_role("status").inner_text() == "模板 form-1.0 已保存。"

        page.goto(f"{node['url']}/console/record/new?template=form-1.0")
        page.get_by_label("标识").fill("FORM-1")
        page.get_by_label("出厂日期").fill("2026-12-01")
        page.get_by_label("颜色").select_option("蓝")
        page.get_by_role("button", name="注册", exact=True).click()
        page.wait_for_url("**/console/record?h=88.118.8%2FFORM-1&saved=1")
        assert page.get_by_role("cell", name="蓝", exact=True).is_visible()
    values = httpx.get(f"{node['url']}/api/handles/88.118.8/FORM-1").json()["values"]
    data = {v["index"]: v["data"]["value"] for v in values}
    assert data[2000] == "2026-12-01" and data[2001] == "蓝"
