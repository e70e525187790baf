"""seed_demo --conversations: a week that the inbox, the reports and the panel can show, added once."""

import io
from datetime import timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Client, Reseller, Tag, User
from iaze.lib import clock
from reports import figures
from tickets.models import MediaDownload, MediaFile, Message, Ticket, TicketEvent, TicketRead, TicketTag, UIState

pytestmark = pytest.mark.django_db

DAYS = "3"  # small: the MongoDB lane runs on a slow server


def seed(*extra) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--password", "demo12345", "--conversations", "--days", DAYS, *extra, stdout=out)
    return out.getvalue()


def counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (Ticket, Message, TicketEvent, TicketTag, TicketRead, MediaFile, MediaDownload, Client, Tag)
    }


def test_a_week_of_every_kind_of_conversation_added_once_and_shown(client):
    out = seed()
    reseller = Reseller.objects.get(slug="demo")
    tickets = Ticket.objects.filter(reseller=reseller)
    for state in UIState.values:
        assert tickets.in_state(state).exists(), state
    assert 10 <= tickets.count() <= 60
    assert "conversations:" in out and "0 already there" in out

    # Media kept as the worker keeps a download, and an agent's file: each message has its stored file.
    files = Message.objects.exclude(media_file=None)
    assert {m.kind for m in files} >= {"image", "audio", "document"}
    assert not MediaDownload.objects.exclude(state=MediaDownload.State.STORED).exists()
    assert TicketTag.objects.filter(active=True).exists()
    assert Message.objects.filter(direction=Message.Direction.NOTE).exists()
    assert TicketEvent.objects.filter(action=TicketEvent.Action.TRANSFERRED).exists()
    rated = tickets.exclude(rating=None)
    assert rated.exists() and all(t.status == Ticket.Status.CLOSED and 1 <= t.rating <= 5 for t in rated)
    # Nothing left for the worker to send: every reply was recorded as sent, and read.
    outbound = Message.objects.filter(direction=Message.Direction.OUT)
    assert outbound.exists() and set(outbound.values_list("delivery_status", flat=True)) == {"read"}
    assert set(outbound.values_list("attempts", "error_code")) == {(1, "")}  # the demo's record, no provider call

    # The holders read before answering: an Atendendo ticket's unread are only what came after the answer.
    held = tickets.in_state(UIState.ATENDENDO)
    assert TicketRead.objects.filter(ticket_id__in=list(held.values_list("pk", flat=True))).count() == held.count()

    # Spread over the days, in the past.
    assert len(set(tickets.values_list("opened_local_date", flat=True))) >= 2
    assert max(tickets.values_list("last_message_at", flat=True)) <= clock.now()

    before = counts()
    later = clock.now() + timedelta(hours=5)  # run again later in the day: the same plan, every key found
    with mock.patch.object(timezone, "now", lambda: later):
        again = seed()
    assert counts() == before  # nothing duplicated
    assert "conversations: 0 added" in again

    # What a prospect is shown: the reports of the last 7 days and the supervisor's panel.
    client.force_login(User.objects.get(email="revenda@demo.local"))
    report = client.get("/relatorios/?periodo=7d").context["report"]
    assert report.opened > 0 and report.closed > 0 and report.waiting > 0
    page = client.get("/relatorios/?periodo=7d").content.decode()
    assert 'id="kpi-opened">0<' not in page and "/ 5" in page  # the satisfaction average is shown

    # Written through the services, the report's per-day rollups agree with the tickets themselves.
    tz = ZoneInfo("America/Sao_Paulo")
    today = clock.now().astimezone(tz).date()
    scope = figures.Scope(reseller=reseller, tz=tz, first_day=today - timedelta(days=6), last_day=today)
    exact, rolled = figures.build(scope, exact=True), figures.build(scope, exact=False)
    assert exact.opened == tickets.count() and exact.ratings == rated.count()
    for name in ("opened", "closed", "waiting", "ratings", "rating_avg", "ratings_asked", "per_day"):
        assert getattr(rolled, name) == getattr(exact, name), name

    # A picture a client sent: the conversation shows it and the file is served.
    picture = Message.objects.filter(kind="image").exclude(media_file=None).first()
    page = client.get(f"/tickets/{picture.ticket_id}/")
    assert page.status_code == 200 and f"/midia/{picture.pk}/" in page.content.decode()
    served = client.get(f"/tickets/{picture.ticket_id}/midia/{picture.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert client.get("/tickets/").status_code == 200

    panel = client.get("/painel/?format=json").json()
    assert sum(d["waiting"] for d in panel["departments"]) > 0
    assert sum(d["in_service"] for d in panel["departments"]) > 0
    assert sum(a["open_tickets"] for a in panel["agents"]) > 0
