"""Pages: autoescaped templates, China time, static assets from the package, strict CSP."""

from __future__ import annotations

import httpx
import pytest

from node.web import PAGE_HEADERS, SCRIPT_HEADERS, china_time, render_text

SWITCH = {"zh_CN": "?lang=zh_CN", "en": "?lang=en"}


def test_templates_escape_what_they_are_given() -> None:
    page = render_text(
        "en", "error.html", title_id="Conflict", message="<script>", query='"><i>', switch=SWITCH
    )
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<i>" not in page and "&#34;&gt;&lt;i&gt;" in page


def test_pages_come_in_chinese_and_english() -> None:
    shown = {"title_id": "Identifier not found", "message": "m", "missing": "88.1/<x>"}
    chinese = render_text("zh_CN", "error.html", switch=SWITCH, **shown)
    english = render_text("en", "error.html", switch=SWITCH, **shown)
    assert '<html lang="zh-CN">' in chinese and "未找到该标识" in chinese
    assert "标识 88.1/&lt;x&gt; 未在本节点注册。" in chinese
    assert '<html lang="en">' in english and "Identifier not found" in english
    assert "The identifier 88.1/&lt;x&gt; is not registered on this node." in english


@pytest.mark.parametrize(
    ("timestamp", "locale", "shown"),
    [
        ("2026-12-04T16:30:00Z", "zh_CN", "2026年12月05日 00:30:00"),
        ("2026-12-04T16:30:00Z", "en", "2026-12-05 00:30:00"),
        ("2026-12-04T16:30:00+00:00", "en", "2026-12-05 00:30:00"),
        ("2026-12-04T16:30:00", "en", "2026-12-05 00:30:00"),
        ("2026-12-04T08:30:00+08:00", "en", "2026-12-04 08:30:00"),
        ("not a time", "en", "not a time"),
        ("", "en", ""),
        (None, "en", ""),
    ],
)
def test_times_are_shown_in_china_time(timestamp, locale, shown) -> None:
    assert china_time(timestamp, locale) == shown


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere() -> None:
    policy = PAGE_HEADERS["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    assert "http" not in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # default-src 'none': no script at all
    assert "script-src 'self'" in SCRIPT_HEADERS["Content-Security-Policy"]


def test_the_stylesheet_is_served_by_the_node(node_server) -> None:
    response = httpx.get(f"{node_server.url}/static/web.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "@media" in response.text
    assert httpx.get(f"{node_server.url}/static/nothing.css").status_code == 404
