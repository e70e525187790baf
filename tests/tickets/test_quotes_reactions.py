"""Quoting a message in a reply and reacting to a client's message (contract §7 "Quoting, reacting").

The client's messages arrive through the real webhook (real payload shapes, real signatures / API keys),
the agent works through the real views, and the fake provider records what IAZE sent: each request is
compared with the provider's exact JSON.
"""

import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from tests import factories as f
from tests.support.webhooks import evo_sample, meta_text, post_evolution, post_meta
from tests.tickets.conftest import url
from tickets import services
from tickets.models import Message, Ticket, TicketEvent
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db

CLIENT = "5511988880001"


@pytest.fixture
def inline(settings):
    settings.WHATSAPP_SEND_INLINE = True
    settings.WHATSAPP_HTTP_TIMEOUT = 10.0


@pytest.fixture
def meta(tenant, fake, inline):
    return f.make_connection(tenant.reseller, tenant.suporte, key="qr-meta", api_base_url=fake.url + "/v21.0")


@pytest.fixture
def evo(tenant, fake, inline):
    return f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="qr-evo", api_base_url=fake.url
    )


def client_writes_meta(client, connection, text, *, wamid, wa_id=CLIENT) -> Message:
    body = meta_text(connection, wa_id=wa_id, text=text, message_id=wamid, ts=int(time.time()))
    assert post_meta(client, connection, body).status_code == 200
    return Message.objects.get(provider_message_id=wamid)


def client_writes_evolution(client, connection, text, *, key_id, wa_id=CLIENT) -> Message:
    body = evo_sample("evolution_messages_upsert_text.json", message_id=key_id, jid=f"{wa_id}@s.whatsapp.net")
    body["instance"] = connection.instance_name
    body["data"]["message"]["conversation"] = text
    body["data"]["messageTimestamp"] = int(time.time())
    assert post_evolution(client, connection, body).status_code == 200
    return Message.objects.get(provider_message_id=key_id)


def claimed(message, agent) -> Ticket:
    return services.ticket_claim(ticket=Ticket.objects.get(pk=message.ticket_id), agent=agent)


def react(client, ticket, message, emoji, nonce=""):
    return client.post(url(ticket, "reagir"), {"message": str(message.pk), "emoji": emoji, "nonce": nonce})


def reply(client, ticket, text, reply_to, nonce=""):
    return client.post(url(ticket, "responder"), {"text": text, "reply_to": str(reply_to), "nonce": nonce})


def provider_sends(fake):
    return [c for c in fake.calls if c.provider in ("meta", "evolution")]


# --- reactions: the providers' exact requests ------------------------------------------------------------


def test_meta_reaction_is_sent_as_a_reaction_message_and_shown_on_the_clients_message(client, meta, agent1, fake):
    asked = client_writes_meta(client, meta, "Chegou meu pedido?", wamid="wamid.CLIENT0001")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)

    assert react(client, ticket, asked, "👍🏽").status_code == 303

    [call] = provider_sends(fake)
    assert call.path == "/v21.0/100000000000001/messages"
    assert call.headers["Authorization"] == "Bearer meta-access-token"
    assert call.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CLIENT,
        "type": "reaction",
        "reaction": {"message_id": "wamid.CLIENT0001", "emoji": "👍🏽"},
    }
    sent = Message.objects.get(ticket=ticket, kind=Message.Kind.REACTION)
    assert (sent.direction, sent.delivery_status, sent.text) == ("out", "sent", "👍🏽")
    assert sent.provider_message_id == call.answer["messages"][0]["id"]
    assert sent.reply_to_id == asked.pk and sent.sender_agent_id == agent1.pk
    event = TicketEvent.objects.get(ticket=ticket, action=TicketEvent.Action.REACTED)
    assert event.actor_id == agent1.pk and event.data["emoji"] == "👍🏽" and event.ticket_version > 0
    # The queue keeps previewing the client's message: a reaction is not a new message.
    assert Ticket.objects.get(pk=ticket.pk).last_message_preview == "Chegou meu pedido?"

    html = client.get(url(ticket)).content.decode()
    bubble = html[html.index(f'data-message="{asked.pk}"') :]
    bubble = bubble[: bubble.index("</li>")]
    assert 'data-agent-reaction aria-label="Reação do atendimento">👍🏽</span>' in bubble
    assert f'data-message="{sent.pk}"' not in html  # folded into the message it reacts to


