import pytest

from iaze.lib.models import DeletionRefused
from tests import factories as f
from tickets import services
from tickets.models import Message, Ticket, TicketEvent, UIState


def test_claim_then_close_moves_forward_and_audits(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn)
    assert ticket.ui_state == UIState.ESPERA
    ticket = services.ticket_claim(ticket=ticket, agent=agent1)
    assert ticket.ui_state == UIState.ATENDENDO and ticket.agent == agent1 and ticket.claimed_at
    ticket = services.ticket_close(ticket=ticket, by=agent1)
    assert ticket.ui_state == UIState.FINALIZADO and ticket.closed_at
    events = TicketEvent.objects.filter(ticket=ticket).order_by("ticket_version")
    # One event per change, numbered by the ticket's version: the client's message is a change too.
    assert list(events.values_list("action", "ticket_version")) == [
        ("created", 1),
        ("message", 2),
        ("claimed", 3),
        ("closed", 4),
    ]
    assert ticket.version == 4


def test_second_claim_loses_and_names_holder(meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn)
    services.ticket_claim(ticket=ticket, agent=agent1)
    with pytest.raises(services.TicketConflict) as exc:
        services.ticket_claim(ticket=ticket, agent=agent2)
    assert exc.value.holder == agent1
    assert Ticket.objects.get(pk=ticket.pk).agent == agent1


def test_agent_of_other_department_cannot_claim(meta_conn, agent3):
    ticket = f.make_ticket(meta_conn)
    with pytest.raises(services.NotAllowed):
        services.ticket_claim(ticket=ticket, agent=agent3)
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ESPERA


def test_close_by_other_agent_refused_but_supervisor_may(meta_conn, agent1, agent2, reseller_user):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    with pytest.raises(services.NotAllowed):
        services.ticket_close(ticket=ticket, by=agent2)
    assert services.ticket_close(ticket=ticket, by=reseller_user).ui_state == UIState.FINALIZADO


def test_close_in_espera_is_conflict(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn)
    with pytest.raises(services.TicketConflict):
        services.ticket_close(ticket=ticket, by=agent1)


def test_closed_ticket_is_never_reopened(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1, closed_by=agent1)
    again, created = services.inbound_route(connection=meta_conn, client=ticket.client)
    assert created and again.pk != ticket.pk and again.ui_state == UIState.ESPERA
    with pytest.raises(services.TicketConflict):
        services.ticket_claim(ticket=ticket, agent=agent1)
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.FINALIZADO


def test_same_provider_message_is_stored_once(meta_conn):
    ticket = f.make_ticket(meta_conn)
    msg = services.InboundMessage(provider_message_id="wamid.X1", text="oi")
    assert services.message_store(ticket=ticket, msg=msg) is not None
    assert services.message_store(ticket=ticket, msg=msg) is None
    assert Message.objects.filter(provider_message_id="wamid.X1").count() == 1


def test_protected_rows_refuse_delete(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn)
    with pytest.raises(DeletionRefused):
        ticket.delete()
    with pytest.raises(DeletionRefused):
        Ticket.objects.all().delete()
    with pytest.raises(DeletionRefused):
        agent1.delete()
    with pytest.raises(DeletionRefused):
        Message.objects.filter(ticket=ticket).delete()
    assert Ticket.objects.count() == 1


def test_inbound_route_opens_in_the_connections_default_department(meta_conn, tenant):
    client = f.make_client(tenant.reseller)
    ticket, created = services.inbound_route(connection=meta_conn, client=client)
    assert created and ticket.department == tenant.suporte and ticket.reseller == tenant.reseller
    again, created_again = services.inbound_route(connection=meta_conn, client=client)
    assert again.pk == ticket.pk and not created_again
    assert list(TicketEvent.objects.filter(ticket=ticket).values_list("action", flat=True)) == ["created"]


def test_out_of_order_messages_never_move_activity_backwards(meta_conn):
    from datetime import timedelta

    from iaze.lib import clock

    ticket = f.make_ticket(meta_conn)
    # Not in the future: a stamp later than its arrival is capped for the window (tests/conversation).
    late = clock.now()
    early = late - timedelta(minutes=10)
    services.message_store(
        ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.late", text="segunda", timestamp=late)
    )
    services.message_store(
        ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.early", text="primeira", timestamp=early)
    )
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.last_message_at == late and stored.last_message_preview == "segunda"
    assert stored.last_inbound_at == late


def test_reply_rules(meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn)
    with pytest.raises(services.TicketConflict):  # espera: claim first
        services.ticket_reply(ticket=ticket, agent=agent1, text="oi")
    services.ticket_claim(ticket=ticket, agent=agent1)
    with pytest.raises(services.ReplyRejected):
        services.ticket_reply(ticket=ticket, agent=agent1, text="  \n ")
    with pytest.raises(services.TicketConflict) as exc:
        services.ticket_reply(ticket=ticket, agent=agent2, text="oi")
    assert exc.value.holder == agent1
    first = services.ticket_reply(ticket=ticket, agent=agent1, text="Olá!", nonce="form-1")
    again = services.ticket_reply(ticket=ticket, agent=agent1, text="Olá!", nonce="form-1")  # double click
    assert first.pk == again.pk and first.text == "Olá!"
    assert first.delivery_status == Message.Delivery.QUEUED and first.provider_message_id == ""
    assert TicketEvent.objects.filter(ticket=ticket, action="replied").count() == 1


def test_admin_closes_any_ticket_and_outsider_cannot(meta_conn, agent1, admin_user, outsider):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    for stranger in (outsider.agent, outsider.reseller_user):
        with pytest.raises(services.NotAllowed):
            services.ticket_close(ticket=ticket, by=stranger)
    closed = services.ticket_close(ticket=ticket, by=admin_user)
    assert closed.ui_state == UIState.FINALIZADO and closed.closed_by == admin_user and closed.agent == agent1
