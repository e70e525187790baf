"""The split inbox in a real browser: two agents side by side, alerts on what is new (asserted on the
page's alert hook, `window.iazeAlerts`, not on the audio device), Assumir from the list and the lost
race naming the holder, and a keyboard-only run through claim, reply and close."""

import contextlib
import re

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets import services
from tickets.models import Message, Ticket, UIState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALERTS = "window.iazeAlerts.length"


def _inbound(ticket, text, n=[0]):
    n[0] += 1
    services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id=f"wamid.i{n[0]}", text=text))


def _client(conn, name):
    return f.make_client(conn.reseller, name=name)


def test_two_agents_in_the_split_inbox(live_server, login, meta_conn, agent1, agent2):
    held = f.make_ticket(meta_conn, client=_client(meta_conn, "Carla Mendes"), text="Minha internet caiu", agent=agent1)
    maria = f.make_ticket(meta_conn, client=_client(meta_conn, "Maria Oliveira"), text="Meu boleto venceu ontem")
    ana = f.make_ticket(meta_conn, client=_client(meta_conn, "Ana Souza"), text="Vocês abrem no sábado?")

    page = login(agent1)
    other = login(agent2)
    # Agent 2's list stays as it was loaded (its live refresh is held back), so its Assumir comes late.
    other.route(re.compile(r".*[?&]v=.*"), lambda route: route.abort())

    # Agent 1 opens the held conversation: the right pane changes, the list stays, the URL follows.
    page.evaluate("window.__same_page = true")
    page.get_by_role("link", name=re.compile("Atendendo")).click()
    page.wait_for_url(re.compile(r".*status=atendendo"))
    page.evaluate("window.__same_page = true")
    page.locator(f'.ticket-row[data-ticket="{held.pk}"] .ticket-link').click()
    page.wait_for_url(f"{live_server.url}/tickets/{held.pk}/")
    expect(page.locator("#conversation-pane .ticket-head h1")).to_have_text("Carla Mendes")
    expect(page.locator(f'.ticket-row[data-ticket="{held.pk}"]')).to_have_attribute("aria-current", "true")
    assert page.evaluate("window.__same_page === true"), "only the pane was swapped"
    expect(page.locator("[data-unread-total]")).to_have_count(0)  # reading it cleared its count

    # Back to Espera; a client writes on the held ticket: the list, the unread count, the title and an alert.
    page.get_by_role("link", name=re.compile("Espera")).first.click()
    page.wait_for_url(re.compile(r".*status=espera"))
    assert page.evaluate(ALERTS) == 0
    _inbound(held, "Voltou a cair agora há pouco, pode ver de novo por favor?")
    expect(page.locator("[data-unread-total]")).to_have_attribute("data-unread-total", "1", timeout=15_000)
    expect(page).to_have_title(re.compile(r"^\(3\) Atendimentos"))  # 1 unread + 2 in Espera
    page.wait_for_function(f"{ALERTS} === 1")
    alert = page.evaluate("window.iazeAlerts[0]")
    assert alert["kind"] == "message" and alert["title"] == "Carla Mendes"
    assert alert["body"].startswith("Voltou a cair agora")

    # A new ticket enters Espera: one more alert, and the same things never alert twice.
    novo = f.make_ticket(meta_conn, client=_client(meta_conn, "João Pereira"), text="O pedido 4821 não chegou")
    expect(page.locator(f'.ticket-row[data-ticket="{novo.pk}"]')).to_be_visible(timeout=15_000)
    page.wait_for_function(f"{ALERTS} === 2")
    assert page.evaluate("window.iazeAlerts[1].kind") == "espera"
    assert page.evaluate("window.iazeAlerts[1].title") == "João Pereira"
    page.reload()
    expect(page.locator(f'.ticket-row[data-ticket="{novo.pk}"]')).to_be_visible()
    assert page.evaluate(ALERTS) == 0, "a reload alerts nothing already alerted"
    assert page.evaluate("document.body.dataset.alertCount") is None

    # Assumir from the list: the conversation opens in the pane, the reply box ready.
    page.locator(f'.ticket-row[data-ticket="{maria.pk}"]').get_by_role("button", name="Assumir").click()
    page.wait_for_url(f"{live_server.url}/tickets/{maria.pk}/")
    expect(page.locator("#conversation-pane .badge")).to_have_text("Atendendo")
    expect(page.locator("#conversation-pane").get_by_label("Resposta", exact=True)).to_be_focused()
    assert Ticket.objects.get(pk=maria.pk).agent_id == agent1.pk
    page.screenshot(path=str(SCREENSHOTS / "inbox-split.png"))

    # Agent 2's late Assumir on the same row names the holder, without leaving the list.
    other.locator(f'.ticket-row[data-ticket="{maria.pk}"]').get_by_role("button", name="Assumir").click()
    expect(other.locator("#queue-notice")).to_contain_text("Este atendimento está com Agente 1.")
    assert other.url == f"{live_server.url}/tickets/"
    assert Ticket.objects.get(pk=maria.pk).agent_id == agent1.pk

    # Agent 2 is moved out of the department while the list is open: the row's Assumir says why.
    agent2.departments.clear()
    other.locator(f'.ticket-row[data-ticket="{ana.pk}"]').get_by_role("button", name="Assumir").click()
    expect(other.locator("#queue-notice")).to_contain_text("Este atendimento não está mais na sua fila.")
    assert other.url == f"{live_server.url}/tickets/"
    assert Ticket.objects.get(pk=ana.pk).agent_id is None
    page.context.close()
    other.context.close()


