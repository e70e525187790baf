"""The queue's search index of message texts: a ticket's words (accounts.search), one row per ticket and word.

Written with each stored message (inbound, replies, notes, templates, automatic texts, a client's edit)
by the services and the outbox; read by tickets.reads.selectors. A word is never removed: a text the client
edited stays findable by its earlier words, as the earlier texts stay in the thread.
"""

from __future__ import annotations

from typing import Any

from django.db import connection as db_connection
from django.db.models import Exists, IntegerField, OuterRef, Q, Value

from accounts.models import ClientTerm, Reseller
from accounts.search import PREFIX_END, query_words, words
from accounts.services import terms_store
from tickets.models import Ticket, TicketTerm


def ticket_terms_add(ticket: Any, *texts: str) -> int:
    """Index the words of these texts on the ticket (accounts.services.terms_store)."""
    terms: set[str] = set()
    for text in texts:
        terms |= words(text or "")
    return terms_store(TicketTerm, owner="ticket_id", owner_id=ticket.pk, reseller_id=ticket.reseller_id, terms=terms)


# --- reading: the queue's search (tickets.reads.selectors) --------------------------------------------

SEARCH_MAX_WORDS = 5  # more words narrow the result no further in practice, and each costs two probes
# A word matching at most this many clients and tickets is searched by their ids: the database fetches those
# tickets by key and sorts them, so a rare word costs the same at any size. A more common word is searched
# by walking the queue's own index, newest first, probing each ticket's terms until the page is full: its
# matches are everywhere, so that takes a few dozen probes.
SEARCH_ID_CAP = 500
# PostgreSQL: above this many matches of a word, the queue is walked and each ticket probed (_common_word).
SEARCH_HASH_MAX = 5_000
# MongoDB: a common word is searched among this many of its newest matches in each term index (_common_word).
SEARCH_MONGO_MAX = 5_000


def _prefix(word: str) -> dict:
    # PostgreSQL: LIKE 'word%' served by the varchar_pattern_ops indexes, whatever the database's collation.
    # SQLite and MongoDB compare strings by their bytes, where a range is the same prefix on the plain index.
    if db_connection.vendor == "postgresql":
        return {"term__startswith": word}
    return {"term__gte": word, "term__lt": word + PREFIX_END}


def _common_word(word: str, *, tickets, clients) -> Q:
    """The tickets one of whose terms, or whose client's, a word with more than SEARCH_ID_CAP matches prefixes
    (`tickets`, `clients`: the word's matches in the tenant's term indexes)."""
    if db_connection.vendor == "mongodb":
        # An EXISTS is a $lookup, which MongoDB runs for every ticket of the tab before it sorts and keeps
        # a page: the cost would grow with the tab. Instead at most SEARCH_MONGO_MAX of the word's matches
        # per term index, read backwards on the (reseller, term) index (for one term, the newest rows first),
        # and their tickets fetched by key.
        ticket_ids = list(tickets.order_by("-term").values_list("ticket_id", flat=True)[:SEARCH_MONGO_MAX])
        client_ids = list(clients.order_by("-term").values_list("client_id", flat=True)[:SEARCH_MONGO_MAX])
        return Q(pk__in=ticket_ids) | Q(client_id__in=client_ids)
    postgresql = db_connection.vendor == "postgresql"
    if postgresql and not (_more_than(tickets, "ticket_id") or _more_than(clients, "client_id")):
        # PostgreSQL, a few thousand matches: the tenant's matches (an index range of (reseller, term) each)
        # hashed once, then the queue walked; walking until 25 of them turn up would take far more probes.
        return Q(pk__in=tickets.values("ticket_id")) | Q(client_id__in=clients.values("client_id"))
    one = Value(1, output_field=IntegerField())
    own = TicketTerm.objects.filter(ticket_id=OuterRef("pk"), **_prefix(word)).values_list(one)
    of_client = ClientTerm.objects.filter(client_id=OuterRef("client_id"), **_prefix(word)).values_list(one)
    if postgresql:
        # A word in most tickets: one EXISTS over a UNION ALL, which PostgreSQL probes per row of the queue's
        # index walk, stopping with the page. Two OR-ed EXISTS it would instead hash in full first, over every
        # tenant's terms (~0.3 s at 100,000 tickets for a word in nine tickets of ten).
        return Q(Exists(own.union(of_client, all=True)))
    # SQLite walks the queue's index newest first and probes each ticket through the unique (ticket, term)
    # and (client, term) indexes: the page fills after a few dozen probes.
    return Q(Exists(own)) | Q(Exists(of_client))


def _more_than(qs, column: str) -> bool:
    """More than SEARCH_HASH_MAX matches (one index range read of at most that many entries)."""
    return bool(list(qs.values_list(column, flat=True)[SEARCH_HASH_MAX : SEARCH_HASH_MAX + 1]))


def _capped(qs, column: str) -> list | None:
    """Up to SEARCH_ID_CAP matching ids, or None when there are more (one index range read)."""
    ids = list(qs.values_list(column, flat=True)[: SEARCH_ID_CAP + 1])
    return None if len(ids) > SEARCH_ID_CAP else ids


def search_match(text: str, *, reseller_id: Any = None) -> Q | None:
    """The tickets matching a query: every word (accent- and case-folded) prefixes a term of the client's name
    or number, or of the ticket's messages. None when the query has no word to search for (matches nothing).

    `reseller_id`: the user's tenant; None for an installation admin, who searches every tenant (one index
    range per tenant, on the same (reseller, term) index). At most three bounded index reads per word."""
    found = query_words(text)[:SEARCH_MAX_WORDS]
    if not found:
        return None
    if reseller_id:
        tenant: dict = {"reseller_id": reseller_id}
    else:
        tenant = {"reseller_id__in": list(Reseller.objects.values_list("pk", flat=True))}
    match, ids = Q(), None
    for word in found:
        clients = ClientTerm.objects.filter(**tenant, **_prefix(word))
        tickets = TicketTerm.objects.filter(**tenant, **_prefix(word))
        client_ids, ticket_ids = _capped(clients, "client_id"), _capped(tickets, "ticket_id")
        of_clients = None
        if client_ids is not None and ticket_ids is not None:
            of_clients = _capped(Ticket.objects.filter(client_id__in=client_ids), "pk")
        if of_clients is None or ticket_ids is None:
            match &= _common_word(word, tickets=tickets, clients=clients)
        else:
            word_ids = set(ticket_ids) | set(of_clients)
            ids = word_ids if ids is None else ids & word_ids
    # A rare word pins the result to a few known tickets, fetched by key; common words only narrow those.
    return match if ids is None else match & Q(pk__in=sorted(ids))
