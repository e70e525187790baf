"""Replies through the outbox against the fake provider: real HTTP, real response shapes, real failures."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from tests import factories as f
from tickets import outbox
from tickets import services as ticket_services
from tickets.models import Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def inline(settings):
    settings.WHATSAPP_SEND_INLINE = True
    settings.WHATSAPP_HTTP_TIMEOUT = 10.0  # generous: only the timeout test wants a short one


def _reply(connection, agent, text="Olá, posso ajudar?"):
    ticket = f.make_ticket(connection, agent=agent)
    return ticket_services.ticket_reply(ticket=ticket, agent=agent, text=text)


def _fresh(message):
    message.refresh_from_db()
    return message


def test_meta_reply_is_sent_with_the_real_request_shape(inline, meta_live, agent1, fake):
    m = _fresh(_reply(meta_live, agent1, "Olá, aqui é o suporte 😊"))
    assert m.delivery_status == "sent" and m.provider_message_id.startswith("wamid.FAKE") and m.sent_at
    assert m.attempts == 1 and m.lease_until is None
    [call] = fake.calls
    assert call.path == "/v21.0/100000000000001/messages"
    assert call.headers["Authorization"] == "Bearer meta-access-token"
    assert call.json == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": m.ticket.client.wa_id,
        "type": "text",
        "text": {"preview_url": False, "body": "Olá, aqui é o suporte 😊"},
    }


def test_evolution_reply_is_sent(inline, evo_live, agent1, fake):
    m = _fresh(_reply(evo_live, agent1, "Bom dia"))
    assert m.delivery_status == "sent" and m.provider_message_id.startswith("3EB0FAKE")
    [call] = fake.calls
    assert call.path == "/message/sendText/demo" and call.headers["apikey"] == "evo-api-key"
    assert call.json == {"number": m.ticket.client.wa_id, "text": "Bom dia"}


@pytest.mark.parametrize("mode, code", [("500", "1"), ("130429", "130429"), ("131056", "131056")])
def test_retryable_errors_stay_queued_with_backoff(inline, meta_live, agent1, fake, mode, code):
    fake.fail_next(mode)
    before = timezone.now()
    m = _fresh(_reply(meta_live, agent1))
    assert (m.delivery_status, m.error_code, m.provider_message_id) == ("queued", code, "")
    assert m.next_attempt_at >= before + timedelta(seconds=outbox.BACKOFF_BASE_SECONDS) and m.lease_until is None
    assert outbox.send_pending(ignore_backoff=False) == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    call_command("send_outbox")  # one pass ignores the backoff
    m = _fresh(m)
    assert m.delivery_status == "sent" and m.error_code == "" and m.attempts == 2 and len(fake.calls) == 2


def test_worker_is_the_honest_name_of_send_outbox(inline, meta_live, agent1, fake):
    """`manage.py worker` runs every background loop; `send_outbox` (the contract's name) is the same command."""
    fake.fail_next("500")
    m = _fresh(_reply(meta_live, agent1))
    assert m.delivery_status == "queued"
    out = StringIO()
    call_command("worker", stdout=out)  # one pass, like send_outbox's
    assert _fresh(m).delivery_status == "sent" and "sent=1" in out.getvalue()
    from whatsapp.management.commands import send_outbox, worker

    assert issubclass(send_outbox.Command, worker.Command) and send_outbox.Command.label == "send_outbox"


def test_window_closed_131047_fails_for_good_with_reason(inline, meta_live, agent1, fake):
    fake.fail_next("131047")
    m = _fresh(_reply(meta_live, agent1))
    assert (m.delivery_status, m.error_code) == ("failed", "131047") and "24 horas" in m.error_text
    call_command("send_outbox")
    assert len(fake.calls) == 1 and _fresh(m).delivery_status == "failed"


def test_evolution_bad_request_fails_server_error_retries(inline, evo_live, agent1, fake):
    fake.fail_next("400")
    assert _fresh(_reply(evo_live, agent1, "a")).delivery_status == "failed"
    fake.fail_next("500")  # Evolution's "Error: Connection Closed": recognised, and retried as any 500
    m = _fresh(_reply(evo_live, agent1, "b"))
    assert m.delivery_status == "queued" and m.error_code == "connection_closed" and "desconectado" in m.error_text


def test_timeout_is_retryable_and_never_blocks_the_reply(inline, settings, meta_live, agent1, fake):
    settings.WHATSAPP_HTTP_TIMEOUT = 0.5
    fake.hang_seconds = 10
    fake.fail_next("timeout")
    m = _fresh(_reply(meta_live, agent1))
    assert (m.delivery_status, m.error_code) == ("queued", "timeout") and m.lease_until is None
    settings.WHATSAPP_HTTP_TIMEOUT = 10.0
    call_command("send_outbox")
    assert _fresh(m).delivery_status == "sent"


def test_unreachable_provider_is_retryable(inline, tenant, agent1):
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="dead", api_base_url="http://127.0.0.1:9")
    m = _fresh(_reply(conn, agent1))
    assert (m.delivery_status, m.error_code) == ("queued", "connection")


