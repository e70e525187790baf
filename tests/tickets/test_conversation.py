"""The conversation page as each named user: who may open which ticket, and what it shows."""

import pytest

from tests.tickets.conftest import url, user_of
from tickets import services
from tickets.models import Message

# user -> tickets the user may open (every other one is a 404)
OPENS = {
    "agent1": {"espera", "um", "dois", "fim"},
    "agent2": {"espera", "um", "dois", "fim"},
    "agent3": {"fin"},
    "reseller_user": {"espera", "um", "dois", "fim", "fin"},
    "admin_user": {"espera", "um", "dois", "fim", "fin", "outra"},
    "outsider.agent": {"outra"},
    "outsider.reseller_user": {"outra"},
}


@pytest.mark.parametrize("who", OPENS)
def test_who_opens_which_ticket(client, world, who):
    client.force_login(user_of(world, who))
    for name, ticket in world.t.items():
        response = client.get(url(ticket))
        assert response.status_code == (200 if name in OPENS[who] else 404), (who, name)


def test_anonymous_goes_to_login(client, world):
    response = client.get(url(world.t["um"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_ticket_is_404(client, world):
    client.force_login(world.admin_user)
    assert client.get("/tickets/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_thread_shows_full_texts_oldest_first_with_kinds_and_delivery(client, world, meta_conn):
    ticket = world.t["um"]
    long_text = "início " + "x" * 900 + " fim do texto"
    services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.long", text=long_text))
    services.message_store(
        ticket=ticket,
        msg=services.InboundMessage(
            provider_message_id="wamid.img",
            kind=Message.Kind.IMAGE,
            raw_type="image",
            media={"id": "m1", "caption": "foto da nota", "mime_type": "image/jpeg"},
        ),
    )
    services.message_store(
        ticket=ticket,
        msg=services.InboundMessage(
            provider_message_id="wamid.doc",
            kind=Message.Kind.DOCUMENT,
            raw_type="document",
            media={"id": "m2", "filename": "boleto.pdf"},
        ),
    )
    sent = services.ticket_reply(ticket=ticket, agent=world.agent1, text="Vou verificar.", nonce="n1")
    failed = services.ticket_reply(ticket=ticket, agent=world.agent1, text="Não chegou?", nonce="n2")
    Message.objects.filter(pk=failed.pk).update(
        delivery_status="failed",
        error_code="131049",
        error_text="This message was not delivered to maintain healthy ecosystem engagement.",
    )
    Message.objects.filter(pk=sent.pk).update(delivery_status="read")

    client.force_login(world.agent1)
    html = client.get(url(ticket)).content.decode()
    assert long_text in html
    order = [
        html.index(s)
        for s in ("Mensagem do cliente um", long_text, "foto da nota", "boleto.pdf", "Vou verificar.", "Não chegou?")
    ]
    assert order == sorted(order)
    assert "[Imagem]" in html and "[Documento]" in html
    # Meta's English title told in pt-BR (providers.error_texts)
    assert "Lida" in html and "Falhou" in html and "engajamento do cliente" in html and "healthy ecosystem" not in html


def test_header_names_state_agent_department_and_events(client, world):
    client.force_login(world.agent2)
    html = client.get(url(world.t["fim"])).content.decode()
    assert "Finalizado" in html and "Agente 1" in html and "Suporte" in html
    assert "Assumido" in html and "por Agente 1" in html and "Atendendo → Finalizado" in html
    # No reply box; the internal note form (also named "text") stays, notes are allowed when finalizado.
    assert "Assumir" not in html and 'class="reply-form"' not in html and "/responder/" not in html


def test_earlier_tickets_of_the_client_are_linked(client, world, meta_conn):
    old = world.t["fim"]
    new, _ = services.inbound_route(connection=meta_conn, client=old.client)
    client.force_login(world.agent1)
    html = client.get(url(new)).content.decode()
    assert url(old) in html


def test_earlier_messages_on_demand(client, world):
    ticket = world.t["um"]
    for i in range(60):
        services.message_store(
            ticket=ticket,
            msg=services.InboundMessage(provider_message_id=f"wamid.p{i}", text=f"mensagem número {i:02d}."),
        )
    client.force_login(world.agent1)
    html = client.get(url(ticket)).content.decode()
    assert "mensagem número 59." in html and "mensagem número 10." in html
    assert "mensagem número 09." not in html and "Mensagem do cliente um" not in html
    start = html.index("?before=")
    earlier = html[start : html.index('"', start)]
    html = client.get(url(ticket) + earlier).content.decode()
    assert "mensagem número 09." in html and "Mensagem do cliente um" in html
    assert "mensagem número 10." not in html


@pytest.mark.parametrize(
    "who,name,buttons",
    [
        ("agent1", "espera", {"Assumir"}),
        ("agent1", "um", {"Finalizar", "Responder"}),
        ("agent1", "dois", set()),
        ("agent2", "dois", {"Finalizar", "Responder"}),
        ("reseller_user", "um", {"Finalizar", "Responder"}),
        ("admin_user", "dois", {"Finalizar", "Responder"}),
        ("reseller_user", "fim", set()),
    ],
)
def test_actions_offered(client, world, who, name, buttons):
    client.force_login(user_of(world, who))
    html = client.get(url(world.t[name])).content.decode()
    for label, action in (("Assumir", "assumir"), ("Finalizar", "finalizar"), ("Responder", "responder")):
        assert (f'action="{url(world.t[name], action)}"' in html) == (label in buttons), (who, name, label)
