"""The change record (tickets.activity.ticket_change) and its one reader (tickets.reads.changes).

Every change of a ticket moves its version by one in the conditional write that makes it, and is
recorded as a TicketEvent with that version; the reader reports each ticket's changes in the order of
their versions, also across a crash between a change and its record, and a tenant's changes with a
cursor that resumes where it stopped."""

import dataclasses
from datetime import timedelta

import pytest
from django.db import connection

from tests import factories as f
from tickets import activity, services
from tickets.models import Ticket, TicketEvent, UIState
from tickets.reads import changes, selectors
from tickets.services.inbound import message_settle


class SimulatedCrash(Exception):
    pass


def _versions(ticket) -> list[tuple[int, str]]:
    return [(c.version, c.action) for c in changes.ticket_changes(ticket.pk)]


def _crash_the_next_record(monkeypatch):
    """The next change's record is cut off by a crash, as on MongoDB: no transaction around the pair."""
    real = activity.event_record

    def crash(*args, **kwargs):
        monkeypatch.setattr(activity, "event_record", real)
        raise SimulatedCrash

    monkeypatch.setattr(activity, "_transactional", lambda: False)
    monkeypatch.setattr(activity, "event_record", crash)


def test_every_change_is_the_next_version_with_one_record(meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn)
    services.ticket_claim(ticket=ticket, agent=agent1)
    reply = services.ticket_reply(ticket=Ticket.objects.get(pk=ticket.pk), agent=agent1, text="Bom dia")
    note = services.ticket_note_add(ticket=Ticket.objects.get(pk=ticket.pk), by=agent1, text="cliente VIP")
    services.ticket_transfer(ticket=Ticket.objects.get(pk=ticket.pk), by=agent1, agent=str(agent2.pk))
    services.ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=agent2)

    found = changes.ticket_changes(ticket.pk)
    assert [(c.version, c.action) for c in found] == [
        (1, "created"),
        (2, "message"),
        (3, "claimed"),
        (4, "replied"),
        (5, "note"),
        (6, "transferred"),
        (7, "closed"),
    ]
    assert all(c.recorded for c in found)
    assert Ticket.objects.get(pk=ticket.pk).version == 7
    assert [c.at for c in found] == sorted(c.at for c in found)  # stamps never go back within a ticket
    assert found[3].data["message_id"] == str(reply.pk) and found[3].actor_id == agent1.pk
    assert found[4].data["message_id"] == str(note.pk)
    assert (found[6].from_state, found[6].to_state, found[6].actor_id) == (
        UIState.ATENDENDO,
        UIState.FINALIZADO,
        agent2.pk,
    )
    assert [(c.version, c.action) for c in changes.ticket_changes(ticket.pk, after_version=5)] == [
        (6, "transferred"),
        (7, "closed"),
    ]
    # A change that does not happen is no version: a claim of a closed ticket.
    with pytest.raises(services.TicketConflict):
        services.ticket_claim(ticket=Ticket.objects.get(pk=ticket.pk), agent=agent1)
    assert Ticket.objects.get(pk=ticket.pk).version == 7
    assert TicketEvent.objects.filter(ticket=ticket).count() == 7
    # The ticket page's history leaves the plain message changes to the thread.
    history = [e.action for e in selectors.ticket_events_for(ticket)]
    assert "message" not in history and history[0] == "created"


def test_a_change_whose_record_a_crash_cut_off_is_still_reported_then_recorded(meta_conn, agent1, monkeypatch):
    ticket = f.make_ticket(meta_conn)
    _, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id)
    _crash_the_next_record(monkeypatch)

    with pytest.raises(SimulatedCrash):
        services.ticket_claim(ticket=ticket, agent=agent1)

    # The claim itself was written (there was no transaction to undo it); its record was not.
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.agent_id == agent1.pk and stored.version == 3
    assert not TicketEvent.objects.filter(ticket=ticket, ticket_version=3).exists()
    # Both reads report it all the same, exactly as its record would have said.
    [claim] = changes.ticket_changes(ticket.pk, after_version=2)
    assert (claim.version, claim.action, claim.actor_id, claim.recorded) == (3, "claimed", agent1.pk, False)
    assert (claim.from_state, claim.to_state, claim.at) == (UIState.ESPERA, UIState.ATENDENDO, stored.changed_at)
    page, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor)
    assert [(c.version, c.action, c.recorded) for c in page] == [(3, "claimed", False)]

    # The ticket's next change writes the missing record first, from the ticket's copy, then its own:
    # on this profile as it really is (an SQL database too, holding data restored from MongoDB).
    monkeypatch.undo()
    services.ticket_close(ticket=stored, by=agent1)
    records = TicketEvent.objects.filter(ticket=ticket).order_by("ticket_version")
    assert list(records.values_list("ticket_version", "action")) == [
        (1, "created"),
        (2, "message"),
        (3, "claimed"),
        (4, "closed"),
    ]
    repaired = records.get(ticket_version=3)
    assert (repaired.actor_id, repaired.at, repaired.to_state) == (agent1.pk, claim.at, UIState.ATENDENDO)
    assert changes.ticket_changes(ticket.pk, after_version=2)[0] == dataclasses.replace(claim, recorded=True)
    # The cursor already gave the claim: only the close is new, and only once.
    page, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor)
    assert [(c.version, c.action, c.recorded) for c in page] == [(4, "closed", True)]
    assert changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor) == ([], cursor)


