"""One flat `$match` document instead of a top-level `$and`, on MongoDB.

django-mongodb-backend writes every filter with more than one condition as
`{"$and": [{"a": …}, {"b": …}]}`. MongoDB's own planner normalizes that to `{"a": …, "b": …}`
before it chooses an index; the wire-protocol server the test lanes run on (SecantusDB, see
docs/mongodb.md) does not, and scans the collection for every such query and conditional
update. The same filter written flat is what both servers plan best, so the compiled `$match`
and update criteria are flattened where that is exact: the parts' fields are disjoint, or the
same field's operator documents (`{"$gte": …}` and `{"$lt": …}`) merge without a shared
operator. Anything else is left as the backend wrote it.
"""

from __future__ import annotations

from typing import Any


def _operators(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(k).startswith("$") for k in value)


def _mergeable(key: str, mine: Any, theirs: Any) -> bool:
    return not key.startswith("$") and _operators(mine) and _operators(theirs) and not set(mine) & set(theirs)


def _is_null(part: Any) -> Any:
    """`{"$or": [{f: {"$exists": False}}, {f: None}]}` (the backend's isnull=True) → `{f: None}`,
    which matches exactly the same documents (null or missing) and is an index equality."""
    if not isinstance(part, dict) or list(part) != ["$or"] or len(part["$or"]) != 2:
        return None
    a, b = part["$or"]
    if len(a) == 1 and len(b) == 1 and list(a) == list(b):
        field = next(iter(a))
        if not field.startswith("$") and a[field] == {"$exists": False} and b[field] is None:
            return {field: None}
    return None


def flatten(mql: Any) -> Any:
    if not isinstance(mql, dict) or list(mql) != ["$and"] or not isinstance(mql["$and"], list):
        return _is_null(mql) or mql
    out: dict = {}
    for part in mql["$and"]:
        part = flatten(part)
        if not isinstance(part, dict):
            return mql
        for key, value in part.items():
            if key not in out:
                out[key] = value
            elif _mergeable(key, out[key], value):
                out[key] = {**out[key], **value}
            else:
                return mql
    return out


def install() -> None:
    """Wrap the backend compiler's build_query (reads, counts, updates) once per process."""
    from django_mongodb_backend.compiler import SQLCompiler

    if getattr(SQLCompiler.build_query, "iaze_flat", False):
        return
    build_query = SQLCompiler.build_query

    def flat_build_query(self, *args, **kwargs):
        query = build_query(self, *args, **kwargs)
        query.match_mql = flatten(query.match_mql)
        return query

    flat_build_query.iaze_flat = True  # type: ignore[attr-defined]
    SQLCompiler.build_query = flat_build_query
