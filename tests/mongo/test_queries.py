"""The key querysets and services compiled to MongoDB commands, asserted without a server.

The recorder stands where the backend hands a finished command to pymongo, so the
filters and update pipelines below are exactly what a MongoDB server would receive.
"""

import uuid

import pytest

from accounts.models import Client, Department, Reseller, User
from tests.mongo.fakes import StopRecording
from tickets import services
from tickets.models import Message, Ticket
from tickets.reads import selectors
from whatsapp.models import Connection

# The backend's isnull filters as they reach the server: flattened (iaze/lib/mongo_match.py).
UNSET = {"agent_id": None}  # null or missing
SET = {"agent_id": {"$exists": True, "$ne": None}}


@pytest.fixture
def world():
    """Unsaved objects: only their ids reach the compiled commands."""
    reseller = Reseller(slug="demo", name="Demo")
    dept = Department(reseller=reseller, name="Suporte")
    conn = Connection(reseller=reseller, default_department=dept, provider=Connection.Provider.META, key="k")
    client = Client(reseller=reseller, identity="5511999990000")
    ticket = Ticket(reseller=reseller, department=dept, client=client, connection=conn)
    boss = User(email="revenda@demo.local", role=User.Role.RESELLER, reseller=reseller)
    return type("World", (), dict(reseller=reseller, dept=dept, conn=conn, client=client, ticket=ticket, boss=boss))


def _terms(criteria):
    """A flat filter's conditions, one {field: condition} each (a top-level `$and` is flattened)."""
    assert "$and" not in criteria, criteria
    return [{key: value} for key, value in criteria.items()]


def test_claim_is_one_conditional_update_on_tickets(recorder, world):
    recorder.stop_after_writes = 1  # stop at the re-read that follows the update
    with pytest.raises(StopRecording):
        services.ticket_claim(ticket=world.ticket, agent=world.boss)
    [update] = recorder.ops("update_many", "tickets")
    criteria, pipeline = update.args
    terms = _terms(criteria)
    assert {"id": world.ticket.pk.hex} in terms
    assert {"status": "open"} in terms
    assert UNSET in terms  # only a ticket nobody holds can be claimed
    assert {"version": 0} in terms  # the version it was read at (compare-and-set: the change's number is known)
    assert len(terms) == 4
    [stage] = pipeline
    assert stage["$set"]["agent_id"] == {"$literal": world.boss.pk.hex}
    # The version moves, and the change is stamped and copied, in the same write as the claim itself.
    assert set(stage["$set"]) == {"agent_id", "claimed_at", "updated_at", "version", "changed_at", "last_change"}
    assert stage["$set"]["version"] == {"$literal": 1}
    assert stage["$set"]["last_change"]["$literal"]["action"] == "claimed"
    # No write happened before the conditional update (e.g. no read-modify-write).
    assert [c.op for c in recorder.calls][:1] == ["update_many"]
    # Then its record, carrying that version.
    [record] = recorder.ops("insert_many", "ticket_events")[0].args[0]
    assert record["ticket_version"] == 1 and record["action"] == "claimed"


def test_claim_loser_sees_matched_count_zero_as_conflict(recorder, world):
    recorder.matched_count = 0
    recorder.stop_after_writes = 1
    recorder.reads_before_stop = 1
    with pytest.raises(StopRecording):
        services.ticket_claim(ticket=world.ticket, agent=world.boss)
    assert not recorder.ops("insert_many", "ticket_events")  # lost: nothing recorded
    # The lost round reads the ticket again under the claim's own condition: nothing matches (it is
    # claimed), so the claim is lost rather than tried again at the newer version.
    again = recorder.ops("aggregate", "tickets")[0].args[0]
    match = again[0]["$match"]
    assert match["id"] == world.ticket.pk.hex and match["status"] == "open" and UNSET.items() <= match.items()
    # The service re-reads the ticket to name the winner, by key and without a join: its holder
    # is read on its own (iaze/lib/related.py), which the recorder's empty answer stops short of.
    read = recorder.ops("aggregate", "tickets")[-1].args[0]
    assert not any("$lookup" in stage for stage in read)
    assert {"$match": {"id": world.ticket.pk.hex}} in read


def test_close_by_supervisor_is_one_conditional_update(recorder, world):
    recorder.stop_after_writes = 1
    with pytest.raises(StopRecording):
        services.ticket_close(ticket=world.ticket, by=world.boss)
    [update] = recorder.ops("update_many", "tickets")
    criteria, pipeline = update.args
    terms = _terms(criteria)
    assert {"id": world.ticket.pk.hex} in terms and {"status": "open"} in terms and SET in terms
    assert pipeline[0]["$set"]["status"] == {"$literal": "closed"}
    assert pipeline[0]["$set"]["closed_by_id"] == {"$literal": world.boss.pk.hex}