def test_evolution_reaction_goes_to_send_reaction_with_the_messages_key(client, evo, agent1, fake):
    asked = client_writes_evolution(client, evo, "Oi, tudo bem?", key_id="3EB0CLIENT000000000001")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)

    assert react(client, ticket, asked, "🇧🇷").status_code == 303

    [call] = provider_sends(fake)
    assert call.path == "/message/sendReaction/demo" and call.headers["apikey"] == "evo-api-key"
    assert call.json == {
        "key": {"remoteJid": f"{CLIENT}@s.whatsapp.net", "fromMe": False, "id": "3EB0CLIENT000000000001"},
        "reaction": "🇧🇷",
    }
    sent = Message.objects.get(ticket=ticket, kind=Message.Kind.REACTION)
    assert sent.delivery_status == "sent" and sent.provider_message_id == call.answer["key"]["id"]
    assert call.answer["messageType"] == "reactionMessage"
    assert call.answer["message"]["reactionMessage"]["key"] == call.json["key"]


@pytest.mark.parametrize("emoji", ["👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "1️⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"])
def test_one_emoji_of_many_code_points_is_one_reaction(client, meta, agent1, fake, emoji):
    asked = client_writes_meta(client, meta, "Olá", wamid="wamid.CLIENT0002")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)
    assert react(client, ticket, asked, emoji).status_code == 303
    assert fake.reactions() == [{"provider": "meta", "message_id": "wamid.CLIENT0002", "emoji": emoji, "to": CLIENT}]


def test_an_empty_emoji_takes_the_reaction_back(client, evo, agent1, fake):
    asked = client_writes_evolution(client, evo, "Oi", key_id="3EB0CLIENT000000000003")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)
    assert react(client, ticket, asked, "😂", nonce="r1").status_code == 303
    assert 'data-agent-reaction aria-label="Reação do atendimento">😂' in client.get(url(ticket)).content.decode()

    assert react(client, ticket, asked, "", nonce="r2").status_code == 303

    assert [r["emoji"] for r in fake.reactions()] == ["😂", ""]
    assert provider_sends(fake)[-1].json == {
        "key": {"remoteJid": f"{CLIENT}@s.whatsapp.net", "fromMe": False, "id": "3EB0CLIENT000000000003"},
        "reaction": "",
    }
    assert "data-agent-reaction" not in client.get(url(ticket)).content.decode()


def test_a_reaction_is_sent_exactly_once_however_often_it_is_posted_or_retried(client, meta, agent1, fake):
    asked = client_writes_meta(client, meta, "Olá", wamid="wamid.CLIENT0004")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)
    fake.fail_next("500")  # the inline send fails: left queued for the worker

    for _ in range(3):  # a double (triple) click: one nonce
        assert react(client, ticket, asked, "🙏", nonce="same-click").status_code == 303
    queued = Message.objects.get(ticket=ticket, kind=Message.Kind.REACTION)
    assert queued.delivery_status == "queued" and len(fake.reactions()) == 1

    call_command("send_outbox")
    call_command("send_outbox")

    assert Message.objects.filter(ticket=ticket, kind=Message.Kind.REACTION).count() == 1
    assert [r["emoji"] for r in fake.reactions()] == ["🙏", "🙏"]  # the failed try, then the one that went
    queued.refresh_from_db()
    assert queued.delivery_status == "sent" and queued.provider_message_id.startswith("wamid.FAKE")


# --- quotes: the providers' exact requests and the thread ---------------------------------------------------


