"""The record page, the landing search and the 404 page in a real browser (Debian's chromium).

A real node on a free port signs with a key certified by a root it trusts; the record is
registered through SNMS with a template whose item is named 产品名称. Screenshots at 390 and
1280 px in Chinese and English are kept under var/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from node import Settings, create_app
from node.context import NodeContext
from node.trust import publish_keys
from registry.trust import KeyStore
from toplevel import RootAuthority

from ...browsing import axe_violations, open_page, screenshot
from ...servers import ThreadedServer
from ..helpers import create_enterprise

# Each test starts a node and a browser: scheduled first, as the other slow tests are.
pytestmark = pytest.mark.slow

HANDLE = "88.118.8/JXDY2106023"
TEMPLATE = {
    "prefix": "88.118.8",
    "version": "1.0",
    "description": "电机控制器",
    "industryCategory": "C",
    "industrySpecific": "38",
    "industryTrade": "381",
    "industrySubclass": "3812",
    "type": 1,
    "items": [
        {
            "name": "产品名称",
            "idType": "productName",
            "idIndex": 2000,
            "required": True,
            "state": 1,
            "metadata": {"type": "string", "minLength": 1, "maxLength": 40},
        },
        {
            "name": "产品说明书",
            "idType": "manual",
            "idIndex": 2001,
            "required": False,
            "state": 1,
            "metadata": {"type": "string", "minLength": 0, "maxLength": 200},
        },
    ],
}
VALUES = [
    {"index": 2000, "type": "productName", "data": {"format": "string", "value": "电机控制器 Motor controller"}},
    {"index": 2001, "type": "manual", "data": {"format": "string", "value": "https://example.com/manuals/JXDY2106023.pdf"}},
]  # fmt: skip


@pytest.fixture
async def signing_settings(settings: Settings, tmp_path: Path) -> Settings:
    """A node whose key the root certified, published at 0.NA/88.118, trusting that root."""
    root = RootAuthority.open(tmp_path / "root")
    root_file = tmp_path / "root.jws"
    root_file.write_text(root.root_certificate())
    signing = settings.model_copy(
        update={"keys_dir": str(tmp_path / "keys"), "trust_root_file": str(root_file)}
    )
    store = KeyStore(signing.keys_dir)
    info = store.generate()
    active = store.active()
    assert active is not None
    store.set_certificate(info.kid, root.certify_node("88.118", active.public_jwk(), info.index))
    async with NodeContext(signing) as context:
        await publish_keys(context.records, signing)
    return signing


@pytest.fixture
def node(signing_settings: Settings) -> Iterator[str]:
    """The node's URL, with the templated, signed record registered through SNMS."""
    with ThreadedServer(create_app(signing_settings)) as server:
        acme = create_enterprise(server.url, "Acme", "88.118.8")
        with httpx.Client(base_url=server.url, timeout=60) as client:
            token = client.post(
                "/identity/token", json={"username": acme["username"], "password": acme["password"]}
            ).json()["data"]["token"]
            headers = {"Authorization": token}
            created = client.post("/snms/api/v5/template", json=TEMPLATE, headers=headers)
            assert created.json()["status"] == 1, created.text
            body = {"handle": HANDLE, "templateVersion": "1.0", "value": VALUES}
            registered = client.post("/identityv2/data", json=body, headers=headers)
            assert registered.json()["status"] == 1, registered.text
        yield server.url


def _no_serious_violations(page: Any) -> None:
    violations = axe_violations(page)
    assert not violations, violations


@pytest.mark.parametrize(
    ("locale", "label", "mark", "folded"),
    [
        ("zh-CN", "产品名称", "签名已通过国家根节点验证", "技术信息"),
        ("en-US", "产品名称", "Signature verified by the national root", "Technical details"),
    ],
)
def test_the_record_page_at_phone_and_desktop_width(
    node: str, backend: str, locale: str, label: str, mark: str, folded: str, browser
) -> None:
    for width in (390, 1280):
        with open_page(browser, width=width, locale=locale) as page:
            response = page.goto(f"{node}/{HANDLE}")
            assert response is not None and response.status == 200
            policy = response.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "unsafe-inline" not in policy
            assert page.locator("h1").inner_text() == HANDLE
            # The template's item names label the values, not their indexes.
            terms = page.locator("dl.fields dt").all_inner_texts()
            assert label in terms and "产品说明书" in terms and "2000" not in " ".join(terms)
            assert page.get_by_text("电机控制器 Motor controller").is_visible()
            link = page.get_by_role("link", name="https://example.com/manuals/JXDY2106023.pdf")
            assert link.get_attribute("href") == "https://example.com/manuals/JXDY2106023.pdf"
            assert page.locator("#trust").inner_text().strip().endswith(mark)
            # The signature is there but folded away until asked for.
            signature = page.locator("details pre", has_text="eyJ")
            assert signature.count() >= 1 and not signature.first.is_visible()
            page.get_by_text(folded).click()
            assert signature.first.is_visible()
            # Nothing wider than the screen: no sideways scrolling on a phone.
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{overflow} px wider than the {width} px window"
            assert not page.csp_errors, page.csp_errors
            _no_serious_violations(page)
            screenshot(page, f"record-{locale[:2]}-{width}-{backend}")


def test_the_language_switch_is_remembered(node: str, browser) -> None:
    with open_page(browser, locale="zh-CN") as page:
        page.goto(f"{node}/{HANDLE}")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        page.get_by_role("link", name="English").click()
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Identifier" in page.locator("article").inner_text()
        page.goto(f"{node}/{HANDLE}")  # the cookie remembers the choice
        assert page.locator("html").get_attribute("lang") == "en"


@pytest.mark.parametrize(
    "typed",
    [
        HANDLE,
        f"  hdl:{HANDLE} ",
        f"https://another-node.example/{HANDLE}",
        "https://resolver.example/api/handles/88.118.8%2FJXDY2106023",
    ],
)
def test_the_landing_page_finds_an_identifier(node: str, typed: str, browser) -> None:
    with open_page(browser, width=390) as page:
        response = page.goto(f"{node}/")
        assert response is not None and response.status == 200
        _no_serious_violations(page)
        page.get_by_label("查询标识").fill(typed)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{node}/{HANDLE}?noredirect")
        assert page.locator("h1").inner_text() == HANDLE


def test_a_scanned_code_no_rule_maps_is_explained(node: str, browser) -> None:
    with open_page(browser, width=390, locale="en") as page:
        page.goto(f"{node}/")
        page.get_by_label("Look up an identifier").fill("https://id.gs1.org/01/09506000134352")
        page.get_by_role("button", name="Look up").click()
        assert "No identifier could be read" in page.locator("[role=alert]").inner_text()
        _no_serious_violations(page)
        screenshot(page, "landing-en-390-unmapped")


def test_the_404_page_in_the_same_style(node: str, browser) -> None:
    with open_page(browser, width=390) as page:
        response = page.goto(f"{node}/88.118.8/NO-SUCH-THING")
        assert response is not None and response.status == 404
        assert "content-security-policy" in response.headers
        assert page.locator("h1").inner_text() == "未找到该标识"
        assert "88.118.8/NO-SUCH-THING 未在本节点注册" in page.locator("main").inner_text()
        assert page.get_by_label("查询标识").is_visible()  # search again from here
        assert not page.csp_errors, page.csp_errors
        _no_serious_violations(page)
        screenshot(page, "not-found-zh-390")
