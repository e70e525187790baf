"""Database constraints: they hold even when a writer bypasses the services."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests import factories as f
from tickets.models import Message, Ticket
from whatsapp.models import WebhookEvent


def refused(fn):
    """True when the database refuses the write (savepoint so the test transaction survives)."""
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def new_ticket(conn, client, **fields):
    return Ticket.objects.create(
        reseller=conn.reseller, department=conn.default_department, client=client, connection=conn, **fields
    )


def test_one_open_ticket_per_client_and_connection(meta_conn, agent1, outsider):
    client = f.make_client(meta_conn.reseller)
    new_ticket(meta_conn, client)
    assert refused(lambda: new_ticket(meta_conn, client))
    assert refused(lambda: new_ticket(meta_conn, client, agent=agent1))  # atendendo is open too
    # Closed tickets of the same client repeat freely: the history keeps every one.
    for _ in range(2):
        new_ticket(meta_conn, client, status=Ticket.Status.CLOSED, agent=agent1)
    assert Ticket.objects.filter(client=client).count() == 3


def test_same_client_may_have_an_open_ticket_on_another_connection(meta_conn, evo_conn):
    client = f.make_client(meta_conn.reseller)
    new_ticket(meta_conn, client)
    new_ticket(evo_conn, client)
    assert Ticket.objects.filter(client=client, status=Ticket.Status.OPEN).count() == 2


@pytest.mark.sql("MongoDB has no check constraints; the services only ever close a held ticket")
def test_closed_ticket_without_agent_refused_by_check_constraint(meta_conn):
    ticket = f.make_ticket(meta_conn)
    assert refused(lambda: Ticket.objects.filter(pk=ticket.pk).update(status=Ticket.Status.CLOSED))
    table = Ticket._meta.db_table
    pk = ticket.pk.hex if connection.vendor == "sqlite" else ticket.pk

    def raw_sql():
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET status = 'closed' WHERE id = %s", [pk])

    assert refused(raw_sql)
    assert Ticket.objects.get(pk=ticket.pk).status == Ticket.Status.OPEN


def _message(ticket, provider_id, **fields):
    fields.setdefault("direction", Message.Direction.IN)
    return Message.objects.create(
        ticket=ticket, connection=ticket.connection, provider_message_id=provider_id, **fields
    )


def test_provider_message_id_unique_per_connection_while_empty_ids_repeat(meta_conn, evo_conn):
    ticket = f.make_ticket(meta_conn)
    other = f.make_ticket(evo_conn)
    _message(ticket, "wamid.SAME")
    assert refused(lambda: _message(ticket, "wamid.SAME"))
    _message(other, "wamid.SAME")  # another connection: another namespace
    for _ in range(3):  # outbound replies before the provider answered
        _message(ticket, "", direction=Message.Direction.OUT, delivery_status=Message.Delivery.QUEUED)
    assert Message.objects.filter(ticket=ticket, provider_message_id="").count() == 3


def test_reply_nonce_unique_per_ticket_only_when_set(meta_conn):
    ticket = f.make_ticket(meta_conn)
    _message(ticket, "", client_nonce="n-1")
    assert refused(lambda: _message(ticket, "", client_nonce="n-1"))
    _message(ticket, "", client_nonce="")
    _message(ticket, "", client_nonce="")


def test_webhook_event_unique_per_connection(meta_conn, evo_conn):
    def event(conn):
        return WebhookEvent.objects.create(
            connection=conn, dedup_key="sha256:abc", body=b"{}", received_at=timezone.now()
        )

    event(meta_conn)
    assert refused(lambda: event(meta_conn))
    event(evo_conn)


@pytest.mark.parametrize("model", [Ticket, Message])
def test_protected_models_are_protected_relations(model):
    from django.db import models

    for field in model._meta.get_fields():
        if field.many_to_one or field.one_to_one:
            if field.concrete:
                assert field.remote_field.on_delete is models.PROTECT, field