def test_meta_reply_quoting_the_clients_message_carries_its_wamid_in_context(client, meta, agent1, fake):
    asked = client_writes_meta(client, meta, "Qual o *prazo*?", wamid="wamid.CLIENT0005")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)

    assert reply(client, ticket, "Chega amanhã.", asked.pk).status_code == 303

    [call] = provider_sends(fake)
    assert call.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CLIENT,
        "type": "text",
        "text": {"preview_url": False, "body": "Chega amanhã."},
        "context": {"message_id": "wamid.CLIENT0005"},
    }
    answer = Message.objects.get(ticket=ticket, direction="out")
    assert answer.reply_to_id == asked.pk and answer.reply_to_provider_id == "wamid.CLIENT0005"

    html = client.get(url(ticket)).content.decode()
    bubble = html[html.index(f'data-message="{answer.pk}"') :]
    bubble = bubble[: bubble.index("</li>")]
    # The quote above the text, with the quoted text formatted.
    assert bubble.index('data-quoted="wamid.CLIENT0005"') < bubble.index("Chega amanhã.")
    assert "Qual o <strong>prazo</strong>?" in bubble


def test_evolution_reply_quoting_the_clients_text_sends_the_gateways_quoted(client, evo, agent1, fake):
    asked = client_writes_evolution(client, evo, "Pode me ligar?", key_id="3EB0CLIENT000000000006")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)

    assert reply(client, ticket, "Claro, às 15h.", asked.pk).status_code == 303

    [call] = provider_sends(fake)
    assert call.path == "/message/sendText/demo"
    assert call.json == {
        "number": CLIENT,
        "text": "Claro, às 15h.",
        "quoted": {
            "key": {"remoteJid": f"{CLIENT}@s.whatsapp.net", "fromMe": False, "id": "3EB0CLIENT000000000006"},
            "message": {"conversation": "Pode me ligar?"},
        },
    }
    assert call.answer["contextInfo"]["stanzaId"] == "3EB0CLIENT000000000006"
    assert Message.objects.get(ticket=ticket, direction="out").delivery_status == "sent"


def test_quoting_the_agents_own_sent_reply_on_evolution_says_from_me(client, evo, agent1, fake):
    asked = client_writes_evolution(client, evo, "Oi", key_id="3EB0CLIENT000000000007")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)
    assert reply(client, ticket, "Primeira resposta", asked.pk, nonce="q1").status_code == 303
    first = Message.objects.get(ticket=ticket, direction="out")

    assert reply(client, ticket, "Como eu disse acima", first.pk, nonce="q2").status_code == 303

    assert provider_sends(fake)[-1].json["quoted"] == {
        "key": {"remoteJid": f"{CLIENT}@s.whatsapp.net", "fromMe": True, "id": first.provider_message_id},
        "message": {"conversation": "Primeira resposta"},
    }
    assert fake.quotes() == ["3EB0CLIENT000000000007", first.provider_message_id]


def test_a_file_reply_quotes_too(client, meta, evo, agent1, fake):
    asked_meta = client_writes_meta(client, meta, "Manda o boleto?", wamid="wamid.CLIENT0009")
    asked_evo = client_writes_evolution(client, evo, "E o recibo?", key_id="3EB0CLIENT000000000009")
    client.force_login(agent1)
    for asked in (asked_meta, asked_evo):
        ticket = claimed(asked, agent1)
        upload = SimpleUploadedFile("boleto.pdf", b"%PDF-1.4 segunda via", content_type="application/pdf")
        response = client.post(
            url(ticket, "responder"), {"text": "Segue", "reply_to": str(asked.pk), "file": upload, "nonce": "f"}
        )
        assert response.status_code == 303
    sends = [c for c in provider_sends(fake) if c.path.endswith(("/messages", "/sendMedia/demo"))]
    meta_send, evo_send = (c.json for c in sends)
    assert meta_send["type"] == "document" and meta_send["context"] == {"message_id": "wamid.CLIENT0009"}
    assert evo_send["quoted"] == {
        "key": {"remoteJid": f"{CLIENT}@s.whatsapp.net", "fromMe": False, "id": "3EB0CLIENT000000000009"},
        "message": {"conversation": "E o recibo?"},
    }


