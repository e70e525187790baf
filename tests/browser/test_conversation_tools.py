"""The conversation tools in a real browser: agent 1 transfers a ticket to agent 2, who finds it in
Atendendo and answers with a quick reply; a note never reaches the provider; a ticket whose 24-hour
window closed offers the template, and the (fake) provider receives it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets.models import Message, MessageTemplate, QuickReply, Ticket, UIState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_transfer_quick_reply_note_and_template(live_server, login, tenant, agent1, agent2, fake, settings):
    settings.WHATSAPP_SEND_INLINE = True
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta", api_base_url=fake.url + "/v21.0")
    QuickReply.objects.create(
        reseller=tenant.reseller, shortcut="/ola", text="Olá {{nome}}, sou {{agente}}. Como posso ajudar?"
    )
    QuickReply.objects.create(reseller=tenant.reseller, shortcut="/obrigado", text="Obrigado pelo contato!")
    template = MessageTemplate.objects.create(
        connection=conn,
        name="retomar_atendimento",
        language="pt_BR",
        body="Olá {{1}}, podemos continuar seu atendimento?",
    )
    carla = f.make_ticket(
        conn,
        client=f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321"),
        text="Minha fatura veio em dobro.",
        agent=agent1,
    )
    old = f.make_ticket(
        conn,
        client=f.make_client(tenant.reseller, name="Bruno Alves", wa_id="5511911112222"),
        text="Vou ver e te aviso.",
        agent=agent2,
    )
    Ticket.objects.filter(pk=old.pk).update(last_inbound_at=timezone.now() - timedelta(days=2))

    # Agent 1 hands Carla to agent 2 through the dialog.
    page = login(agent1)
    page.goto(f"{live_server.url}/tickets/{carla.pk}/")
    page.locator(".transfer summary").click()
    page.get_by_label("Para o agente").select_option(label="Agente 2")
    page.locator(".transfer-form").get_by_role("button", name="Transferir").click()
    page.wait_for_url(f"{live_server.url}/tickets/{carla.pk}/")
    expect(page.locator(".holder")).to_contain_text("Agente 2")
    stored = Ticket.objects.get(pk=carla.pk)
    assert stored.agent_id == agent2.pk and stored.ui_state == UIState.ATENDENDO

    # Agent 2 finds it in Atendendo and answers with the /ola quick reply (keyboard only).
    other = login(agent2)
    other.get_by_role("link", name="Atendendo").click()
    row = other.locator(f'.ticket-row[data-ticket="{carla.pk}"]')
    expect(row).to_contain_text("Carla Mendes")
    row.get_by_role("link").click()
    box = other.get_by_label("Resposta", exact=True)
    box.click()
    box.press_sequentially("/o")
    expect(other.locator("#quick-list")).to_be_visible()
    expect(other.locator("#quick-list [role=option]:visible")).to_have_count(2)
    box.press_sequentially("l")
    expect(other.locator("#quick-list [role=option]:visible")).to_have_count(1)
    box.press("Enter")
    expect(other.locator("#quick-list")).to_be_hidden()
    expect(box).to_have_value("Olá Carla Mendes, sou Agente 2. Como posso ajudar?")
    box.press_sequentially(" Já estou vendo a fatura.")
    other.get_by_role("button", name="Responder").click()
    expect(other.locator(".msg-out").last).to_contain_text("Já estou vendo a fatura")
    assert fake.texts() == ["Olá Carla Mendes, sou Agente 2. Como posso ajudar? Já estou vendo a fatura."]

    # Esc closes the list without choosing.
    box = other.get_by_label("Resposta", exact=True)
    box.press_sequentially("/")
    expect(other.locator("#quick-list")).to_be_visible()
    box.press("Escape")
    expect(other.locator("#quick-list")).to_be_hidden()
    expect(box).to_have_value("/")
    box.fill("")

    # A note: shown apart in the thread, never sent.
    other.locator(".note-box summary").click()
    other.get_by_label("Nota interna (o cliente não vê)").fill("Cliente <b>irritada</b>: conferir cobrança em dobro.")
    other.get_by_role("button", name="Salvar nota").click()
    note = other.locator(".msg-note").last
    expect(note).to_contain_text("Nota interna")
    expect(note).to_contain_text("Cliente <b>irritada</b>")
    expect(other.locator(".window-open")).to_contain_text("janela aberta até")
    other.screenshot(path=str(SCREENSHOTS / "conversation-tools.png"), full_page=True)
    assert all("irritada" not in str(c.json) for c in fake.calls)

    # Bruno's window closed two days ago: the box explains it and offers the template.
    other.goto(f"{live_server.url}/tickets/{old.pk}/")
    expect(other.locator("[data-window=closed]")).to_have_text("janela fechada")
    expect(other.locator("[data-window-closed]")).to_contain_text("24 horas")
    expect(other.get_by_label("Resposta", exact=True)).to_have_count(0)
    form = other.locator('.template-form[data-template="retomar_atendimento"]')
    expect(form.get_by_label("Parâmetro 1")).to_have_value("Bruno Alves")
    form.get_by_role("button", name="Enviar modelo").click()
    expect(other.locator(".msg-out").last).to_contain_text("Olá Bruno Alves, podemos continuar seu atendimento?")
    assert fake.templates() == [
        {
            "name": "retomar_atendimento",
            "language": {"code": "pt_BR"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Bruno Alves"}]}],
        }
    ]
    assert Message.objects.get(kind="template").media["template"]["name"] == template.name
    assert not any("irritada" in str(c.json) for c in fake.calls)
    page.context.close()
    other.context.close()