def test_close_by_agent_also_requires_being_the_holder(recorder, world):
    # The same queryset ticket_close builds for a non-supervisor (agent filter added).
    agent = User(email="agente1@demo.local", role=User.Role.AGENT, reseller=world.reseller)
    Ticket.objects.filter(pk=world.ticket.pk, status=Ticket.Status.OPEN, agent__isnull=False).filter(
        agent=agent
    ).update(status=Ticket.Status.CLOSED)
    criteria = recorder.ops("update_many", "tickets")[0].args[0]
    # isnull=False and the holder on the same field do not merge: kept as the backend wrote them.
    terms = criteria["$and"]
    assert {"agent_id": agent.pk.hex} in terms
    assert {"$and": [{"agent_id": {"$exists": True}}, {"agent_id": {"$ne": None}}]} in terms


def test_inbound_route_reads_open_ticket_then_inserts_one(recorder, world):
    ticket, created = services.inbound_route(connection=world.conn, client=world.client)
    assert created
    lookup = recorder.ops("aggregate", "tickets")[0].args[0]
    assert lookup[0] == {
        "$match": {"client_id": world.client.pk.hex, "connection_id": world.conn.pk.hex, "status": "open"}
    }
    [insert] = recorder.ops("insert_many", "tickets")
    [doc] = insert.args[0]
    assert doc["status"] == "open" and doc["agent_id"] is None
    assert doc["department_id"] == world.dept.pk.hex  # the connection's default department
    assert doc["id"] == ticket.pk.hex
    [event] = recorder.ops("insert_many", "ticket_events")[0].args[0]
    assert event["action"] == "created" and event["to_state"] == "espera"


def test_message_dedup_relies_on_insert_not_on_a_read(recorder, world):
    msg = services.InboundMessage(provider_message_id="wamid.ABC", text="oi")
    services.message_store(ticket=world.ticket, msg=msg)
    [insert] = recorder.ops("insert_many", "messages")
    [doc] = insert.args[0]
    assert doc["provider_message_id"] == "wamid.ABC" and doc["connection_id"] == world.conn.pk.hex
    assert not recorder.ops("aggregate", "messages")  # no check-then-insert race
    # The ticket's activity moves forward only: computed from the ticket as read, and written only if
    # the ticket is still at that version (compare-and-set), never a blind update.
    criteria, pipeline = recorder.ops("update_many", "tickets")[0].args
    assert criteria == {"id": world.ticket.pk.hex, "version": 0}
    assert pipeline[0]["$set"]["last_message_preview"] == {"$literal": "oi"}
    assert pipeline[0]["$set"]["version"] == {"$literal": 1}
    [record] = recorder.ops("insert_many", "ticket_events")[0].args[0]
    assert record["action"] == "message" and record["data"]["message_id"] == str(uuid.UUID(doc["id"]))


def test_message_dedup_lookup_by_provider_id(recorder, world):
    Message.objects.filter(connection=world.conn, provider_message_id="wamid.ABC").exists()
    pipeline = recorder.ops("aggregate", "messages")[0].args[0]
    assert pipeline[0] == {"$match": {"connection_id": world.conn.pk.hex, "provider_message_id": "wamid.ABC"}}
    assert pipeline[-1] == {"$limit": 1}


@pytest.mark.parametrize(
    "state,expected",
    [
        ("espera", [{"status": "open"}, UNSET]),
        ("atendendo", [{"status": "open"}, SET]),
        ("finalizado", [{"status": "closed"}]),
    ],
)
def test_queue_listing_filter_and_sort(recorder, world, state, expected):
    selectors.ticket_list_for(world.boss, state)
    pipeline = recorder.ops("aggregate", "tickets")[0].args[0]
    [match] = [s["$match"] for s in pipeline if "$match" in s]
    terms = _terms(match)
    assert {"reseller_id": world.reseller.pk.hex} in terms  # tenant first
    for term in expected:
        assert term in terms
    [sort] = [s["$sort"] for s in pipeline if "$sort" in s]
    # Newest activity first, `id` as the tie-break for the keyset cursor. (A helper key that
    # only places tickets without activity, if the selector asks for one, may come first.)
    keys = [item for item in sort.items() if not item[0].startswith("__order")]
    assert keys == [("last_message_at", -1), ("id", -1)]
    assert pipeline[-1] == {"$limit": selectors.QUEUE_PAGE_SIZE + 1}
    # No join: a $lookup comes before the $match and $sort, so it would join every ticket of the
    # tab; the page's clients, departments and agents are read by key afterwards (iaze/lib/related.py).
    assert not any("$lookup" in s for s in pipeline)
