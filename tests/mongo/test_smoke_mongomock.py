"""The services end to end on mongomock, an in-process fake MongoDB, behind the real backend.

What runs here: migrations (every collection and index, the partial unique ones
included), seed data, inbound routing, message dedup, claim, close, replies with
their idempotency key, the queue selectors and the persistence counts. What does
not: concurrency (mongomock serialises everything; races are proven on
PostgreSQL), write concern / journaling, and transactions. See docs/mongodb.md.
"""

import pytest
from django.db import IntegrityError

from accounts.models import User
from iaze.lib.models import DeletionRefused
from ops.management.commands.persistence import take_counts
from tests import factories as f
from tickets import services
from tickets.models import Message, Ticket, TicketEvent, UIState
from tickets.reads import selectors


@pytest.fixture
def tenant(mongomock_db):
    reseller = f.make_reseller("demo")
    suporte = f.make_department(reseller, "Suporte")
    return type(
        "T",
        (),
        dict(
            db=mongomock_db,
            reseller=reseller,
            suporte=suporte,
            agent1=f.make_user("agente1@demo.local", reseller=reseller, departments=[suporte]),
            agent2=f.make_user("agente2@demo.local", reseller=reseller, departments=[suporte]),
            boss=f.make_user("revenda@demo.local", reseller=reseller, role=User.Role.RESELLER),
            conn=f.make_connection(reseller, suporte, key="demo-meta"),
        ),
    )


def test_migrate_creates_the_contract_collections_and_partial_indexes(mongomock_db):
    names = set(mongomock_db.list_collection_names())
    assert {
        "users",
        "tickets",
        "messages",
        "departments",
        "reseller_configs",
        "whatsapp_connections",
        "resellers",
        "clients",
        "ticket_events",
        "webhook_events",
    } <= names
    info = mongomock_db.tickets.index_information()
    assert info["ticket_one_open_per_client_connection"]["partialFilterExpression"]["status"] == {"$eq": "open"}


def test_ticket_lifecycle_on_mongomock(tenant):
    client = f.make_client(tenant.reseller)
    ticket, created = services.inbound_route(connection=tenant.conn, client=client)
    assert created and ticket.ui_state == UIState.ESPERA
    assert services.inbound_route(connection=tenant.conn, client=client) == (ticket, False)

    msg = services.InboundMessage(provider_message_id="wamid.1", text="Olá")
    assert services.message_store(ticket=ticket, msg=msg) is not None
    assert services.message_store(ticket=ticket, msg=msg) is None  # the unique index caught the retry
    assert Message.objects.filter(ticket=ticket).count() == 1
    assert Ticket.objects.get(pk=ticket.pk).last_message_preview == "Olá"

    claimed = services.ticket_claim(ticket=ticket, agent=tenant.agent1)
    assert claimed.ui_state == UIState.ATENDENDO and claimed.agent == tenant.agent1
    with pytest.raises(services.TicketConflict) as lost:
        services.ticket_claim(ticket=ticket, agent=tenant.agent2)
    assert lost.value.holder == tenant.agent1

    reply = services.ticket_reply(ticket=ticket, agent=tenant.agent1, text="Bom dia!", nonce="n-1")
    again = services.ticket_reply(ticket=ticket, agent=tenant.agent1, text="Bom dia!", nonce="n-1")
    assert reply.pk == again.pk and reply.delivery_status == Message.Delivery.QUEUED
    # Two queued replies without a provider id coexist (the `$gt: ''` partial index).
    services.ticket_reply(ticket=ticket, agent=tenant.agent1, text="Mais uma", nonce="n-2")
    assert Message.objects.filter(ticket=ticket, provider_message_id="").count() == 2

    with pytest.raises(services.NotAllowed):
        services.ticket_close(ticket=ticket, by=tenant.agent2)
    closed = services.ticket_close(ticket=ticket, by=tenant.agent1)
    assert closed.ui_state == UIState.FINALIZADO
    with pytest.raises(services.TicketConflict):
        services.ticket_claim(ticket=ticket, agent=tenant.agent2)

    newer, created = services.inbound_route(connection=tenant.conn, client=client)
    assert created and newer.pk != ticket.pk
    events = TicketEvent.objects.filter(ticket=ticket).order_by("ticket_version")
    # One record per change, numbered 1, 2, 3… by the ticket's version (no transaction here: each change's
    # write and record are two steps, and the version orders them all the same).
    assert list(events.values_list("ticket_version", "action")) == [
        (1, "created"),
        (2, "message"),
        (3, "claimed"),
        (4, "replied"),
        (5, "replied"),
        (6, "closed"),
    ]
    assert Ticket.objects.get(pk=ticket.pk).version == 6
    assert take_counts()["tickets"] == {"espera": 1, "atendendo": 0, "finalizado": 1}


def test_second_open_ticket_for_same_client_is_refused_by_the_index(tenant):
    client = f.make_client(tenant.reseller)
    ticket, _ = services.inbound_route(connection=tenant.conn, client=client)
    with pytest.raises(IntegrityError):
        Ticket.objects.create(
            reseller=tenant.reseller, department=tenant.suporte, client=client, connection=tenant.conn
        )
    # Closed tickets of the same client are outside the partial index.
    services.ticket_claim(ticket=ticket, agent=tenant.agent1)
    services.ticket_close(ticket=ticket, by=tenant.agent1)
    Ticket.objects.create(
        reseller=tenant.reseller,
        department=tenant.suporte,
        client=client,
        connection=tenant.conn,
        status=Ticket.Status.CLOSED,
        agent=tenant.agent1,
    )
    assert Ticket.objects.filter(client=client).count() == 2


