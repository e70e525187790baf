"""Quote and react in a real browser: the agent reacts to the client's message with one click, then quotes
it in a reply; the (fake) provider receives the reaction and the quote, and the thread shows both, with the
reply's WhatsApp formatting and the signature in bold."""

import pytest
from playwright.sync_api import expect

from accounts.models import ResellerConfig
from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets.models import Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_react_then_quote_the_clients_message(live_server, login, tenant, agent1, fake, settings):
    settings.WHATSAPP_SEND_INLINE = True
    ResellerConfig.objects.filter(reseller=tenant.reseller).update(reply_signature=True)
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta", api_base_url=fake.url + "/v21.0")
    ticket = f.make_ticket(
        conn,
        client=f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321"),
        text="Meu pedido *12345* ainda não chegou.",
        agent=agent1,
    )
    asked = Message.objects.get(ticket=ticket, direction="in")

    page = login(agent1)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    bubble = page.locator(f'li[data-message="{asked.pk}"]')
    expect(bubble.locator(".text strong")).to_have_text("12345")

    # React: one click on 👍 in the message's reaction control.
    bubble.locator("details.react summary").click()
    bubble.get_by_role("button", name="👍").click()
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
    bubble = page.locator(f'li[data-message="{asked.pk}"]')
    expect(bubble.locator("[data-agent-reaction]")).to_have_text("👍")
    assert fake.reactions() == [
        {"provider": "meta", "message_id": asked.provider_message_id, "emoji": "👍", "to": "5511987654321"}
    ]

    # Quote: "Citar" puts the message above the reply box; the reply goes out quoting it.
    bubble.get_by_role("link", name="Citar").click()
    expect(page.locator("[data-quoting]")).to_be_visible()
    expect(page.locator("[data-quoting-text]")).to_contain_text("Meu pedido")
    page.get_by_label("Resposta", exact=True).fill("Já vou _verificar_.")
    page.get_by_role("button", name="Responder").click()
    answer = page.locator(".msg-out").last
    expect(answer.locator("blockquote.quoted")).to_contain_text("Meu pedido")
    expect(answer.locator(".text strong")).to_have_text("Agente 1")
    expect(answer.locator(".text em")).to_have_text("verificar")
    expect(page.locator("[data-quoting]")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "quote-react.png"), full_page=True)
    assert fake.quotes() == [asked.provider_message_id]
    assert fake.texts() == ["*Agente 1*:\nJá vou _verificar_."]
    page.context.close()
