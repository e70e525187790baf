"""The client panel in a real browser: agent 1 tags the client, renames it, and finds it in the queue by the
tag filter and by the new name typed without accents."""

import pytest
from playwright.sync_api import expect

from accounts.models import Client, Tag
from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets.models import TicketEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tag_rename_and_find_the_client(live_server, login, tenant, agent1):
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta")
    vip = Tag.objects.create(reseller=tenant.reseller, name="VIP", color=Tag.Color.PURPLE)
    ticket = f.make_ticket(
        conn, client=f.make_client(tenant.reseller, name="Cliente 5511", wa_id="5511987650001"), agent=agent1
    )
    f.make_ticket(conn, client=f.make_client(tenant.reseller, name="Outra Pessoa"), agent=agent1)

    page = login(agent1)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    row = page.locator(f'[data-tag-row="{vip.pk}"]')
    row.locator('[data-toggle="client"]').click()
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator(f'[data-tag-row="{vip.pk}"] [data-toggle="client"]')).to_have_attribute("aria-pressed", "true")

    page.get_by_label("Renomear cliente").fill("Conceição Araújo")
    page.get_by_role("button", name="Salvar nome").click()
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator("[data-client-name]")).to_have_text("Conceição Araújo")
    expect(page.locator("[data-previous-names]")).to_have_text("Cliente 5511")
    page.screenshot(path=str(SCREENSHOTS / "client-panel.png"), full_page=True)
    assert Client.objects.get(pk=ticket.client_id).previous_names == ["Cliente 5511"]
    assert TicketEvent.objects.filter(ticket=ticket, action__in=["tagged", "client_renamed"]).count() == 2

    page.goto(f"{live_server.url}/tickets/?status=atendendo")
    page.get_by_text("Filtros", exact=True).click()  # the filters besides the search are folded away
    page.get_by_label("Etiqueta").select_option(label="VIP")
    page.get_by_role("button", name="Filtrar").click()
    rows = page.locator(".ticket-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Conceição Araújo")
    expect(rows.first.locator(".tag-chip")).to_have_text("VIP")

    page.goto(f"{live_server.url}/tickets/?status=atendendo")
    page.get_by_label("Buscar").fill("conceicao arau")
    page.get_by_role("button", name="Filtrar").click()
    expect(page.locator(".ticket-row")).to_have_count(1)
    expect(page.locator(".ticket-row").first).to_contain_text("Conceição Araújo")