def test_the_repair_helper_writes_a_missing_record_once(meta_conn, agent1, monkeypatch):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    _crash_the_next_record(monkeypatch)
    with pytest.raises(SimulatedCrash):
        services.ticket_close(ticket=ticket, by=agent1)
    [closed] = changes.ticket_changes(ticket.pk, after_version=3)
    assert closed.action == "closed" and not closed.recorded

    assert activity.change_record_repair(ticket.pk) is True
    assert activity.change_record_repair(ticket.pk) is False  # one record per version
    [again] = changes.ticket_changes(ticket.pk, after_version=3)
    assert again == dataclasses.replace(closed, recorded=True)


def test_a_crash_between_a_change_and_its_record_on_this_profile(meta_conn, agent1, monkeypatch):
    """Without the test's stand-in: on SQL databases the change and its record are one transaction, so a
    crash leaves neither; on MongoDB the change stays and the reader reports it from the ticket."""
    ticket = f.make_ticket(meta_conn)
    real = activity.event_record

    def crash(*args, **kwargs):
        raise SimulatedCrash

    monkeypatch.setattr(activity, "event_record", crash)
    with pytest.raises(SimulatedCrash):
        services.ticket_claim(ticket=ticket, agent=agent1)
    monkeypatch.setattr(activity, "event_record", real)
    stored = Ticket.objects.get(pk=ticket.pk)
    if connection.features.supports_transactions:
        assert stored.agent_id is None and stored.version == 2
        assert _versions(ticket) == [(1, "created"), (2, "message")]
    else:
        assert stored.agent_id == agent1.pk and stored.version == 3
        assert _versions(ticket) == [(1, "created"), (2, "message"), (3, "claimed")]


def test_a_tenants_changes_in_order_with_a_cursor_that_resumes(meta_conn, agent1, outsider):
    one = f.make_ticket(meta_conn)
    two = f.make_ticket(meta_conn)
    theirs = f.make_ticket(outsider.connection)
    services.ticket_claim(ticket=one, agent=agent1)
    services.ticket_claim(ticket=two, agent=agent1)
    services.ticket_reply(ticket=Ticket.objects.get(pk=one.pk), agent=agent1, text="primeira resposta")
    services.ticket_close(ticket=Ticket.objects.get(pk=two.pk), by=agent1)

    read, cursor, pages = [], None, 0
    while True:
        page, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor, limit=2)
        if not page:
            break
        read += page
        pages += 1
    assert pages == 4  # 8 changes, 2 a page
    expected = [
        (one.pk, 1, "created"),
        (one.pk, 2, "message"),
        (two.pk, 1, "created"),
        (two.pk, 2, "message"),
        (one.pk, 3, "claimed"),
        (two.pk, 3, "claimed"),
        (one.pk, 4, "replied"),
        (two.pk, 4, "closed"),
    ]
    assert [(c.ticket_id, c.version, c.action) for c in read if c.ticket_id == one.pk] == [
        e for e in expected if e[0] == one.pk
    ]
    assert [(c.ticket_id, c.version, c.action) for c in read] == expected
    assert [c.key for c in read] == sorted(c.key for c in read)
    assert theirs.pk not in {c.ticket_id for c in read}  # another tenant's changes are not in this feed

    # The cursor is a string: a new reader (another process, after a restart) goes on from it.
    services.ticket_close(ticket=Ticket.objects.get(pk=one.pk), by=agent1)
    # (A page of one: the 8 changes it already gave are read again, in several batches, and skipped.)
    page, later = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor, limit=1)
    assert [(c.ticket_id, c.version, c.action) for c in page] == [(one.pk, 5, "closed")]
    assert changes.changes_since(reseller_id=meta_conn.reseller_id, after=later) == ([], later)
    # Read from the start again, everything comes again, in the same order.
    everything, _ = changes.changes_since(reseller_id=meta_conn.reseller_id, limit=100)
    assert [(c.ticket_id, c.version) for c in everything] == [(t, v) for t, v, _ in expected] + [(one.pk, 5)]


