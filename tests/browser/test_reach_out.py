"""Novo atendimento and Agendamentos in a real browser: from a finalizado ticket's page the agent starts a new
conversation, then schedules a message and cancels it from the list."""

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets.models import MessageTemplate, ScheduledMessage, Ticket, UIState
from whatsapp.models import Connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_novo_atendimento_then_a_scheduled_message_cancelled(live_server, login, tenant, agent1):
    meta = f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta")
    evo = f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="demo-evolution"
    )
    MessageTemplate.objects.create(
        connection=meta, name="retomar_atendimento", language="pt_BR", body="Olá {{1}}, podemos continuar?"
    )
    contact = f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321")
    closed = f.make_ticket(evo, client=contact, agent=agent1, closed_by=agent1)
    page = login(agent1)
    page.goto(f"{live_server.url}/tickets/{closed.pk}/")
    form = page.locator('form[data-reach="start"]')
    expect(page.locator("[data-window-rule]")).to_contain_text("só um modelo aprovado")
    expect(form.get_by_label("Conexão (número do WhatsApp)")).to_contain_text("demo-evolution")
    form.get_by_label("Conexão (número do WhatsApp)").select_option(label="Evolution API · demo-evolution")
    form.get_by_label("Mensagem").fill("Oi Carla, voltando ao seu pedido.")
    page.screenshot(path=str(SCREENSHOTS / "novo-atendimento.png"), full_page=True)
    form.get_by_role("button", name="Iniciar conversa").click()
    ticket = Ticket.objects.get(client=contact, status="open")
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator(".badge")).to_have_text("Atendendo")
    expect(page.locator(".msg-out").last).to_contain_text("voltando ao seu pedido")
    assert ticket.agent == agent1 and ticket.ui_state == UIState.ATENDENDO
    assert Ticket.objects.get(pk=closed.pk).ui_state == UIState.FINALIZADO

    page.goto(f"{live_server.url}/tickets/{closed.pk}/")
    page.locator("details.reach-schedule summary").click()
    schedule = page.locator('form[data-reach="schedule"]')
    schedule.get_by_label("Conexão (número do WhatsApp)").select_option(label="Meta Cloud API · demo-meta")
    schedule.get_by_label("Modelo", exact=True).select_option(
        label="retomar_atendimento (pt_BR) · Meta Cloud API · demo-meta"
    )
    schedule.get_by_label("Parâmetro 1 do modelo").fill("Carla")
    schedule.get_by_label("Enviar em").fill("2099-03-10T14:30")
    schedule.get_by_role("button", name="Agendar").click()
    page.wait_for_url(f"{live_server.url}/agendamentos/")
    row = page.locator("tr[data-state='agendada']")
    expect(row).to_contain_text("Olá Carla, podemos continuar?")
    expect(row).to_contain_text("10/03/2099 14:30")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Cancelar").click()
    expect(page.locator("tr[data-state='cancelada']")).to_contain_text("Cancelada")
    assert ScheduledMessage.objects.get().state == "cancelada"
    page.context.close()


def test_a_conversation_started_from_the_contact_page(live_server, login, tenant, agent1):
    """Contatos → the contact's page → Iniciar conversa: a new Atendendo ticket held by the agent; the list of
    contacts and the Agendamentos page are the screenshots the docs show."""
    evo = f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="demo-evolution"
    )
    contact = f.make_client(tenant.reseller, name="Bruno Alves", wa_id="5531987654321")
    f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321")
    page = login(agent1)
    page.goto(f"{live_server.url}/contatos/?q=Bruno")
    link = page.get_by_role("link", name="Bruno Alves")
    expect(link).to_be_visible()
    page.goto(f"{live_server.url}/contatos/")
    page.screenshot(path=str(SCREENSHOTS / "contatos.png"), full_page=True)
    page.goto(f"{live_server.url}/contatos/?q=Bruno")
    page.get_by_role("link", name="Bruno Alves").click()
    page.wait_for_url(f"{live_server.url}/contatos/{contact.pk}/")
    form = page.locator('form[data-reach="start"]')
    form.get_by_label("Conexão (número do WhatsApp)").select_option(label="Evolution API · demo-evolution")
    form.get_by_label("Mensagem").fill("Oi Bruno, o boleto segue em anexo.")
    form.get_by_role("button", name="Iniciar conversa").click()
    ticket = Ticket.objects.get(client=contact, status="open")
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator(".badge")).to_have_text("Atendendo")
    expect(page.locator(".msg-out").last).to_contain_text("o boleto segue em anexo")
    assert ticket.agent == agent1 and ticket.connection_id == evo.pk

    page.goto(f"{live_server.url}/contatos/{contact.pk}/")
    page.locator("details.reach-schedule summary").click()
    schedule = page.locator('form[data-reach="schedule"]')
    schedule.get_by_label("Conexão (número do WhatsApp)").select_option(label="Evolution API · demo-evolution")
    schedule.get_by_label("Mensagem").fill("Lembrete: o boleto vence amanhã.")
    schedule.get_by_label("Enviar em").fill("2099-03-10T09:00")
    schedule.get_by_role("button", name="Agendar").click()
    page.wait_for_url(f"{live_server.url}/agendamentos/")
    expect(page.locator("tr[data-state='agendada']")).to_contain_text("o boleto vence amanhã")
    page.screenshot(path=str(SCREENSHOTS / "agendamentos.png"), full_page=True)
    page.context.close()
