"""Density and layout (issue 27, item 6) at the screens agents have: 1366×768 (the office laptop),
1440×900 and a phone (390×844). The reply box fits at 1366×768 with the thread scrolling above it, the
client panel is a third column from 1,280 px, the list shows at least 8 rows at 1440×900 and 4 on the
phone, the filters fold away, a location links to a map and dark mode follows the system."""

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tickets import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAMES = [
    "Maria Oliveira", "João Pereira", "Ana Souza", "Pedro Santos", "Juliana Costa", "Lucas Almeida",
    "Fernanda Lima", "Rafael Gomes", "Camila Ribeiro", "Bruno Carvalho", "Patrícia Rocha", "Gustavo Martins",
    "Beatriz Nunes", "Thiago Barbosa", "Larissa Dias", "Rodrigo Freitas",
]  # fmt: skip
TEXTS = [
    "Meu boleto venceu ontem, consigo pagar ainda hoje?", "O pedido 4821 não chegou", "Vocês abrem no sábado?",
    "Quero trocar o plano da minha internet", "A fatura veio com valor errado", "Preciso da segunda via",
]  # fmt: skip

# Rows whose whole box shows without scrolling: inside the window, the list's own scroll box and above
# the phone's tab bar at the bottom.
VISIBLE_ROWS = """() => {
  const list = document.querySelector('.inbox-list').getBoundingClientRect();
  let top = Math.max(0, list.top), bottom = Math.min(window.innerHeight, list.bottom);
  const tabs = document.querySelector('#queue-live > .tabs');
  if (tabs && getComputedStyle(tabs).position === 'fixed') bottom = Math.min(bottom, tabs.getBoundingClientRect().top);
  return [...document.querySelectorAll('.ticket-row')].filter(row => {
    const b = row.getBoundingClientRect();
    return b.height > 0 && b.top >= top - 1 && b.bottom <= bottom + 1;
  }).length;
}"""


def _world(conn, agent):
    # Ten are the agent's own (listed beside the conversation), six wait in Espera (rows with Assumir).
    for i, name in enumerate(NAMES):
        client = f.make_client(conn.reseller, name=name)
        f.make_ticket(conn, client=client, text=TEXTS[i % len(TEXTS)], agent=agent if i < 10 else None)
    held = f.make_ticket(conn, client=f.make_client(conn.reseller, name="Carla Mendes"), text="Oi", agent=agent)
    for n in range(14):
        text = f"Mensagem {n + 1}: a internet cai toda noite por volta das 21h e volta sozinha depois de uns minutos."
        services.message_store(ticket=held, msg=services.InboundMessage(provider_message_id=f"wamid.l{n}", text=text))
    where = {"latitude": -19.9245, "longitude": -43.9352, "name": "Loja Centro", "address": "Av. Afonso Pena, 1000"}
    services.message_store(
        ticket=held, msg=services.InboundMessage(provider_message_id="wamid.loc", kind="location", media=where)
    )
    return held


def _inside(box, viewport):
    right, bottom = box["x"] + box["width"], box["y"] + box["height"]
    return box["x"] >= 0 and box["y"] >= 0 and right <= viewport["width"] and bottom <= viewport["height"]


def test_the_inbox_at_the_screens_agents_have(live_server, login, meta_conn, agent1):
    held = _world(meta_conn, agent1)
    counts = {}

    # 1366×768: the conversation with the reply box whole in the window, no scrolling; the thread scrolls.
    laptop = {"width": 1366, "height": 768}
    page = login(agent1, viewport=laptop)
    page.goto(f"{live_server.url}/tickets/{held.pk}/")
    expect(page.locator(".ticket-row").first).to_be_visible()  # the list beside it has loaded
    reply = page.locator("#reply-box")
    assert page.evaluate("window.scrollY") == 0
    assert _inside(reply.bounding_box(), laptop), reply.bounding_box()
    assert _inside(page.get_by_role("button", name="Responder").bounding_box(), laptop)
    assert page.evaluate("(t => t.scrollHeight > t.clientHeight)(document.getElementById('thread'))")
    # The client panel is the third column, beside the thread, from 1,280 px.
    thread, side = page.locator(".thread-col").bounding_box(), page.locator(".side-col").bounding_box()
    assert side["x"] >= thread["x"] + thread["width"] and side["y"] < thread["y"] + 50
    expect(page.locator(".window-open")).to_contain_text("janela aberta até amanhã")
    link = page.locator("[data-map]")
    expect(link).to_have_attribute(
        "href", "https://www.openstreetmap.org/?mlat=-19.924500&mlon=-43.935200#map=17/-19.924500/-43.935200"
    )
    counts["1366x768"] = page.evaluate(VISIBLE_ROWS)
    page.screenshot(path=str(SCREENSHOTS / "inbox-1366x768.png"))
    # The filters fold away: the search shows, the rest opens on demand (no script needed: <details>).
    page.goto(f"{live_server.url}/tickets/")
    expect(page.get_by_label("Buscar")).to_be_visible()
    expect(page.get_by_label("Departamento")).to_be_hidden()
    page.locator(".filters-more summary").click()
    expect(page.get_by_label("Departamento")).to_be_visible()
    page.context.close()

    # 1440×900: at least 8 rows of the queue in view, beside the conversation and its client panel.
    wide = {"width": 1440, "height": 900}
    page = login(agent1, viewport=wide)
    page.goto(f"{live_server.url}/tickets/{held.pk}/")
    expect(page.locator(".ticket-row")).to_have_count(11)  # the list of Atendendo beside the conversation
    counts["1440x900"] = page.evaluate(VISIBLE_ROWS)
    assert _inside(page.locator("#reply-box").bounding_box(), wide)
    thread, side = page.locator(".thread-col").bounding_box(), page.locator(".side-col").bounding_box()
    assert side["x"] >= thread["x"] + thread["width"]
    page.screenshot(path=str(SCREENSHOTS / "inbox-1440x900.png"))
    # Dark mode follows the system setting.
    light = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert dark != light and sum(int(c) for c in dark[4:-1].split(",")[:3]) < 150, dark
    page.screenshot(path=str(SCREENSHOTS / "inbox-dark.png"))
    page.context.close()

    # A phone: at least 4 rows above the tab bar.
    phone = {"width": 390, "height": 844}
    page = login(agent1, viewport=phone)
    counts["390x844"] = page.evaluate(VISIBLE_ROWS)
    page.screenshot(path=str(SCREENSHOTS / "inbox-390x844.png"))
    page.context.close()

    print("visible queue rows:", counts)
    assert counts["1440x900"] >= 8 and counts["390x844"] >= 4, counts
