"""Plain twins of the partial unique indexes, on MongoDB.

django-mongodb-backend (5.2.4) makes every unique field and unique constraint a *partial* index
whose filter requires each key to be of its type (`{"id": {"$type": "string"}}`), so that missing
values do not collide, but it queries with plain equalities (`{"id": "…"}`). MongoDB's planner
cannot prove that an equality implies a `$type` filter, so it never picks those indexes: a
lookup by primary key, a client by number or a message by provider id scans the whole
collection (the backend fixes this in a later release by adding the `$type` to its equalities).
For each such index, a plain index on the same keys, not unique, lets every server use it; the
partial index keeps enforcing uniqueness. Created after each `migrate` (post_migrate), and only
where missing, so it costs nothing on a database that already has them.
"""

from __future__ import annotations

TWIN_SUFFIX = "_any"
# Databases already twinned in this process, with their collections then: a test run's flushes send
# post_migrate again and again over the same collections.
_done: dict[str, frozenset[str]] = {}


def plain_twins(database) -> list[tuple[str, str]]:
    """Create the missing twins in every collection of `database`; returns (collection, index) made."""
    made: list[tuple[str, str]] = []
    names = frozenset(database.list_collection_names())
    if _done.get(database.name) == names:
        return made
    for name in sorted(names):
        if name.startswith("system."):
            continue
        collection = database[name]
        indexes = list(collection.list_indexes())
        present = {ix["name"] for ix in indexes}
        plain_keys = {tuple(ix["key"].items()) for ix in indexes if "partialFilterExpression" not in ix}
        for ix in indexes:
            keys = tuple(ix["key"].items())
            twin = ix["name"] + TWIN_SUFFIX
            if "partialFilterExpression" not in ix or not ix.get("unique") or twin in present or keys in plain_keys:
                continue
            collection.create_index(list(keys), name=twin)
            plain_keys.add(keys)
            made.append((name, twin))
    _done[database.name] = names
    return made


def after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver (sent once per app with models): twins once every app has been migrated."""
    from django.apps import apps
    from django.db import connections

    last = [config for config in apps.get_app_configs() if config.models_module][-1]
    connection = connections[using]
    if sender is last and connection.vendor == "mongodb":
        plain_twins(connection.database)