def test_a_quoted_reply_is_stored_and_sent_once_per_nonce(client, meta, agent1, fake):
    asked = client_writes_meta(client, meta, "Olá", wamid="wamid.CLIENT0008")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)
    for _ in range(2):
        assert reply(client, ticket, "Oi!", asked.pk, nonce="twice").status_code == 303
    call_command("send_outbox")
    assert Message.objects.filter(ticket=ticket, direction="out").count() == 1
    assert fake.quotes() == ["wamid.CLIENT0008"]


# --- bad input: 400, nothing stored or sent -------------------------------------------------------------


@pytest.fixture
def held(client, meta, agent1):
    asked = client_writes_meta(client, meta, "Preciso de ajuda", wamid="wamid.CLIENT0100")
    ticket = claimed(asked, agent1)
    client.force_login(agent1)
    return ticket, asked


def _nothing_happened(ticket, fake, before):
    assert Message.objects.filter(ticket=ticket).count() == before
    assert provider_sends(fake) == []


def test_quoting_a_message_of_another_ticket_is_400(client, held, meta, agent1, fake):
    ticket, _ = held
    other = client_writes_meta(client, meta, "Outro cliente", wamid="wamid.OTHER0001", wa_id="5511977770002")
    before = Message.objects.filter(ticket=ticket).count()
    response = reply(client, ticket, "Oi", other.pk)
    assert response.status_code == 400 and "não é deste atendimento" in response.content.decode()
    _nothing_happened(ticket, fake, before)


@pytest.mark.parametrize("value", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_quoting_an_unknown_message_is_400(client, held, fake, value):
    ticket, _ = held
    before = Message.objects.filter(ticket=ticket).count()
    assert reply(client, ticket, "Oi", value).status_code == 400
    _nothing_happened(ticket, fake, before)


def test_quoting_an_internal_note_is_400(client, held, agent1, fake):
    ticket, _ = held
    note = services.ticket_note_add(ticket=ticket, by=agent1, text="cliente difícil")
    before = Message.objects.filter(ticket=ticket).count()
    response = reply(client, ticket, "Oi", note.pk)
    assert response.status_code == 400 and "nota interna" in response.content.decode()
    _nothing_happened(ticket, fake, before)


def test_reacting_to_the_agents_own_message_or_a_note_is_400(client, held, agent1, fake):
    ticket, _ = held
    own = services.ticket_reply(ticket=ticket, agent=agent1, text="Resposta")
    note = services.ticket_note_add(ticket=ticket, by=agent1, text="nota")
    fake.calls.clear()
    before = Message.objects.filter(ticket=ticket).count()
    for target in (own, note):
        response = react(client, ticket, target, "👍")
        assert response.status_code == 400
        assert "mensagem do cliente" in response.content.decode()
    _nothing_happened(ticket, fake, before)


def test_reacting_to_a_message_of_another_ticket_is_400(client, held, meta, fake):
    ticket, _ = held
    other = client_writes_meta(client, meta, "Outro", wamid="wamid.OTHER0002", wa_id="5511977770003")
    before = Message.objects.filter(ticket=ticket).count()
    assert react(client, ticket, other, "👍").status_code == 400
    _nothing_happened(ticket, fake, before)


@pytest.mark.parametrize("emoji", ["ok", "👍👍", "👍 ok", "🇧🇷🇧🇷", ":)", "a👍", "👍\u200d", "1", "x" * 500])
def test_an_emoji_field_with_text_or_several_emoji_is_400(client, held, fake, emoji):
    ticket, asked = held
    before = Message.objects.filter(ticket=ticket).count()
    response = react(client, ticket, asked, emoji)
    assert response.status_code == 400 and "único emoji" in response.content.decode()
    _nothing_happened(ticket, fake, before)


# --- conflicts: 409 like responder --------------------------------------------------------------------------


def test_react_and_quote_outside_the_24_hour_window_are_409(client, held, fake):
    ticket, asked = held
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=timezone.now() - timedelta(hours=24, minutes=1))
    before = Message.objects.filter(ticket=ticket).count()
    for response in (react(client, ticket, asked, "👍"), reply(client, ticket, "Oi", asked.pk)):
        assert response.status_code == 409 and "janela de 24 horas" in response.content.decode()
    _nothing_happened(ticket, fake, before)