def test_keyboard_only_claim_reply_and_close(live_server, login, meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, client=_client(meta_conn, "Paulo Reis"), text="Preciso da segunda via")
    page = login(agent1)
    expect(page.locator(f'.ticket-row[data-ticket="{ticket.pk}"]')).to_be_visible()

    # The pane's first load is held until the end: a fast agent presses Assumir while the conversation is still
    # loading, and the claim's own load of the pane must win (it once queued behind the first and focused nothing).
    held = []

    def hold_first_pane_load(route):
        if not held and route.request.headers.get("hx-target") == "conversation-pane":
            held.append(route)
            return
        route.continue_()

    page.route(f"**/tickets/{ticket.pk}/", hold_first_pane_load)
    page.keyboard.press("Alt+ArrowDown")  # the first ticket of the list, opened beside it
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator(f'.ticket-row[data-ticket="{ticket.pk}"] .ticket-link')).to_be_focused()
    assert len(held) == 1
    page.keyboard.press("Tab")
    expect(
        page.locator(f'.ticket-row[data-ticket="{ticket.pk}"]').get_by_role("button", name="Assumir")
    ).to_be_focused()
    page.keyboard.press("Enter")

    box = page.locator("#conversation-pane").get_by_label("Resposta", exact=True)
    # The claim, the list's refresh and the conversation's load are three requests: a loaded machine may take
    # longer than expect()'s default 5 s for all three (a bound, not a timing the test relies on).
    expect(box).to_be_focused(timeout=20_000)
    page.unroute(f"**/tickets/{ticket.pk}/")
    with contextlib.suppress(Exception):  # the held load was aborted by the one that replaced it
        held[0].continue_()
    page.keyboard.type("Bom dia, Paulo!")
    page.keyboard.press("Shift+Enter")  # a line break, not a send
    page.keyboard.type("Segue a segunda via.")
    expect(box).to_have_value("Bom dia, Paulo!\nSegue a segunda via.")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-out").last).to_contain_text("Segue a segunda via.")
    expect(box).to_be_focused()  # the reply box came back where the agent was typing
    assert Message.objects.filter(ticket=ticket, direction="out").count() == 1

    # A client message arriving in the open conversation is announced once to screen readers.
    _inbound(ticket, "Obrigado, recebi!")
    expect(page.locator("#thread-announcer")).to_have_text(
        "Nova mensagem de Paulo Reis: Obrigado, recebi!", timeout=15_000
    )
    expect(page.locator("#thread-announcer")).to_have_attribute("aria-live", "polite")
    expect(box).to_be_focused()  # the live refresh left the agent where they were

    close = page.locator('#conversation-pane [data-focus-key="head-close"]')
    for _ in range(8):
        if page.evaluate("document.activeElement.dataset.focusKey") == "head-close":
            break
        page.keyboard.press("Shift+Tab")
    expect(close).to_be_focused()
    confirmations = []
    # Finalizar asks for confirmation (a closed ticket stays closed); the keyboard user confirms it.
    page.once("dialog", lambda dialog: (confirmations.append(dialog.message), dialog.accept()))
    page.keyboard.press("Enter")
    expect(page.locator("#conversation-pane .badge")).to_have_text("Finalizado")
    assert len(confirmations) == 1
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.FINALIZADO
    page.context.close()


def test_the_phone_keeps_list_and_conversation_apart(live_server, login, meta_conn, agent1):
    ticket = f.make_ticket(
        meta_conn, client=_client(meta_conn, "Carla Mendes"), text="Minha internet caiu", agent=agent1
    )
    f.make_ticket(meta_conn, client=_client(meta_conn, "Maria Oliveira"), text="Meu boleto venceu ontem")
    page = login(agent1, viewport={"width": 390, "height": 844})
    expect(page.locator("#conversation-pane")).to_be_hidden()
    tabs = page.locator("#queue-live > .tabs").bounding_box()
    assert tabs["y"] + tabs["height"] <= 844 + 1, "the tabs sit within the thumb's reach"
    page.screenshot(path=str(SCREENSHOTS / "inbox-phone.png"))
    page.get_by_role("link", name=re.compile("Atendendo")).click()
    page.locator(f'.ticket-row[data-ticket="{ticket.pk}"] .ticket-link').click()
    page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
    expect(page.locator(".inbox-list")).to_be_hidden()  # a page of its own, as before
    expect(page.locator(".ticket-head h1")).to_have_text("Carla Mendes")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.context.close()