def test_backoff_grows_and_is_capped():
    assert [outbox.backoff_seconds(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert outbox.backoff_seconds(30) == outbox.BACKOFF_CAP_SECONDS


def test_claim_is_exclusive_until_the_lease_expires(meta_live, agent1):
    m = _reply(meta_live, agent1)  # inline sending is off: stays queued
    assert outbox.message_claim(m.pk) is not None
    assert outbox.message_claim(m.pk) is None
    assert outbox.message_deliver(m.pk) == "skipped"
    Message.objects.filter(pk=m.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert outbox.message_claim(m.pk) is not None


def test_one_pass_sends_everything_queued_once(meta_live, agent1, fake, settings):
    settings.WHATSAPP_HTTP_TIMEOUT = 10.0
    messages = [_reply(meta_live, agent1, f"msg {i}") for i in range(5)]
    call_command("send_outbox")
    call_command("send_outbox")
    assert sorted(fake.texts()) == sorted(f"msg {i}" for i in range(5))
    assert {_fresh(m).delivery_status for m in messages} == {"sent"}


def test_text_limits(meta_live, evo_live, agent1):
    assert outbox.max_text_length(meta_live) == 4096
    ticket = f.make_ticket(meta_live, agent=agent1)
    with pytest.raises(ticket_services.ReplyRejected) as exc:
        ticket_services.ticket_reply(ticket=ticket, agent=agent1, text="x" * 4097)
    assert "4096" in str(exc.value)
    assert ticket_services.ticket_reply(ticket=ticket, agent=agent1, text="x" * 4096).text == "x" * 4096
    assert outbox.max_text_length(evo_live) > 4096
    evo_ticket = f.make_ticket(evo_live, agent=agent1)
    assert len(ticket_services.ticket_reply(ticket=evo_ticket, agent=agent1, text="y" * 5000).text) == 5000
    assert Message.objects.filter(direction="out").count() == 2


def test_inline_send_waits_for_the_callers_transaction(
    inline, meta_live, agent1, fake, django_capture_on_commit_callbacks
):
    """The provider is called only once the reply is stored for good: after the caller's transaction
    commits on the SQL profiles; at once on MongoDB, where atomic() is no transaction and every write
    is durable as soon as it is made."""
    ticket = f.make_ticket(meta_live, agent=agent1)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            m = ticket_services.ticket_reply(ticket=ticket, agent=agent1, text="depois do commit")
            if connection.features.supports_transactions:
                assert fake.calls == []  # no HTTP while the transaction is open
            else:
                assert Message.objects.filter(pk=m.pk, direction="out").exists()  # already stored
    assert _fresh(m).delivery_status == "sent" and fake.texts() == ["depois do commit"]


def test_provider_echo_stored_first_does_not_break_sending(inline, evo_live, agent1, fake):
    """Evolution may post the fromMe echo of our own send before we record its id."""
    ticket = f.make_ticket(evo_live, agent=agent1)
    Message.objects.create(
        ticket=ticket,
        connection=evo_live,
        direction="out",
        text="eco",
        provider_message_id=f"3EB0FAKE{fake._run}00000001",
        delivery_status="sent",
    )
    m = _fresh(ticket_services.ticket_reply(ticket=ticket, agent=agent1, text="eco"))
    assert m.delivery_status == "sent" and len(fake.calls) == 1
