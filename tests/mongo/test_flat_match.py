"""The `$match` flattening (iaze/lib/mongo_match.py): exact rewrites only, everything else as it was."""

from iaze.lib.mongo_match import flatten


def test_disjoint_conditions_become_one_document():
    assert flatten({"$and": [{"a": 1}, {"b": {"$gt": 2}}]}) == {"a": 1, "b": {"$gt": 2}}


def test_nested_and_and_same_field_operators_merge():
    mql = {"$and": [{"r": "x"}, {"t": {"$gte": "ab"}}, {"$and": [{"t": {"$lt": "ab\uffff"}}, {"s": "open"}]}]}
    assert flatten(mql) == {"r": "x", "t": {"$gte": "ab", "$lt": "ab\uffff"}, "s": "open"}


def test_isnull_true_becomes_an_equality_to_null():
    unset = {"$or": [{"agent_id": {"$exists": False}}, {"agent_id": None}]}
    assert flatten({"$and": [{"r": "x"}, unset]}) == {"r": "x", "agent_id": None}
    assert flatten(unset) == {"agent_id": None}


def test_what_cannot_merge_exactly_is_left_alone():
    same_value = {"$and": [{"a": 1}, {"a": 2}]}
    shared_operator = {"$and": [{"a": {"$ne": 1}}, {"a": {"$ne": 2}}]}
    two_ors = {"$and": [{"$or": [{"a": 1}, {"b": 1}]}, {"$or": [{"c": 1}, {"d": 1}]}]}
    value_and_operator = {"$and": [{"a": 1}, {"a": {"$exists": True}}]}
    for mql in (same_value, shared_operator, two_ors, value_and_operator):
        assert flatten(mql) == mql
    other_or = {"$or": [{"a": {"$exists": False}}, {"b": None}]}
    assert flatten(other_or) == other_or
    assert flatten({}) == {}
