"""What the client does to messages: reactions on their message, edits keep the old text, deletes keep
the message marked, replies show the quoted one. Through signed webhooks and the conversation page."""

import pytest

from tests import factories as f
from tests.support.webhooks import evo_sample, meta_sample, post_evolution, post_meta
from tickets import services
from tickets.models import Message, Ticket
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db

WA_ID = "972987654321"


@pytest.fixture
def conn(tenant):
    return f.make_connection(tenant.reseller, tenant.suporte, key="ca-meta", phone_number_id="1122334455667")


def _client_message(conn, agent, pid, text, *, wa_id=WA_ID):
    client = f.make_client(conn.reseller, wa_id=wa_id, name="Test Name")
    ticket = f.make_ticket(conn, client=client, agent=agent, text="primeira")
    services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id=pid, text=text))
    return ticket


def _page(client, agent, ticket):
    client.force_login(agent)
    return client.get(f"/tickets/{ticket.pk}/").content.decode()


def test_a_reaction_sits_on_its_message_and_a_removal_takes_it_away(client, conn, agent1):
    ticket = _client_message(conn, agent1, "wamid.yzxyzx=", "Chegou o boleto?")
    assert post_meta(client, conn, meta_sample("meta_reaction.json", conn)).status_code == 200
    html = _page(client, agent1, ticket)
    assert Message.objects.filter(ticket=ticket, kind="reaction").count() == 1
    target = html[html.index("Chegou o boleto?") :]
    assert "data-reactions" in target[: target.index("</li>")] and "😮" in target[: target.index("</li>")]
    assert html.count('class="msg msg-in') == 2  # the reaction is no bubble of its own
    removed = meta_sample("meta_reaction_removed_empty_emoji.json", conn, message_id="wamid.removal")
    assert post_meta(client, conn, removed).status_code == 200
    assert "data-reactions" not in _page(client, agent1, ticket)


def test_an_edit_shows_the_new_text_and_keeps_the_previous(client, conn, agent1):
    original = "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA="
    ticket = _client_message(conn, agent1, original, "Old image caption", wa_id="16505551234")
    body = meta_sample("meta_edit_image_caption.json", conn)
    assert post_meta(client, conn, body).status_code == 200
    assert post_meta(client, conn, body).status_code == 200  # a provider retry changes nothing more
    edited = Message.objects.get(provider_message_id=original)
    assert edited.text == "Updated image caption" and edited.previous_texts == ["Old image caption"]
    assert edited.edited_at is not None
    assert Ticket.objects.filter(connection=conn).count() == 1  # the edit stays on the ticket of its message
    html = _page(client, agent1, ticket)
    assert "Updated image caption" in html and "data-edited" in html and "Old image caption" in html
    assert "editada" in html


def test_a_client_delete_keeps_the_message_marked(client, tenant, agent1):
    evo = f.make_connection(tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="ca-evo")
    pid = "A5561E44C2A63682E4295B52F484C14E"
    ticket = _client_message(evo, agent1, pid, "mensagem que o cliente apagou", wa_id="200000000000")
    body = evo_sample("evolution_messages_update_deleted_status.json")
    body["instance"] = evo.instance_name
    assert post_evolution(client, evo, body).status_code == 200
    message = Message.objects.get(provider_message_id=pid)
    assert message.deleted_by_client_at is not None and message.text == "mensagem que o cliente apagou"
    html = _page(client, agent1, ticket)
    assert "apagada pelo cliente" in html and "mensagem que o cliente apagou" in html


def test_a_reply_shows_the_quoted_message(client, conn, agent1):
    ticket = _client_message(conn, agent1, "wamid.xyzxyz==", "Qual o prazo de entrega?")
    assert post_meta(client, conn, meta_sample("meta_text_reply_context.json", conn)).status_code == 200
    html = _page(client, agent1, ticket)
    quote = html[html.index("data-quoted") :]
    assert "Qual o prazo de entrega?" in quote[: quote.index("</blockquote>")]
    assert html.index("data-quoted") < html.index("replied text")


def test_internal_notes_are_never_quoted_or_reacted_to(client, conn, agent1):
    ticket = _client_message(conn, agent1, "wamid.q1", "oi")
    services.ticket_note_add(ticket=ticket, by=agent1, text="nota")
    html = _page(client, agent1, ticket)
    assert "data-quoted" not in html
