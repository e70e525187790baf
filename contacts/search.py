"""The contact list's search: every word of the query prefixes one of the contact's indexed terms.

The terms are the clients' search index (accounts.ClientTerm: name words, every tail of the number's
digits from 4 on, e-mail words, the whole CPF/CNPJ), written by accounts.services with each change. A
whole number typed in any form is also looked up in its stored forms, with and without the ninth digit
(accounts.search.contact_query). As for the queue's search (tickets.reads.search): a word with at most
SEARCH_ID_CAP matches pins the result to those contacts, fetched by key; a more common word is probed per
contact while the list's own index is walked newest first, so the cost follows the page, not the tenant.
"""

from __future__ import annotations

from typing import Any

from django.db import connection as db_connection
from django.db.models import Exists, IntegerField, OuterRef, Q, Value

from accounts import phones
from accounts.models import ClientTerm, Reseller
from accounts.search import PREFIX_END, contact_query

SEARCH_MAX_WORDS = 5
SEARCH_ID_CAP = 500
# PostgreSQL: up to this many matches of a word are hashed once; above, each contact of the walk is probed.
SEARCH_HASH_MAX = 5_000
# MongoDB: a common word is searched among this many of its matches (an EXISTS would be a $lookup per contact).
SEARCH_MONGO_MAX = 5_000


def _variants(text: str) -> set[str]:
    try:
        return phones.br_variants(phones.normalize(text))
    except phones.PhoneRejected:
        return set()


def _prefix(alternatives: set[str]) -> Q:
    match = Q()
    for word in sorted(alternatives):
        if db_connection.vendor == "postgresql":
            # LIKE 'word%' served by the varchar_pattern_ops index whatever the collation.
            match |= Q(term__startswith=word)
        else:
            match |= Q(term__gte=word, term__lt=word + PREFIX_END)
    return match


def _capped(qs, cap: int) -> list | None:
    ids = list(qs.values_list("client_id", flat=True)[: cap + 1])
    # A client can match through several terms (its number and wa_id): a full read means "common".
    return None if len(ids) > cap else list(dict.fromkeys(ids))


def _common(alternatives: set[str], terms) -> Q:
    vendor = db_connection.vendor
    if vendor == "mongodb":
        return Q(pk__in=list(terms.values_list("client_id", flat=True)[:SEARCH_MONGO_MAX]))
    if vendor == "postgresql" and _capped(terms, SEARCH_HASH_MAX) is not None:
        return Q(pk__in=terms.values("client_id"))
    one = Value(1, output_field=IntegerField())
    return Q(Exists(ClientTerm.objects.filter(_prefix(alternatives), client_id=OuterRef("pk")).values_list(one)))


def contact_match(text: str, *, reseller_id: Any = None) -> Q | None:
    """The contacts matching a query; None when it has nothing to search for (matches nothing).

    `reseller_id`: the user's tenant; None for an installation admin (every tenant, one index range each)."""
    found = contact_query(text, variants=_variants)[:SEARCH_MAX_WORDS]
    if not found:
        return None
    if reseller_id:
        tenant: dict = {"reseller_id": reseller_id}
    else:
        tenant = {"reseller_id__in": list(Reseller.objects.values_list("pk", flat=True))}
    match, ids = Q(), None
    for alternatives in found:
        terms = ClientTerm.objects.filter(_prefix(alternatives), **tenant)
        word_ids = _capped(terms, SEARCH_ID_CAP)
        if word_ids is None:
            match &= _common(alternatives, terms)
        else:
            ids = set(word_ids) if ids is None else ids & set(word_ids)
    return match if ids is None else match & Q(pk__in=sorted(ids))
