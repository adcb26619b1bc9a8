"""A real Chromium (Debian's, driven by Playwright) against the real app in a thread.

Every page opened through :func:`open_page` records its requests; a test fails if one of
them went to any host but the test server. Screenshots land in ``test-artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.config import Settings
from tests.conftest import LiveServer

CHROMIUM = os.environ.get("DOCKYARD_TEST_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/chromium.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=data, database_url=f"sqlite:///{data / 'd.db'}", workers=1)
    with LiveServer(settings) as server:
        yield server


class Pages:
    """Opens pages in fresh browser contexts and checks where their requests went."""

    def __init__(self, browser, site: LiveServer):
        self.browser = browser
        self.site = site
        self.contexts = []
        self.foreign: list[str] = []
        self.errors: list[str] = []

    def open(self, path: str, viewport: dict = DESKTOP, **options):
        """A page in a fresh context. Its Content-Security-Policy is bypassed unless
        ``bypass_csp=False``: Playwright's ``wait_for_function`` polls its predicate with
        ``eval``, which the pages' policy forbids (``tests/browser/test_accounts_in_browser.py``
        opens the pages under the policy and fails on any violation)."""
        options.setdefault("bypass_csp", True)
        context = self.browser.new_context(viewport=viewport, accept_downloads=True, **options)
        self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("request", self._record)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.goto(self.site.url + path)
        return page

    def _record(self, request) -> None:
        url = request.url
        if not url.startswith((self.site.url + "/", "data:", "blob:")):
            self.foreign.append(url)

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, site: LiveServer) -> Iterator[Pages]:
    opened = Pages(browser, site)
    yield opened
    opened.close()
    assert opened.foreign == [], "pages must make no request to any other host"
    assert opened.errors == [], "the pages' scripts raised errors"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
