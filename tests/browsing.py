"""Real-browser tests: Playwright driving Debian's chromium, axe-core checks, screenshots.

Playwright never downloads a browser here: it launches the ``chromium`` on the PATH (Debian's
package, installed by ``make browser-tools`` and ``.ci/run``). axe-core is npm's package,
installed by ``make browser-tools`` under ``.venv/npm`` (or named by ``IDNODE_TEST_AXE``).
Screenshots go to ``var/artifacts/`` (git-ignored), kept after the run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "ARTIFACTS",
    "axe_source",
    "axe_violations",
    "chromium_path",
    "launch_browser",
    "open_page",
    "screenshot",
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "var" / "artifacts"
_AXE = Path(sys.prefix) / "npm" / "node_modules" / "axe-core" / "axe.min.js"
# axe-core's impacts worth failing a test for.
SERIOUS = frozenset({"serious", "critical"})


def _missing(what: str, how: str) -> None:
    message = f"{what} is not installed ({how})"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def chromium_path() -> str:
    """Debian's chromium, or a skip (a failure under CI=true) when it is not installed."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _missing("chromium", "make browser-tools, or apt-get install chromium")
    assert found is not None
    return found


def axe_source() -> str:
    """axe-core's script, from npm's package (``make browser-tools``)."""
    path = Path(os.environ.get("IDNODE_TEST_AXE") or _AXE)
    if not path.is_file():
        _missing(f"axe-core ({path})", "make browser-tools")
    return path.read_text()


@contextlib.contextmanager
def launch_browser() -> Iterator[Any]:
    """A headless chromium under Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def open_page(browser: Any, *, width: int = 390, locale: str = "zh-CN") -> Iterator[Any]:
    """A fresh context (no cookies) at ``width`` px, its Accept-Language from ``locale``.

    ``page.csp_errors`` collects the console's Content-Security-Policy complaints.
    """
    context = browser.new_context(
        viewport={"width": width, "height": 844 if width < 600 else 900},
        locale=locale,
        device_scale_factor=1,
        is_mobile=width < 600,
        has_touch=width < 600,
    )
    try:
        page = context.new_page()
        page.csp_errors = []
        page.on(
            "console",
            lambda message: (
                page.csp_errors.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        yield page
    finally:
        context.close()


def axe_violations(page: Any, impacts: frozenset[str] = SERIOUS) -> list[dict[str, Any]]:
    """axe-core's violations on the page at ``impacts`` (serious and critical by default).

    Injected through the DevTools protocol, which the page's CSP does not govern.
    """
    page.evaluate(axe_source())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": item["id"],
            "impact": item["impact"],
            "help": item["help"],
            "nodes": [node["html"] for node in item["nodes"][:3]],
        }
        for item in result["violations"]
        if item["impact"] in impacts
    ]


def screenshot(page: Any, name: str) -> Path:
    """A full-page screenshot kept as ``var/artifacts/<name>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
