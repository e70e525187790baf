"""The supervisor's panel in a real browser: it follows an agent coming online and a new client waiting
without a reload (htmx's refresh), and its TV mode (docs/screenshots/panel-tv.png with
IAZE_REFRESH_SCREENSHOTS=1)."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from iaze.lib import clock
from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_panel_follows_presence_and_waiting_clients_live(login, meta_conn, agent1, agent2, agent3, reseller_user):
    f.make_ticket(meta_conn, agent=agent2, text="Minha internet caiu")
    waiting = f.make_ticket(meta_conn, text="Quero mudar meu plano")
    Ticket.objects.filter(pk=waiting.pk).update(created_at=clock.now() - timedelta(minutes=20))
    boss = login(reseller_user)
    boss.get_by_role("link", name="Painel").click()
    suporte = boss.locator(f'tr[data-department="{meta_conn.default_department_id}"]')
    expect(suporte.locator(".panel-waiting")).to_have_text("1")
    expect(suporte).to_have_attribute("data-wait", "late")  # past the tenant's 15 minutes
    row = boss.locator(f'tr[data-agent="{agent1.pk}"]')
    expect(row).to_have_attribute("data-online", "0")

    login(agent1)  # the agent's queue page: online from its first request
    f.make_ticket(meta_conn, text="Boa tarde, alguém aí?")
    # No reload: the panel's own refresh (every 5 s) brings both changes.
    expect(row).to_have_attribute("data-online", "1", timeout=15_000)
    expect(suporte.locator(".panel-waiting")).to_have_text("2", timeout=15_000)
    expect(boss.locator(f'tr[data-agent="{agent2.pk}"] .panel-unanswered')).to_have_text("1")

    boss.get_by_role("link", name="Modo TV").click()
    expect(boss.locator("header.topbar")).to_be_hidden()
    expect(boss.get_by_role("button", name="Tela cheia")).to_be_visible()
    boss.set_viewport_size({"width": 1600, "height": 900})
    boss.screenshot(path=str(SCREENSHOTS / "panel-tv.png"))
