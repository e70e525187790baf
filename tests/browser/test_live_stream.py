"""A client's message appears in the agent's queue from the event stream, with no poll: Chromium against a
real server (uvicorn workers, as `make run`), since the tests' live server is WSGI (where /eventos/ answers
204 and the pages poll, as every other browser test shows)."""

import json

import pytest

from conftest import chromium_path
from tests.browser.conftest import CHROMIUM_ARGS
from tests.ops.helpers import PASSWORD, ROOT, App, meta_text_body, post_meta, scratch, seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_new_client_message_appears_without_a_poll(tmp_path, monkeypatch):
    import requests
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with scratch(tmp_path, "sqlite") as db:
        seed(db)
        # The pages' scripts are served from the collected files, as `make run` collects them (scripts/run.sh):
        # a fresh clone has none.
        db.manage("collectstatic", "--noinput", "-v0")
        app = App(db, workers=1).start()
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
                page = browser.new_context(locale="pt-BR").new_page()
                page.goto(f"{app.base}/accounts/login/")
                page.get_by_label("E-mail").fill("agente1@demo.local")
                page.get_by_label("Senha").fill(PASSWORD)
                page.get_by_role("button", name="Entrar").click()
                page.wait_for_url(f"{app.base}/tickets/")
                page.goto(f"{app.base}/tickets/?status=espera")
                page.wait_for_selector("html[data-live=on]", timeout=30_000)
                polls: list[str] = []
                page.on("request", lambda r: polls.append(r.url) if "v=" in r.url and "/tickets/" in r.url else None)

                template = json.loads((ROOT / "tests" / "payloads" / "meta_text.json").read_text())
                body = meta_text_body(
                    template, wamid="wamid.BROWSERLIVE", wa_id="5511966660001", text="Oi", name="Cliente Ao Vivo"
                )
                assert post_meta(requests.Session(), app.base, body).status_code == 200
                page.wait_for_selector("#queue-live >> text=Cliente Ao Vivo", timeout=30_000)
                # Only the refreshes the events asked for, at most one per event (ticket.created, message.received,
                # and an automatic greeting's message.sent and status); the timed poll stood down meanwhile.
                assert 1 <= len(polls) <= 4, polls
                browser.close()
        finally:
            app.stop_quietly()
