"""select_related without joins, for MongoDB.

django-mongodb-backend turns select_related() into `$lookup` stages placed *before* the query's
`$match`, `$sort` and `$limit`: the server joins every document of the collection (or of the
matched set, where its optimizer can move the `$match` up) before it sorts and keeps a page. A
queue page of 25 tickets then costs as much as the tenant's whole queue — minutes at 100,000
tickets on the test server. On MongoDB the queryset therefore reads its own rows first (the
indexes serve `$match`/`$sort`/`$limit`) and then each relation's objects in one `pk $in` read,
and caches them on the rows exactly where select_related would have: the same objects, the same
attributes, a bounded number of reads whatever the collection's size. SQL keeps its joins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import FieldDoesNotExist
from django.db import connections


def separate_reads(alias: str) -> bool:
    return connections[alias].vendor == "mongodb"


def default_names(model) -> tuple[str, ...]:
    """What select_related() with no names follows (one level deep here): the non-null foreign keys."""
    return tuple(f.name for f in model._meta.concrete_fields if f.is_relation and f.many_to_one and not f.null)


def forward_relation(model, name: str):
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return field if field.is_relation and field.concrete and (field.many_to_one or field.one_to_one) else None


def split_only(model, fields: Iterable[str]) -> tuple[list[str], dict[str, list[str]]]:
    """only()'s names → (this model's fields, {relation: the related model's fields}). A relation
    named through `rel__field` keeps its own foreign key among this model's fields."""
    local: list[str] = []
    related: dict[str, list[str]] = defaultdict(list)
    for name in fields:
        head, sep, rest = name.partition("__")
        if sep and forward_relation(model, head) is not None:
            related[head].append(rest)
            if head not in local:
                local.append(head)
        else:
            local.append(name)
    return local, dict(related)


def attach(rows: list, names: Iterable[str], only: dict[str, list[str]], alias: str) -> None:
    """Load each named relation of `rows` in one read and cache it on the rows (None where unset)."""
    if not rows:
        return
    model = type(rows[0])
    nested: dict[str, list[str]] = defaultdict(list)
    for name in names:
        head, _, rest = name.partition("__")
        nested[head]
        if rest:
            nested[head].append(rest)
    for head, deeper in nested.items():
        field = forward_relation(model, head)
        if field is None:
            raise ValueError(f"{model.__name__}.{head} is not a forward relation select_related can follow")
        # One read per relation, none where no row has it set (a page of unclaimed tickets reads no agents).
        ids = {getattr(row, field.attname) for row in rows} - {None}
        target = field.remote_field.model
        found: dict = {}
        if ids:
            qs = target._base_manager.db_manager(alias).filter(**{f"{field.target_field.name}__in": list(ids)})
            own, theirs = split_only(target, only.get(head, []))
            if own:
                qs = qs.only(*own)
            objects = list(qs)
            attach(objects, deeper, theirs, alias)
            found = {getattr(obj, field.target_field.attname): obj for obj in objects}
        for row in rows:
            field.set_cached_value(row, found.get(getattr(row, field.attname)))
