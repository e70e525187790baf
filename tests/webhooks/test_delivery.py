"""Outgoing webhooks end to end: changes of tickets recorded as events and delivered to a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import timedelta

import pytest

from iaze.lib import clock
from tests import factories as f
from tests.webhooks.receiver import Receiver
from tickets import services
from tickets.activity import ticket_change
from tickets.models import Ticket
from tickets.reads.shapes import ticket_shape
from webhooks import services as hooks
from webhooks.delivery import deliveries_pass, webhooks_pass
from webhooks.models import EVENT_TYPES, Webhook, WebhookDelivery
from webhooks.recorder import record_pass

pytestmark = pytest.mark.django_db

SECRET = "segredo-de-teste-1234567890"
P = WebhookDelivery.Status


@pytest.fixture
def rx():
    with Receiver() as receiver:
        yield receiver


def _hook(tenant, url, events=EVENT_TYPES):
    return hooks.webhook_create(reseller=tenant.reseller, url=url, events=events, secret=SECRET)[0]


def _signed(call) -> dict:
    expected = "sha256=" + hmac.new(SECRET.encode(), call.body, hashlib.sha256).hexdigest()
    assert call.headers["X-IAZE-Signature"] == expected
    assert call.headers["Content-Type"] == "application/json"
    payload = json.loads(call.body)
    assert call.headers["X-IAZE-Event"] == payload["type"]
    return payload


def test_each_change_is_delivered_signed_in_order_with_the_api_shapes(tenant, meta_conn, agent1, rx):
    hook = _hook(tenant, rx.url("/hook?token=abc&x=1"))  # a receiver's token in the query string
    ticket = f.make_ticket(meta_conn, text="Quero um boleto")  # created + the client's message
    services.ticket_claim(ticket=ticket, agent=agent1)
    services.ticket_reply(ticket=Ticket.objects.get(pk=ticket.pk), agent=agent1, text="Segue o boleto")
    services.ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=agent1)
    services.ticket_note_add(ticket=Ticket.objects.get(pk=ticket.pk), by=agent1, text="nota interna")

    counts = webhooks_pass(limit=None)
    assert counts["recorded"] == counts["delivered"] == 5
    assert [c.path for c in rx.calls] == ["/hook?token=abc&x=1"] * 5
    payloads = [_signed(call) for call in rx.calls]
    assert [p["type"] for p in payloads] == [
        "ticket.created",
        "message.received",
        "ticket.claimed",
        "message.sent",
        "ticket.closed",
    ]  # the note is internal: no event
    versions = [p["data"]["change"]["version"] for p in payloads]
    assert versions == sorted(versions)
    assert payloads[1]["data"]["message"]["text"] == "Quero um boleto"
    assert payloads[3]["data"]["message"]["direction"] == "out"
    assert payloads[2]["data"]["change"]["actor"] == str(agent1.pk)
    closed = Ticket.objects.select_related("client", "department", "agent", "connection").get(pk=ticket.pk)
    assert payloads[-1]["data"]["ticket"] == ticket_shape(closed)
    assert set(payloads[0]) == {"id", "type", "created_at", "data"}
    rows = {str(r.pk): r for r in WebhookDelivery.objects.filter(webhook=hook)}
    assert set(rows) == {p["id"] for p in payloads}
    assert all(r.status == P.DELIVERED and r.attempts == 1 and r.last_status == 200 for r in rows.values())
    assert all(r.last_answer_ms is not None for r in rows.values())
    # Nothing is delivered twice, and a second pass records nothing new.
    assert webhooks_pass(limit=None)["recorded"] == 0 and len(rx.calls) == 5
    # "Enviar de novo" sends the very same bytes under the same id.
    first = rx.calls[0]
    assert hooks.event_send_again(WebhookDelivery.objects.get(pk=json.loads(first.body)["id"]))
    deliveries_pass(limit=None)
    assert len(rx.calls) == 6 and rx.calls[-1].body == first.body


def test_failures_are_retried_in_order_per_ticket_and_a_slow_receiver_holds_nothing(
    tenant, meta_conn, agent1, rx, settings
):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5  # the receiver hangs until released: this deadline ends the call
    hook = _hook(tenant, rx.url("/hook"), events=["ticket.created", "ticket.claimed"])
    ticket = f.make_ticket(meta_conn)
    services.ticket_claim(ticket=ticket, agent=agent1)
    record_pass()
    created, claimed = WebhookDelivery.objects.filter(webhook=hook).order_by("ticket_version")
    assert (created.type, claimed.type) == ("ticket.created", "ticket.claimed")

    for mode, code in (("500", "http_status"), ("redirect", "http_status"), ("hang", "timeout")):
        with Receiver() as fast:  # another webhook of the tenant, answering at once
            other = _hook(tenant, fast.url("/ok"), events=["ticket.created"])
            f.make_ticket(meta_conn)
            record_pass()
            rx.mode = mode
            before = clock.now()
            counts = deliveries_pass(limit=None, ignore_backoff=True)
            row = WebhookDelivery.objects.get(pk=created.pk)
            assert row.status == P.PENDING and row.error_code == code, (mode, row.error_code)
            # Backoff: 30 s after the first failure (within a minute), then doubling.
            assert row.next_attempt_at <= before + timedelta(seconds=30 * 2 ** (row.attempts - 1) + 1)
            assert row.last_status == {"500": 500, "redirect": 302, "hang": None}[mode]
            # The claim waits for the creation of its ticket: never delivered out of order.
            assert WebhookDelivery.objects.get(pk=claimed.pk).attempts == 0
            assert counts["waiting"] >= 1
            # Meanwhile the other receiver got its event: the worker was not held up.
            assert len(fast.calls) == 1 and json.loads(fast.calls[0].body)["type"] == "ticket.created"
            hooks.webhook_update(other, active=False)
    assert not [c for c in rx.calls if c.path.startswith("/elsewhere")]  # the redirect was never followed
    assert WebhookDelivery.objects.get(pk=created.pk).attempts == 3

    rx.mode = "ok"
    rx.release()
    rx.calls.clear()
    deliveries_pass(limit=None, ignore_backoff=True)
    deliveries_pass(limit=None, ignore_backoff=True)
    mine = [p for p in map(json.loads, (c.body for c in rx.calls)) if p["data"]["ticket"]["id"] == str(ticket.pk)]
    assert [p["type"] for p in mine] == ["ticket.created", "ticket.claimed"]
    assert WebhookDelivery.objects.get(pk=claimed.pk).status == P.DELIVERED
    assert not WebhookDelivery.objects.filter(webhook=hook, status=P.PENDING).exists()  # the others' too


def test_a_private_address_is_refused_when_not_allowed(tenant, meta_conn, rx, settings):
    hook = _hook(tenant, rx.url("/hook"), events=["ticket.created"])
    f.make_ticket(meta_conn)
    settings.ALLOW_PRIVATE_PROVIDER_HOSTS = False
    webhooks_pass(limit=None, ignore_backoff=True)
    row = WebhookDelivery.objects.get(webhook=hook)
    assert row.status == P.PENDING and row.error_code == "unsafe_url" and rx.calls == []
    with pytest.raises(hooks.WebhookInvalid):
        hooks.webhook_update(hook, url="http://10.1.2.3/hook")


# The MongoDB test server is a Python wire-protocol server about ten times slower than SQLite: its lane
# runs the same burst at 200 events; 1,000 is the sqlite and postgresql figure.
BURST = 200 if os.environ.get("IAZE_TEST_LANE") == "mongodb" else 1000


def test_a_burst_of_1000_events_each_delivered_once_with_one_content(tenant, meta_conn, rx):
    hook = _hook(tenant, rx.url("/hook"), events=["ticket.transferred"])
    tickets = [f.make_ticket(meta_conn) for _ in range(4)]
    for n in range(BURST):
        ticket_change(tickets[n % 4].pk, action="transferred", data={"n": n})
    while webhooks_pass(limit=None)["recorded"]:
        pass
    # A pass delivers, of each ticket, the events whose earlier ones are gone (order per ticket); how many
    # that is depends on the order the pass reads them in. The worker keeps passing: so does the test, until
    # a pass finds nothing left to deliver (each event is then delivered once, below).
    for _ in range(BURST):
        if not deliveries_pass(limit=None).get("delivered"):
            break
    assert WebhookDelivery.objects.filter(webhook=hook).count() == BURST
    assert WebhookDelivery.objects.filter(webhook=hook, status=P.DELIVERED).count() == BURST
    bodies: dict[str, bytes] = {}
    per_ticket: dict[str, list[int]] = {}
    for call in rx.calls:
        payload = _signed(call)
        assert bodies.setdefault(payload["id"], call.body) == call.body
        per_ticket.setdefault(payload["data"]["ticket"]["id"], []).append(payload["data"]["change"]["version"])
    assert len(rx.calls) == len(bodies) == BURST
    assert all(v == sorted(v) and len(v) == BURST // 4 for v in per_ticket.values())


def test_a_webhook_failing_for_days_is_paused_keeps_its_events_and_delivers_them_when_on_again(
    tenant, meta_conn, agent1, rx
):
    rx.mode = "500"
    hook = _hook(tenant, rx.url("/hook"), events=["ticket.created", "ticket.claimed"])
    ticket = f.make_ticket(meta_conn)
    webhooks_pass(limit=None, ignore_backoff=True)
    assert Webhook.objects.get(pk=hook.pk).failing_since is not None
    Webhook.objects.filter(pk=hook.pk).update(failing_since=clock.now() - timedelta(days=4))
    webhooks_pass(limit=None, ignore_backoff=True)
    paused = Webhook.objects.get(pk=hook.pk)
    assert paused.paused_at is not None and "500" in paused.pause_reason and paused.active
    # Paused: its events are still recorded and kept, and nothing is sent.
    services.ticket_claim(ticket=ticket, agent=agent1)
    sent = len(rx.calls)
    webhooks_pass(limit=None, ignore_backoff=True)
    assert len(rx.calls) == sent
    assert WebhookDelivery.objects.filter(webhook=hook, status=P.PENDING).count() == 2
    rx.mode = "ok"
    assert hooks.webhook_turn_on(paused)
    webhooks_pass(limit=None)
    webhooks_pass(limit=None)
    assert WebhookDelivery.objects.filter(webhook=hook, status=P.DELIVERED).count() == 2
    assert [json.loads(c.body)["type"] for c in rx.calls[sent:]] == ["ticket.created", "ticket.claimed"]
    assert Webhook.objects.get(pk=hook.pk).paused_at is None


def test_events_of_a_webhook_that_is_off_are_not_recorded(tenant, meta_conn, agent1, rx):
    hook = _hook(tenant, rx.url("/hook"), events=["ticket.created", "ticket.claimed"])
    hooks.webhook_update(hook, active=False)
    ticket = f.make_ticket(meta_conn)
    webhooks_pass(limit=None)
    assert not WebhookDelivery.objects.filter(webhook=hook).exists()
    hooks.webhook_update(hook, active=True)
    services.ticket_claim(ticket=ticket, agent=agent1)
    webhooks_pass(limit=None)
    assert [json.loads(c.body)["type"] for c in rx.calls] == ["ticket.claimed"]


def test_a_success_never_moves_the_stamp_back_nor_clears_a_later_failure(tenant, meta_conn, rx):
    hook = _hook(tenant, rx.url("/hook"), events=["ticket.created"])
    later = clock.now() + timedelta(minutes=5)  # another delivery's success, and a failure, after this one's
    Webhook.objects.filter(pk=hook.pk).update(last_success_at=later, failing_since=later)
    f.make_ticket(meta_conn)
    assert webhooks_pass(limit=None)["delivered"] == 1
    kept = Webhook.objects.get(pk=hook.pk)
    assert kept.last_success_at == later and kept.failing_since == later
    # A failure that began before this success is over.
    Webhook.objects.filter(pk=hook.pk).update(last_success_at=None, failing_since=clock.now() - timedelta(hours=1))
    f.make_ticket(meta_conn, client=f.make_client(meta_conn.reseller, name="Outro cliente"))
    assert webhooks_pass(limit=None)["delivered"] == 1
    cleared = Webhook.objects.get(pk=hook.pk)
    assert cleared.failing_since is None and cleared.last_success_at is not None