def test_queue_selectors_on_mongomock(tenant):
    first = f.make_ticket(tenant.conn, text="primeiro")
    second = f.make_ticket(tenant.conn, text="segundo")
    page = selectors.ticket_list_for(tenant.agent1, UIState.ESPERA)
    assert [t.pk for t in page.items] == [second.pk, first.pk]  # newest activity first
    services.ticket_claim(ticket=first, agent=tenant.agent1)
    counts = selectors.ticket_counts_for(tenant.agent1)
    assert (counts["espera"], counts["atendendo"], counts["finalizado"]) == (1, 1, 0)
    assert [t.pk for t in selectors.ticket_list_for(tenant.agent1, UIState.ATENDENDO).items] == [first.pk]


def test_nothing_is_deleted_on_mongomock(tenant):
    f.make_ticket(tenant.conn)
    with pytest.raises(DeletionRefused):
        Ticket.objects.all().delete()
    assert tenant.db.tickets.count_documents({}) == 1


def test_unread_marks_and_counts_on_mongomock(tenant):
    """The inbox's read marks (insert, then forward-only updates) and its one aggregate count."""
    from tickets.reads import inbox

    ticket = f.make_ticket(tenant.conn, agent=tenant.agent1, text="primeira")
    other = f.make_ticket(tenant.conn, agent=tenant.agent1, text="outra")
    unread = inbox.unread_count(inbox.unread_for(tenant.agent1))
    assert unread.counts == {ticket.pk: 1, other.pk: 1} and unread.total == 2

    shown = Message.objects.filter(ticket=ticket)
    assert services.ticket_read_mark(ticket=ticket, agent=tenant.agent1, upto=services.newest_inbound_at(shown))
    assert not services.ticket_read_mark(ticket=ticket, agent=tenant.agent1, upto=services.newest_inbound_at(shown))
    services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.u1", text="mais"))
    services.message_store(ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.u2", text="e mais"))
    unread = inbox.unread_count(inbox.unread_for(tenant.agent1))
    assert unread.counts == {ticket.pk: 2, other.pk: 1}
    feed = inbox.alert_feed(unread, [])
    assert {a["ticket"] for a in feed} == {ticket.pk, other.pk}


def test_login_throttle_counts_and_locks_on_mongomock(mongomock_db, settings, monkeypatch):
    """The throttle's conditional writes (attempts < limit → attempts + 1) as the backend translates them."""
    from datetime import timedelta

    from django.test import RequestFactory

    from accounts import throttle
    from accounts.models import LoginCounter

    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="203.0.113.5")
    granted = [throttle.reserve(request, "alguem@demo.local") for _ in range(settings.LOGIN_THROTTLE_FAILURES + 2)]
    assert [r.granted for r in granted] == [True] * settings.LOGIN_THROTTLE_FAILURES + [False, False]
    assert 0 < throttle.retry_after(request, "alguem@demo.local") <= settings.LOGIN_THROTTLE_WINDOW + 1
    assert set(LoginCounter.objects.values_list("attempts", flat=True)) == {settings.LOGIN_THROTTLE_FAILURES}
    with pytest.raises(DeletionRefused):
        LoginCounter.objects.all().delete()
    # A right password gives its check back and clears the address + login count.
    other = RequestFactory().post("/accounts/login/", REMOTE_ADDR="203.0.113.6")
    throttle.reserve(other, "alguem@demo.local").succeeded()
    assert LoginCounter.objects.get(kind="address", key=throttle.keys_for(other, "x")["address"]).attempts == 0
    # After the window the run starts again.
    moved = throttle.clock.now() + timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW + 1)
    monkeypatch.setattr(throttle.clock, "now", lambda: moved)
    assert throttle.reserve(request, "alguem@demo.local").granted
    assert (
        LoginCounter.objects.get(kind="pair", key=throttle.keys_for(request, "alguem@demo.local")["pair"]).attempts == 1
    )


def test_client_preview_last_answer_and_their_backfill_on_mongomock(tenant):
    """The fields a row quotes and "sem resposta" reads, as the services keep them and as migration 0021
    fills them (its aggregates and conditional updates) on the MongoDB backend; the earlier tickets."""
    from importlib import import_module

    from django.apps import apps

    from tickets.reads import inbox

    earlier = f.make_ticket(tenant.conn, agent=tenant.agent1, closed_by=tenant.agent1, text="antes")
    ticket = f.make_ticket(tenant.conn, client=earlier.client, agent=tenant.agent1, text="Preciso de ajuda")
    assert inbox.unanswered_since(ticket) == ticket.last_inbound_at
    services.ticket_reply(ticket=ticket, agent=tenant.agent1, text="Claro!", nonce="n1")
    answered = Ticket.objects.get(pk=ticket.pk)
    assert answered.last_client_preview == "Preciso de ajuda" and inbox.unanswered_since(answered) is None
    assert [t.pk for t in selectors.ticket_history_for(tenant.agent1, answered)] == [earlier.pk]
    assert [t.pk for t in selectors.ticket_history_for(tenant.boss, answered)] == [earlier.pk]
    Ticket.objects.update(last_client_preview="", last_human_reply_at=None)
    import_module("tickets.migrations.0021_client_last_message").backfill(apps, None)
    filled = Ticket.objects.get(pk=ticket.pk)
    reply = Message.objects.get(ticket_id=ticket.pk, direction="out")
    assert filled.last_client_preview == "Preciso de ajuda" and filled.last_human_reply_at == reply.created_at
    assert Ticket.objects.get(pk=earlier.pk).last_client_preview == "antes"
