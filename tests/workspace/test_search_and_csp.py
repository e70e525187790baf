"""From reading: the queue search is bounded, and every page carries a strict Content-Security-Policy."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tickets import selectors
from tickets.models import Message

pytestmark = pytest.mark.django_db


def _found(client, q):
    response = client.get("/tickets/", {"status": "espera", "q": q})
    assert response.status_code == 200
    return {t.pk for t in response.context["page"].items}


def test_search_finds_recent_message_text_but_not_old_or_too_short(client, world):
    ticket = world.t["espera"]
    client.force_login(world.agent1)
    old = Message.objects.create(
        ticket=ticket, connection_id=ticket.connection_id, direction="in", text="código zebrafish antigo"
    )
    Message.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=selectors.SEARCH_MESSAGES_DAYS + 1)
    )
    Message.objects.create(ticket=ticket, connection_id=ticket.connection_id, direction="in", text="xy recente")
    Message.objects.create(ticket=ticket, connection_id=ticket.connection_id, direction="in", text="pedido kq7 ok")
    assert ticket.pk in _found(client, "pedido kq7")  # recent text
    assert ticket.pk not in _found(client, "zebrafish")  # older than the window
    assert ticket.pk not in _found(client, "xy")  # under 3 characters: names, phones and previews only
    assert ticket.pk in _found(client, "Cliente Espera")  # the client's name, however old


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
