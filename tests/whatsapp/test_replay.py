"""Journal first: a crash after the journal write loses nothing, and replay stores each message once."""

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import Client
from tests.support.webhooks import meta_text, post_meta
from tickets.models import Message, Ticket, TicketEvent
from tickets.services import inbound as ticket_inbound
from tickets.services import receive as ticket_receive
from whatsapp import journal
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db


class SimulatedCrash(BaseException):
    """Like a killed worker: not an Exception, so nothing on the way up can swallow it."""


def _batch(connection):
    body = meta_text(connection, wa_id="5511900000001", message_id="wamid.c1", text="um")
    for wa_id, mid, text in (("5511900000002", "wamid.c2", "dois"), ("5511900000001", "wamid.c3", "três")):
        body["entry"][0]["changes"].append(
            meta_text(connection, wa_id=wa_id, message_id=mid, text=text)["entry"][0]["changes"][0]
        )
    return body


def _snapshot():
    # Joined here, not by values_list("ticket__client__wa_id"): the MongoDB test server gets those wrong.
    wa_ids = dict(Client.objects.values_list("pk", "wa_id"))
    clients = dict(Ticket.objects.values_list("pk", "client_id"))
    return sorted((m.provider_message_id, m.text, wa_ids[clients[m.ticket_id]]) for m in Message.objects.all())


def test_crash_right_after_the_journal_write_then_replay(client, meta_conn, monkeypatch):
    def crash(**kwargs):
        raise SimulatedCrash

    monkeypatch.setattr(journal, "parsed_ingest", crash)
    with pytest.raises(SimulatedCrash):
        post_meta(client, meta_conn, _batch(meta_conn))
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.PENDING and Message.objects.count() == 0
    monkeypatch.undo()

    call_command("replay_webhooks")
    expected = [
        ("wamid.c1", "um", "5511900000001"),
        ("wamid.c2", "dois", "5511900000002"),
        ("wamid.c3", "três", "5511900000001"),
    ]
    assert _snapshot() == expected
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED
    call_command("replay_webhooks", "--all")
    call_command("replay_webhooks", "--all")
    assert _snapshot() == expected and Ticket.objects.count() == 2
    assert TicketEvent.objects.filter(action="created").count() == 2


def test_crash_in_the_middle_of_a_batch_then_replay(client, meta_conn, monkeypatch):
    real_store = ticket_receive.message_store
    calls = {"n": 0}

    def store_then_crash(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SimulatedCrash
        return real_store(**kwargs)

    monkeypatch.setattr(ticket_receive, "message_store", store_then_crash)  # the door's step
    with pytest.raises(SimulatedCrash):
        post_meta(client, meta_conn, _batch(meta_conn))
    # On SQL databases a body is applied in one transaction: the crash leaves none of it. Without
    # transactions (MongoDB) the message stored before the crash stays; replay completes either.
    before_crash = [] if connection.features.supports_transactions else [("wamid.c1", "um", "5511900000001")]
    assert _snapshot() == before_crash
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PENDING
    monkeypatch.undo()

    # The provider retries the same bytes, and an operator replays too: still once each.
    assert post_meta(client, meta_conn, _batch(meta_conn)).status_code == 200
    call_command("replay_webhooks", "--all")
    assert [m[0] for m in _snapshot()] == ["wamid.c1", "wamid.c2", "wamid.c3"]
    assert Ticket.objects.count() == 2 and WebhookEvent.objects.count() == 1


def test_crash_between_a_message_and_its_tickets_activity_then_replay(client, meta_conn, monkeypatch):
    """Without a transaction the message's insert can outlive a crash before its ticket is touched;
    processing the body again completes the ticket instead of skipping the stored message."""
    real_touch = ticket_inbound.ticket_touch

    def crash(*args, **kwargs):
        raise SimulatedCrash

    monkeypatch.setattr(ticket_inbound, "ticket_touch", crash)
    with pytest.raises(SimulatedCrash):
        post_meta(
            client, meta_conn, meta_text(meta_conn, wa_id="5511900000001", message_id="wamid.t1", text="primeira")
        )
    monkeypatch.setattr(ticket_inbound, "ticket_touch", real_touch)
    if connection.features.supports_transactions:
        assert Message.objects.count() == 0  # rolled back with the rest of the body
    else:
        assert Message.objects.count() == 1 and Ticket.objects.get().last_message_preview == ""
    call_command("replay_webhooks")
    ticket = Ticket.objects.get()
    message = Message.objects.get()
    assert ticket.last_message_preview == "primeira" and ticket.last_inbound_at == message.provider_timestamp
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


def test_replay_failed_only_when_asked(client, meta_conn, monkeypatch):
    from whatsapp import inbound as services

    monkeypatch.setattr(services, "message_ingest", lambda **kw: 1 / 0)
    post_meta(client, meta_conn, meta_text(meta_conn))
    monkeypatch.undo()
    call_command("replay_webhooks")
    assert WebhookEvent.objects.get().state == WebhookEvent.State.FAILED and Message.objects.count() == 0
    call_command("replay_webhooks", "--failed")
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.PROCESSED and event.error == "" and event.attempts == 2
    assert Message.objects.count() == 1
