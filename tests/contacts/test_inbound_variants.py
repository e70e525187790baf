"""A Brazilian mobile is one client with or without its ninth digit: inbound routing, contacts and sends agree.

WhatsApp's wa_id leaves the ninth digit out for many lines (553187654321 is 5531987654321): a message
from either form reaches the same client and its open ticket; replies go to the form WhatsApp used last;
clients stored twice by an older version stay as they are, and a new message goes to the one with the
open ticket, else to the one that wrote last. Webhook bodies are the real sample shapes, really signed."""

import time

import pytest

from accounts.models import Client
from accounts.services import client_upsert
from providers.types import Sender
from tests import factories as f
from tests.support.webhooks import evo_sample, meta_text, post_evolution, post_meta
from tickets import services
from tickets.models import Message, Ticket
from tickets.outbox import _recipient

pytestmark = pytest.mark.django_db

WITHOUT_9, WITH_9 = "553187654321", "5531987654321"


def _evolution_text(number: str, *, message_id: str, text: str = "Oi") -> dict:
    body = evo_sample("evolution_messages_upsert_text.json")
    body["data"]["key"]["remoteJid"] = f"{number}@s.whatsapp.net"
    body["data"]["key"]["id"] = message_id
    body["data"]["message"] = {"conversation": text}
    return body


def test_both_forms_from_meta_are_one_client_and_one_ticket(client, meta_conn):
    assert post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WITHOUT_9, text="primeira")).status_code == 200
    assert post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WITH_9, text="segunda")).status_code == 200
    only = Client.objects.get()
    assert (only.identity, only.phone) == (WITH_9, WITH_9)  # stored in the canonical form
    ticket = Ticket.objects.get()
    assert list(Message.objects.filter(ticket=ticket).order_by("created_at").values_list("text", flat=True)) == [
        "primeira",
        "segunda",
    ]
    # Replies go to the number WhatsApp used last.
    assert only.wa_id == WITH_9


def test_replies_use_the_form_of_the_number_the_client_wrote_from(client, meta_conn, agent1):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WITHOUT_9, ts=int(time.time())))
    contact = Client.objects.get()
    assert contact.wa_id == WITHOUT_9 and contact.phone == WITH_9
    ticket = services.ticket_claim(ticket=Ticket.objects.get(), agent=agent1)
    reply = services.ticket_reply(ticket=ticket, agent=agent1, text="Olá!")
    assert _recipient(Message.objects.select_related("ticket__client").get(pk=reply.pk)) == WITHOUT_9


def test_a_contact_added_by_a_person_receives_the_clients_message_without_the_ninth_digit(client, agent1, meta_conn):
    client.force_login(agent1)
    assert client.post("/contatos/novo/", {"name": "Dona Rosa", "number": "(31) 98765-4321"}).status_code == 303
    contact = Client.objects.get()
    client.logout()
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WITHOUT_9, name="rosinha"))
    assert Client.objects.count() == 1
    contact.refresh_from_db()
    assert (contact.name, contact.profile_name, contact.wa_id) == ("Dona Rosa", "rosinha", WITHOUT_9)
    assert Ticket.objects.get().client_id == contact.pk


def test_evolution_remote_jid_in_either_form_reaches_the_same_client(client, evo_conn):
    assert post_evolution(client, evo_conn, _evolution_text(WITH_9, message_id="EVO1")).status_code == 200
    assert post_evolution(client, evo_conn, _evolution_text(WITHOUT_9, message_id="EVO2")).status_code == 200
    assert Client.objects.count() == 1
    assert Ticket.objects.count() == 1 and Message.objects.count() == 2
    assert Client.objects.get().wa_id == WITHOUT_9  # the remoteJid replies must use


def test_a_client_stored_twice_keeps_both_and_a_message_goes_to_the_one_with_the_open_ticket(
    client, tenant, meta_conn, agent1
):
    # An older version stored the phone twice: nothing is merged or deleted.
    older = f.make_client(tenant.reseller, wa_id=WITHOUT_9, name="Forma antiga")
    newer = f.make_client(tenant.reseller, wa_id=WITH_9, name="Forma nova")
    open_ticket = f.make_ticket(meta_conn, client=older)
    closed = f.make_ticket(meta_conn, client=newer, agent=agent1, closed_by=agent1)
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WITH_9, text="de novo"))
    assert Client.objects.count() == 2
    assert Message.objects.filter(ticket=open_ticket, text="de novo").exists()
    assert not Message.objects.filter(ticket=closed, text="de novo").exists()
    assert Ticket.objects.filter(status=Ticket.Status.OPEN).count() == 1


def test_a_client_stored_twice_without_an_open_ticket_gets_the_message_on_the_most_recent(
    client, tenant, meta_conn, agent1
):
    older = f.make_client(tenant.reseller, wa_id=WITHOUT_9, name="Forma antiga")
    newer = f.make_client(tenant.reseller, wa_id=WITH_9, name="Forma nova")
    f.make_ticket(meta_conn, client=newer, agent=agent1, closed_by=agent1)
    f.make_ticket(meta_conn, client=older, agent=agent1, closed_by=agent1)  # the older form wrote last
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id=WITH_9, text="voltei"))
    ticket = Ticket.objects.get(status=Ticket.Status.OPEN)
    assert ticket.client_id == older.pk
    assert Client.objects.count() == 2


def test_a_business_echo_from_the_other_form_lands_on_the_open_ticket(client, tenant, evo_conn):
    assert post_evolution(client, evo_conn, _evolution_text(WITH_9, message_id="EVO-IN")).status_code == 200
    echo = evo_sample("evolution_messages_upsert_fromme_text.json")
    echo["data"]["key"]["remoteJid"] = f"{WITHOUT_9}@s.whatsapp.net"
    echo["data"]["key"]["id"] = "EVO-ECHO"
    assert post_evolution(client, evo_conn, echo).status_code == 200
    ticket = Ticket.objects.get()
    assert Message.objects.filter(ticket=ticket, provider_message_id="EVO-ECHO", from_business_phone=True).exists()


def test_upsert_by_business_scoped_id_still_finds_the_client(tenant):
    first = client_upsert(reseller_id=tenant.reseller.pk, sender=Sender(bsuid="BR.123", name="Ana"))
    again = client_upsert(
        reseller_id=tenant.reseller.pk, sender=Sender(wa_id=WITHOUT_9, phone=WITHOUT_9, bsuid="BR.123", name="Ana")
    )
    assert again.pk == first.pk
    assert again.wa_id == WITHOUT_9 and again.phone == WITH_9
    found = client_upsert(reseller_id=tenant.reseller.pk, sender=Sender(wa_id=WITH_9, phone=WITH_9, name="Ana"))
    assert found.pk == first.pk and Client.objects.count() == 1
