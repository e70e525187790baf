"""Playwright driving Debian's Chromium against pytest-django's live server."""

import os
from pathlib import Path

import pytest

from conftest import chromium_path
from tests.factories import PASSWORD

_ROOT = Path(__file__).resolve().parents[2]
# A test run leaves the working tree clean: screenshots go to the ignored tests/artifacts/ unless
# IAZE_REFRESH_SCREENSHOTS=1 asks to refresh the ones the README shows.
SCREENSHOTS = (
    _ROOT / "docs" / "screenshots"
    if os.environ.get("IAZE_REFRESH_SCREENSHOTS") == "1"
    else _ROOT / "tests" / "artifacts" / "screenshots"
)
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls the test
    # makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def login(browser, live_server):
    """A logged-in page of a fresh browser context (its own cookies) for a user."""

    def _login(user, *, viewport=None):
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 820}, locale="pt-BR")
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("E-mail").fill(user.email)
        page.get_by_label("Senha").fill(PASSWORD)
        page.get_by_role("button", name="Entrar").click()
        page.wait_for_url(f"{live_server.url}/tickets/")
        return page

    return _login
