"""From reading: the queue search is bounded, and every page carries a strict Content-Security-Policy."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tickets import services
from tickets.models import Message

pytestmark = pytest.mark.django_db


def _found(client, q):
    response = client.get("/tickets/", {"status": "espera", "q": q})
    assert response.status_code == 200
    return {t.pk for t in response.context["page"].items}


def test_search_finds_message_text_however_old_by_word_prefixes(client, world):
    """The search index (tickets.reads.search) has every message's words, old or new: a word is found by any
    prefix of 2+ characters, accents and case aside; one letter alone searches for nothing."""
    ticket = world.t["espera"]
    client.force_login(world.agent1)
    services.message_store(
        ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.old", text="Código ZEBRAFISH antigo")
    )
    Message.objects.filter(provider_message_id="wamid.old").update(created_at=timezone.now() - timedelta(days=400))
    services.message_store(
        ticket=ticket, msg=services.InboundMessage(provider_message_id="wamid.new", text="pedido kq7")
    )
    assert ticket.pk in _found(client, "pedido kq7")  # every word must match
    assert ticket.pk in _found(client, "zebra")  # a prefix of a word of an old message
    assert ticket.pk in _found(client, "codigo")  # accents and case aside
    assert ticket.pk not in _found(client, "pedido zebu")  # one word matches nothing
    assert ticket.pk not in _found(client, "ebrafish")  # prefixes, not any substring of a word
    assert _found(client, "z") == set()  # no word of 2+ characters: nothing to search for
    assert ticket.pk in _found(client, "Cliente Espera")  # the client's name


def test_a_huge_query_is_cut(client, world):
    client.force_login(world.agent1)
    assert client.get("/tickets/", {"q": "a" * 5000}).status_code == 200


@pytest.mark.parametrize("path", ["/tickets/", "/accounts/login/", "/admin/"])
def test_every_page_has_a_strict_content_security_policy(client, world, path):
    if path != "/accounts/login/":
        client.force_login(world.admin_user)
    response = client.get(path)
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in policy


def test_no_template_has_an_inline_script_or_event_handler():
    """'self' scripts only: an inline <script> or on…= handler would be blocked by the policy."""
    inline_script = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    offenders = []
    for path in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = path.read_text()
        for pattern in (inline_script, handler):
            offenders += [f"{path.name}: {m.group(0)}" for m in pattern.finditer(text)]
    assert offenders == []


@pytest.mark.parametrize("q", ["cliente", "cliente um", "mensagem cliente", "5511900000", "0000003", "zzz", "pedido"])
def test_rare_and_common_words_find_the_same_tickets(client, world, monkeypatch, q):
    """A word under SEARCH_ID_CAP matches is searched by ids, a commoner one through the index subqueries, and
    (PostgreSQL) a very common one by probing each ticket the queue walks: every plan returns the same tickets."""
    from tickets.reads import search

    client.force_login(world.reseller_user)
    by_ids = set().union(*(_found_in(client, state, q) for state in ("espera", "atendendo", "finalizado")))
    monkeypatch.setattr(search, "SEARCH_ID_CAP", 0)
    by_subqueries = set().union(*(_found_in(client, state, q) for state in ("espera", "atendendo", "finalizado")))
    assert by_ids == by_subqueries
    # PostgreSQL: a word with more than SEARCH_HASH_MAX matches is probed per row through one UNION ALL.
    monkeypatch.setattr(search, "SEARCH_HASH_MAX", 0)
    by_rows = set().union(*(_found_in(client, state, q) for state in ("espera", "atendendo", "finalizado")))
    assert by_ids == by_rows
    if q != "zzz":
        assert by_ids


def _found_in(client, state, q):
    response = client.get("/tickets/", {"status": state, "q": q})
    return {t.pk for t in response.context["page"].items}


@pytest.mark.mongodb
def test_mongodb_searches_a_common_word_by_key_among_its_newest_matches(client, world, monkeypatch):
    """No $lookup (it would run for every ticket of the tab before the page is cut): a common word's newest
    matches, at most SEARCH_MONGO_MAX per term index, are fetched by key."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets.reads import search

    client.force_login(world.reseller_user)
    everything = set().union(*(_found_in(client, state, "cliente") for state in ("espera", "atendendo", "finalizado")))
    monkeypatch.setattr(search, "SEARCH_ID_CAP", 0)
    with CaptureQueriesContext(connection) as ctx:
        common = set().union(*(_found_in(client, state, "cliente") for state in ("espera", "atendendo", "finalizado")))
    assert common == everything and len(everything) > 1
    assert not [q for q in ctx.captured_queries if "$lookup" in q["sql"]]
    monkeypatch.setattr(search, "SEARCH_MONGO_MAX", 1)
    capped = set().union(*(_found_in(client, state, "cliente") for state in ("espera", "atendendo", "finalizado")))
    assert capped and capped < everything
