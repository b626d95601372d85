"""The api's browsable schema (/docs, /redoc) works with no network beyond the server: its
scripts and styles are served by the server itself, never from a CDN."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")


def _assets(page: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_schema_pages_load_their_scripts_and_styles_from_the_server(sqlite_api: Any, path: str) -> None:
    page = httpx.get(sqlite_api.url + path)
    assets = _assets(page.text)
    assert page.status_code == 200 and assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        answer = httpx.get(sqlite_api.url + asset)
        assert answer.status_code == 200 and answer.content, asset


@pytest.mark.browser
def test_the_swagger_page_shows_every_operation_with_the_outside_world_cut_off(sqlite_api: Any) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    outside: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(sqlite_api.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.route("**/*", only_the_server)
            page.goto(sqlite_api.url + "/docs")
            operation = page.locator(".opblock-summary-path", has_text="/customers/{key}")
            sync_api.expect(operation).to_be_visible(timeout=15_000)
        finally:
            browser.close()
    assert outside == []
