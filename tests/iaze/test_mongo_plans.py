"""On a real MongoDB server: the lookups by key are planned on an index (iaze/lib/mongo_indexes.py)."""

import pytest
from django.db import connection

from iaze.lib.mongo_indexes import TWIN_SUFFIX, plain_twins
from tests import factories as f

pytestmark = [pytest.mark.mongodb, pytest.mark.django_db]


def _winning_stage(collection: str, match: dict) -> str:
    explained = connection.database.command(
        "explain", {"aggregate": collection, "pipeline": [{"$match": match}], "cursor": {}}, verbosity="queryPlanner"
    )
    planner = explained["stages"][0]["$cursor"]["queryPlanner"] if "stages" in explained else explained["queryPlanner"]
    return str(planner["winningPlan"])


def test_every_partial_unique_index_has_a_plain_twin():
    db = connection.database
    for name in db.list_collection_names():
        indexes = {ix["name"]: ix for ix in db[name].list_indexes()}
        for ix in indexes.values():
            if ix.get("unique") and "partialFilterExpression" in ix:
                plain = [o for o in indexes.values() if "partialFilterExpression" not in o and o["key"] == ix["key"]]
                assert plain, f"{name}.{ix['name']} has no plain twin"
    assert plain_twins(db) == []  # idempotent: a second pass makes nothing


def test_lookups_by_key_use_an_index(meta_conn):
    ticket = f.make_ticket(meta_conn)
    message = ticket.messages.get()
    assert "IXSCAN" in _winning_stage("tickets", {"id": ticket.pk.hex})
    identity = {"reseller_id": ticket.reseller_id.hex, "identity": ticket.client.identity}
    assert "IXSCAN" in _winning_stage("clients", identity)
    assert "IXSCAN" in _winning_stage(
        "messages", {"connection_id": meta_conn.pk.hex, "provider_message_id": message.provider_message_id}
    )
    twins = [ix["name"] for ix in connection.database["tickets"].list_indexes() if ix["name"].endswith(TWIN_SUFFIX)]
    assert twins
