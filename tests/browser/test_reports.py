"""The report page in a real browser, as the reseller: figures, charts and their tables.

It also takes docs/screenshots/reports.png (with IAZE_REFRESH_SCREENSHOTS=1)."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tests.reports.history import clock, rate, ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = ["Maria", "João", "Ana", "Pedro", "Carla", "Lucas", "Beatriz", "Rafael", "Juliana", "Marcos"]


def _history(tenant, meta_conn, agents):
    """Three weeks of tickets at known pseudo-random times (a fixed seed): the same page on every run."""
    rng = random.Random(16)
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for i in range(70):
        opened = now - timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 10))
        opened = opened.replace(hour=rng.choice([9, 10, 10, 11, 14, 15, 16, 19]))
        if opened > now:
            opened -= timedelta(days=1)
        agent = rng.choice(agents)
        client = f.make_client(meta_conn.reseller, name=f"{rng.choice(NAMES)} {i}")
        kind = rng.random()
        dept = tenant.financeiro if agent.email.startswith("agente3") else None
        if kind < 0.12:
            with clock(opened):
                f.make_ticket(meta_conn, client=client)  # waiting
            continue
        t = ticket(
            meta_conn,
            opened=opened,
            client=client,
            dept=dept,
            agent=agent,
            reply_after=rng.randint(40, 1800),
            close_after=rng.randint(1900, 14000) if kind > 0.3 else None,
        )
        if t.closed_at and rng.random() < 0.7:
            rate(t, rng.choice([3, 4, 4, 5, 5, 5, 2]))


def test_report_page(live_server, login, tenant, meta_conn, agent1, agent2, agent3, reseller_user):
    _history(tenant, meta_conn, [agent1, agent2, agent3])
    page = login(reseller_user)
    page.get_by_role("link", name="Relatórios").click()
    page.select_option("select[name=periodo]", "30d")
    page.get_by_role("button", name="Ver").click()
    expect(page.locator("#kpi-opened")).to_have_text("70")
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.get_by_role("columnheader", name="Primeira resposta (mediana)").first).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "reports.png"), full_page=True)
