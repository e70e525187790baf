"""Delivery receipts: forward only, out of order, failures with their reason, unknown messages."""

import pytest
from django.utils import timezone

from tests import factories as f
from tests.support.webhooks import evo_sample, meta_status, post_evolution, post_meta
from tickets import outbox
from tickets.models import Message
from whatsapp import journal
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db


def _sent_reply(connection, provider_id, status=Message.Delivery.SENT):
    ticket = f.make_ticket(connection)
    message, _ = outbox.message_enqueue_outbound(ticket=ticket, text="Resposta")
    Message.objects.filter(pk=message.pk).update(provider_message_id=provider_id, delivery_status=status)
    return message


def _state(message):
    message.refresh_from_db()
    return message.delivery_status


def test_statuses_in_order(client, meta_conn):
    m = _sent_reply(meta_conn, "wamid.out1", status=Message.Delivery.QUEUED)
    for status in ("sent", "delivered", "read"):
        post_meta(client, meta_conn, meta_status(meta_conn, "wamid.out1", status))
        assert _state(m) == status
    assert m.sent_at and m.delivered_at and m.read_at


@pytest.mark.parametrize(
    "order, final",
    [
        (["read", "sent", "delivered"], "read"),
        (["delivered", "sent"], "delivered"),
        (["sent", "read", "delivered", "sent"], "read"),  # "delivered" may be skipped, and arrive late
        (["played", "delivered"], "read"),
        (["delivered", "failed"], "delivered"),  # failed only applies from queued/sent
    ],
)
def test_statuses_out_of_order_only_move_forward(client, meta_conn, order, final):
    m = _sent_reply(meta_conn, "wamid.ooo")
    for i, status in enumerate(order):
        error = {"code": 131047, "title": "Re-engagement message"} if status == "failed" else None
        post_meta(client, meta_conn, meta_status(meta_conn, "wamid.ooo", status, ts=1750263773 + i, error=error))
    assert _state(m) == final


def test_failed_keeps_code_and_reason(client, meta_conn):
    m = _sent_reply(meta_conn, "wamid.fail")
    body = f.load_payload("meta_status_failed_131049.json")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["id"] = "wamid.fail"
    post_meta(client, meta_conn, body)
    m.refresh_from_db()
    assert m.delivery_status == "failed" and m.error_code == "131049"
    assert "healthy ecosystem engagement" in m.error_text
    post_meta(client, meta_conn, meta_status(meta_conn, "wamid.fail", "read"))
    assert _state(m) == "failed"


def test_window_closed_131047_is_shown(client, meta_conn):
    m = _sent_reply(meta_conn, "wamid.w")
    err = {
        "code": 131047,
        "title": "Re-engagement message",
        "error_data": {"details": "More than 24 hours have passed since the customer last replied."},
    }
    post_meta(client, meta_conn, meta_status(meta_conn, "wamid.w", "failed", error=err))
    m.refresh_from_db()
    assert (m.delivery_status, m.error_code) == ("failed", "131047") and "24 hours" in m.error_text


def test_status_for_unknown_message_is_kept_for_a_bounded_number_of_later_passes(client, meta_conn, caplog):
    other = _sent_reply(meta_conn, "wamid.known")
    r = post_meta(client, meta_conn, meta_status(meta_conn, "wamid.nobody", "read"))
    assert r.status_code == 200 and _state(other) == "sent"
    event = WebhookEvent.objects.get()
    assert event.state == WebhookEvent.State.PENDING and "not stored yet" in event.error
    assert "unknown message wamid.nobody" in caplog.text
    # Not due while fresh; then retried by the worker's pass until the attempts run out.
    assert journal.webhook_events_replay_due() == {}
    later = timezone.now() + journal.STALE_AFTER * 2
    for _ in range(journal.MAX_AUTO_ATTEMPTS):
        later += journal.STALE_AFTER * 2
        journal.webhook_events_replay_due(now=later)
    event.refresh_from_db()
    assert event.state == WebhookEvent.State.PROCESSED and event.attempts == journal.MAX_AUTO_ATTEMPTS
    assert journal.webhook_events_replay_due(now=later + journal.STALE_AFTER * 2) == {}
    assert _state(other) == "sent"


def test_receipt_that_overtakes_its_message_is_applied_on_a_later_pass(client, meta_conn):
    ticket = f.make_ticket(meta_conn)
    post_meta(client, meta_conn, meta_status(meta_conn, "wamid.early", "delivered"))
    # The outbox records the provider's id only now (the receipt came first).
    reply, _ = outbox.message_enqueue_outbound(ticket=ticket, text="oi")
    Message.objects.filter(pk=reply.pk).update(provider_message_id="wamid.early", delivery_status="sent")
    journal.webhook_events_replay_due(now=timezone.now() + journal.STALE_AFTER * 2)
    assert _state(reply) == "delivered"
    assert WebhookEvent.objects.get().state == WebhookEvent.State.PROCESSED


def test_status_never_touches_inbound_messages_or_other_connections(client, meta_conn, outsider):
    ticket = f.make_ticket(meta_conn)
    inbound = ticket.messages.get()
    post_meta(client, meta_conn, meta_status(meta_conn, inbound.provider_message_id, "read"))
    assert _state(inbound) == ""
    elsewhere = _sent_reply(outsider.connection, "wamid.shared")
    post_meta(client, meta_conn, meta_status(meta_conn, "wamid.shared", "read"))
    assert _state(elsewhere) == "sent"


def test_evolution_acks(client, evo_conn):
    m = _sent_reply(evo_conn, "A5561E44C2A63682E4295B52F484C14E")
    post_evolution(client, evo_conn, evo_sample("evolution_messages_update_read.json"))
    assert _state(m) == "read"
    post_evolution(client, evo_conn, evo_sample("evolution_messages_update_deleted_status.json"))
    assert _state(m) == "read"
    delivered = evo_sample("evolution_messages_update_read.json")
    delivered["data"]["status"] = "DELIVERY_ACK"
    post_evolution(client, evo_conn, delivered)
    assert _state(m) == "read"


def test_apply_status_service_directly(meta_conn):
    m = _sent_reply(meta_conn, "wamid.svc")
    apply = outbox.message_apply_status
    assert apply(connection=meta_conn, provider_message_id="wamid.svc", status="delivered") is True
    assert apply(connection=meta_conn, provider_message_id="wamid.svc", status="delivered") is False
    assert apply(connection=meta_conn, provider_message_id="wamid.svc", status="sent") is False
    assert apply(connection=meta_conn, provider_message_id="wamid.svc", status="deleted") is False
    assert apply(connection=meta_conn, provider_message_id="wamid.none", status="read") is False
    assert _state(m) == "delivered"