def test_reacting_on_a_ticket_someone_else_holds_or_that_is_closed_is_409(client, held, agent1, agent2, fake):
    ticket, asked = held
    client.force_login(agent2)
    response = react(client, ticket, asked, "👍")
    assert response.status_code == 409 and "Agente 1" in response.content.decode()
    services.ticket_close(ticket=ticket, by=agent1)
    client.force_login(agent1)
    assert react(client, ticket, asked, "👍").status_code == 409
    assert not Message.objects.filter(ticket=ticket, kind=Message.Kind.REACTION).exists()
    assert provider_sends(fake) == []


def test_reacting_in_espera_is_409(client, meta, agent1, fake):
    asked = client_writes_meta(client, meta, "Alguém?", wamid="wamid.CLIENT0200")
    client.force_login(agent1)
    assert react(client, Ticket.objects.get(pk=asked.ticket_id), asked, "👍").status_code == 409
    assert provider_sends(fake) == []


def test_another_tenants_ticket_is_404_and_get_is_405(client, held, outsider):
    ticket, asked = held
    client.force_login(outsider.agent)
    assert react(client, ticket, asked, "👍").status_code == 404
    client.force_login(ticket.agent)
    assert client.get(url(ticket, "reagir")).status_code == 405


# --- the page's controls ------------------------------------------------------------------------------------


def test_the_page_carries_each_messages_reaction_form_and_quote_control(client, held, agent1):
    ticket, asked = held
    own = services.ticket_reply(ticket=ticket, agent=agent1, text="Resposta")
    Message.objects.filter(pk=own.pk).update(provider_message_id="wamid.OWN0001", delivery_status="sent")
    html = client.get(url(ticket)).content.decode()
    client_row = html[html.index(f'data-message="{asked.pk}"') :]
    client_row = client_row[: client_row.index("</li>")]
    assert f'action="/tickets/{ticket.pk}/reagir/"' in client_row
    assert f'<input type="hidden" name="message" value="{asked.pk}">' in client_row
    assert f'href="/tickets/{ticket.pk}/?reply_to={asked.pk}#reply-box"' in client_row
    own_row = html[html.index(f'data-message="{own.pk}"') :]
    own_row = own_row[: own_row.index("</li>")]
    assert f"?reply_to={own.pk}" in own_row and "reagir/" not in own_row  # quotable, not reactable


def test_reply_to_in_the_page_url_prefills_the_quote_without_javascript(client, held, meta):
    ticket, asked = held
    html = client.get(url(ticket) + f"?reply_to={asked.pk}").content.decode()
    assert f'name="reply_to" value="{asked.pk}"' in html
    box = html[html.index("data-quoting") :]
    assert "Preciso de ajuda" in box[: box.index("</div>")] and "data-quoting hidden" not in html

    other = client_writes_meta(client, meta, "Outro", wamid="wamid.OTHER0003", wa_id="5511977770004")
    html = client.get(url(ticket) + f"?reply_to={other.pk}").content.decode()
    assert f'value="{other.pk}"' not in html and "data-quoting hidden" in html


def test_no_controls_for_someone_who_cannot_reply(client, held, agent2):
    ticket, _ = held
    client.force_login(agent2)
    html = client.get(url(ticket)).content.decode()
    assert "reagir/" not in html and "reply_to=" not in html
