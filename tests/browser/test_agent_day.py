"""An agent's day in a real browser: Espera → Assumir → Responder → Finalizar → Finalizado,
while a second agent's late Assumir gets the 409 page naming the first."""

import re

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets import services
from tickets.models import Message, Ticket, UIState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BACKGROUND = [
    ("Maria Oliveira", "Bom dia! Meu boleto venceu ontem, consigo pagar ainda hoje?"),
    ("João Pereira", "O pedido 4821 ainda não chegou, podem verificar?"),
    ("Ana Souza", "Vocês abrem no sábado?"),
]


def _inbound(ticket, text, n=[0]):
    n[0] += 1
    services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id=f"wamid.b{n[0]}", text=text))


def test_agent_day(live_server, login, meta_conn, agent1, agent2):
    for name, text in BACKGROUND:
        f.make_ticket(meta_conn, client=f.make_client(meta_conn.reseller, name=name), text=text)
    busy = f.make_ticket(
        meta_conn,
        client=f.make_client(meta_conn.reseller, name="Pedro Lima"),
        text="Preciso trocar o endereço de entrega",
        agent=agent2,
    )
    _inbound(busy, "É urgente, por favor")
    ticket = f.make_ticket(
        meta_conn,
        client=f.make_client(meta_conn.reseller, name="Carla Mendes", wa_id="5511987654321"),
        text="Olá! Minha internet caiu desde ontem à noite.",
    )
    ticket_url = f"{live_server.url}/tickets/{ticket.pk}/"

    page = login(agent1)
    row = page.locator(f'.ticket-row[data-ticket="{ticket.pk}"]')
    expect(row).to_contain_text("Carla Mendes")
    expect(row).to_contain_text("Minha internet caiu")
    expect(page.locator('[data-count="espera"]')).to_have_text("4")
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)

    # Agent 2 opens the same ticket while it is still in Espera; its page goes stale.
    other = login(agent2)
    other.route(re.compile(r".*[?&]v=.*"), lambda route: route.abort())
    other.goto(ticket_url)
    # The list beside the conversation has its own Assumir buttons: this is the ticket page's.
    expect(other.locator(".ticket-head").get_by_role("button", name="Assumir")).to_be_visible()

    row.get_by_role("link").click()
    page.wait_for_url(ticket_url)
    page.locator(".ticket-head").get_by_role("button", name="Assumir").click()
    page.wait_for_url(ticket_url)
    expect(page.locator(".badge")).to_have_text("Atendendo")
    assert Ticket.objects.get(pk=ticket.pk).agent_id == agent1.pk

    other.locator(".ticket-head").get_by_role("button", name="Assumir").click()
    expect(other.locator("h1")).to_have_text("Este atendimento mudou de estado")
    expect(other.locator(".holder-info")).to_contain_text("Agente 1")
    expect(other.locator(".holder-info")).to_contain_text("agente1@demo.local")
    other.screenshot(path=str(SCREENSHOTS / "conflict.png"))
    assert Ticket.objects.get(pk=ticket.pk).agent_id == agent1.pk

    # The reply appears in the thread without a full page load.
    page.evaluate("window.__same_page = true")
    page.get_by_label("Resposta").fill("Oi, Carla! Vou verificar a sua conexão agora mesmo.")
    page.get_by_role("button", name="Responder").click()
    expect(page.locator(".msg-out").last).to_contain_text("Vou verificar a sua conexão")
    expect(page.get_by_label("Resposta")).to_have_value("")
    assert page.evaluate("window.__same_page === true")
    assert Message.objects.filter(ticket=ticket, direction="out").count() == 1

    # A client message arriving now shows up by itself (live refresh).
    _inbound(ticket, "Obrigada! Fico no aguardo.")
    expect(page.locator(".msg-in").last).to_contain_text("Fico no aguardo", timeout=15_000)
    page.screenshot(path=str(SCREENSHOTS / "conversation.png"), full_page=True)

    # Finalizar asks first (a closed ticket stays closed): "Cancelar" sends nothing, OK closes it.
    dialogs = []

    def answer(dialog, accept):
        dialogs.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Finalizar").click()
    expect(page.locator(".badge")).to_have_text("Atendendo")
    assert dialogs and "não pode ser reaberto" in dialogs[0]
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ATENDENDO
    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Finalizar").click()
    page.wait_for_url(ticket_url)
    expect(page.locator(".badge")).to_have_text("Finalizado")
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.FINALIZADO

    page.get_by_role("link", name=re.compile("Atendimentos")).first.click()
    page.get_by_role("link", name=re.compile("Finalizado")).click()
    expect(page.locator(f'.ticket-row[data-ticket="{ticket.pk}"]')).to_contain_text("Carla Mendes")
    page.context.close()
    other.context.close()


def test_queue_refreshes_by_itself_and_fits_a_phone(live_server, login, meta_conn, agent1):
    page = login(agent1, viewport={"width": 390, "height": 844})
    expect(page.locator(".empty")).to_be_visible()
    ticket = f.make_ticket(
        meta_conn,
        client=f.make_client(meta_conn.reseller, name="Cliente Novo"),
        text="Chegou enquanto a página estava aberta",
    )
    expect(page.locator(f'.ticket-row[data-ticket="{ticket.pk}"]')).to_be_visible(timeout=15_000)
    expect(page.locator('[data-count="espera"]')).to_have_text("1")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no horizontal scrolling on a phone"
    page.screenshot(path=str(SCREENSHOTS / "queue-phone.png"), full_page=True)
    page.context.close()