def test_a_change_that_shows_up_after_the_cursor_passed_its_stamp_is_reported_once(meta_conn, agent1):
    """A change stamped before the cursor's position but visible only later (a transaction committed
    after a later one, another process's clock a little behind) is still read, within SETTLE."""
    early = f.make_ticket(meta_conn)
    late = f.make_ticket(meta_conn)
    _, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id)
    services.ticket_claim(ticket=early, agent=agent1)
    page, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor)
    assert [(c.ticket_id, c.action) for c in page] == [(early.pk, "claimed")]
    claimed_at = page[0].at

    # `late`'s change is stamped ten seconds before the claim the cursor already gave.
    activity.ticket_change(late, action=TicketEvent.Action.NOTE, at=claimed_at - timedelta(seconds=10))
    page, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor)
    assert [(c.ticket_id, c.version, c.action) for c in page] == [(late.pk, 3, "note")]
    assert page[0].at < claimed_at
    assert changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor)[0] == []


def test_an_unrecorded_latest_change_waits_for_the_versions_before_it(meta_conn, agent1, monkeypatch):
    """Page by page, a ticket whose latest record is missing still comes out in the order of versions."""
    ticket = f.make_ticket(meta_conn)
    _crash_the_next_record(monkeypatch)
    with pytest.raises(SimulatedCrash):
        services.ticket_claim(ticket=ticket, agent=agent1)
    read, cursor = [], None
    while True:
        page, cursor = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor, limit=1)
        if not page:
            break
        read += page
    assert [(c.version, c.action, c.recorded) for c in read] == [
        (1, "created", True),
        (2, "message", True),
        (3, "claimed", False),
    ]


def test_a_cursor_from_now_skips_what_came_before(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn)
    cursor = changes.changes_cursor_now(reseller_id=meta_conn.reseller_id)
    assert changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor) == ([], cursor)
    services.ticket_claim(ticket=ticket, agent=agent1)
    page, _ = changes.changes_since(reseller_id=meta_conn.reseller_id, after=cursor)
    assert [(c.version, c.action) for c in page] == [(3, "claimed")]


def test_a_cursor_this_reader_did_not_make_is_refused(meta_conn):
    with pytest.raises(ValueError):
        changes.changes_since(reseller_id=meta_conn.reseller_id, after="not-a-cursor")


def test_a_message_stored_out_of_order_is_a_change_that_moves_nothing_back(meta_conn):
    ticket = f.make_ticket(meta_conn)
    newest = Ticket.objects.get(pk=ticket.pk).last_message_at
    older = services.InboundMessage(
        provider_message_id="wamid.older", text="escrita antes", timestamp=newest - timedelta(minutes=5)
    )
    message = services.message_store(ticket=ticket, msg=older)
    stored = Ticket.objects.get(pk=ticket.pk)
    assert stored.last_message_at == newest and stored.last_message_preview != "escrita antes"
    [change] = changes.ticket_changes(ticket.pk, after_version=2)
    assert (change.action, change.data["message_id"], change.data["direction"]) == ("message", str(message.pk), "in")
    # A repeat of the same message finds it recorded and changes nothing.
    message_settle(ticket=stored, message=message)
    assert Ticket.objects.get(pk=ticket.pk).version == stored.version


def test_a_delivery_state_that_moves_is_a_change_and_one_that_does_not_is_none(meta_conn, agent1):
    from tickets import outbox

    ticket = f.make_ticket(meta_conn)
    services.ticket_claim(ticket=ticket, agent=agent1)
    reply = services.ticket_reply(ticket=Ticket.objects.get(pk=ticket.pk), agent=agent1, text="Oi")
    Message = type(reply)
    Message.objects.filter(pk=reply.pk).update(provider_message_id="wamid.status-1", delivery_status="sent")
    before = Ticket.objects.get(pk=ticket.pk).version

    assert outbox.receipt_apply(connection=meta_conn, provider_message_id="wamid.status-1", status="read") == "applied"
    # A late "delivered" after "read" moves nothing, so it is no change.
    assert outbox.receipt_apply(connection=meta_conn, provider_message_id="wamid.status-1", status="delivered") == (
        "unchanged"
    )

    after = changes.ticket_changes(ticket.pk, after_version=before)
    assert [(c.action, c.data) for c in after] == [("message_status", {"message_id": str(reply.pk), "status": "read"})]
    history = [e.action for e in selectors.ticket_events_for(ticket)]
    assert "message_status" not in history
