"""Gap recovery against the fake Evolution: connection.update close/open → a pending run → the worker asks
chat/findMessages and stores what the webhook never delivered, once, in order, through the webhook's routing."""

import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.utils import timezone

from accounts.models import Client
from providers import ConnectionStateUpdate
from tests.support.webhooks import evo_sample, post_evolution
from tickets.models import Message, Ticket
from whatsapp import health, recovery
from whatsapp.models import RecoveryRun

pytestmark = pytest.mark.django_db

NOW = int(time.time())  # reset before every test (below): records are relative to the test's own start
MARIA, JOAO = "5511970000001", "5511970000002"


@pytest.fixture(autouse=True)
def _now():
    global NOW
    NOW = int(time.time())


def record(msg_id, number, text, ts, *, from_me=False, jid=None):
    """A findMessages record: the shape of a messages.upsert `data`."""
    return {
        "id": f"row-{msg_id}",
        "key": {"remoteJid": jid or f"{number}@s.whatsapp.net", "fromMe": from_me, "id": msg_id},
        "pushName": "" if from_me else f"Cliente {number[-1]}",
        "messageType": "conversation",
        "message": {"conversation": text},
        "messageTimestamp": ts,
        "instanceId": "00000000-0000-4000-8000-0000000000aa",
        "source": "android",
    }


def webhook_text(client, conn, number, text, msg_id, ts):
    body = evo_sample("evolution_messages_upsert_text.json", message_id=msg_id, jid=f"{number}@s.whatsapp.net")
    body["instance"] = conn.instance_name
    body["data"]["message"]["conversation"] = text
    body["data"]["messageTimestamp"] = ts
    assert post_evolution(client, conn, body).status_code == 200


def state(client, conn, name, at):
    body = evo_sample(f"evolution_connection_update_{name}.json")
    body["instance"] = conn.instance_name
    body["date_time"] = at.isoformat().replace("+00:00", "Z")
    assert post_evolution(client, conn, body).status_code == 200


def texts_of(ticket):
    return list(ticket.messages.order_by("created_at").values_list("text", flat=True))


def test_the_real_failure_three_messages_only_findmessages_knows(client, evo_live, fake, agent1):
    """The number goes offline, clients write, the webhook never hears of it; the number comes back."""
    webhook_text(client, evo_live, MARIA, "bom dia", "3EB0BEFORE01", NOW - 600)
    state(client, evo_live, "close", timezone.now() - timedelta(minutes=9))
    fake.history = [
        record("3EB0BEFORE01", MARIA, "bom dia", NOW - 600),  # stored already: the overlap margin
        record("3EB0GAP00001", MARIA, "alguém aí?", NOW - 300),
        record("3EB0GAP00002", JOAO, "preciso da segunda via", NOW - 200),
        record("3EB0GAP00003", MARIA, "o sistema caiu", NOW - 100),
    ]
    state(client, evo_live, "open", timezone.now())

    run = RecoveryRun.objects.get()
    assert run.state == RecoveryRun.State.PENDING and run.trigger == RecoveryRun.Trigger.RECONNECT
    assert fake.history_calls() == []  # never inside the webhook request
    assert run.since <= timezone.now() - timedelta(seconds=600)  # since the last stored message, minus a margin

    assert recovery.recovery_pass() == {"found": 4, "stored": 3, "duplicates": 1, "ignored": 0, "runs": 1}
    call = fake.history_calls()[0]
    assert call.headers["apikey"] == evo_live.api_key and call.path == "/chat/findMessages/demo"
    assert call.json["where"] == {"messageTimestamp": {"gte": int(run.since.timestamp())}}
    run.refresh_from_db()
    assert (run.state, run.found, run.stored, run.duplicates) == ("done", 4, 3, 1)

    maria = Ticket.objects.get(client__identity=MARIA)
    joao = Ticket.objects.get(client__identity=JOAO)
    assert texts_of(maria) == ["bom dia", "alguém aí?", "o sistema caiu"]
    assert texts_of(joao) == ["preciso da segunda via"]
    client.force_login(agent1)
    queue = client.get("/tickets/").content.decode()
    assert "o sistema caiu" in queue and "preciso da segunda via" in queue

    # However often it runs again, nothing is stored twice.
    assert recovery.recovery_pass() == {}
    health.recovery_request(connection=evo_live, trigger=RecoveryRun.Trigger.MANUAL)
    assert recovery.recovery_pass()["duplicates"] == 3  # since the newest stored one, minus the margin
    assert Message.objects.filter(direction="in").count() == 4


def test_open_after_close_requests_one_run_open_without_close_none(client, evo_live):
    state(client, evo_live, "open", timezone.now() - timedelta(minutes=5))
    assert not RecoveryRun.objects.exists()
    state(client, evo_live, "close", timezone.now() - timedelta(minutes=4))
    state(client, evo_live, "open", timezone.now() - timedelta(minutes=3))
    state(client, evo_live, "open", timezone.now() - timedelta(minutes=2))  # a repeated open: no second run
    assert RecoveryRun.objects.count() == 1
    # An old `close` delivered late never marks the connection as disconnected again.
    state(client, evo_live, "close", timezone.now() - timedelta(minutes=10))
    evo_live.refresh_from_db()
    assert evo_live.state == "open" and evo_live.disconnected_at is None


def test_out_of_order_records_are_stored_oldest_first(evo_live, fake):
    fake.history = [record(f"3EB0ORD{i}", MARIA, f"msg {i}", NOW - 100 + i) for i in (3, 1, 2)]
    health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    recovery.recovery_pass()
    assert texts_of(Ticket.objects.get()) == ["msg 1", "msg 2", "msg 3"]


def test_a_500_is_recorded_and_retried_by_a_later_pass(evo_live, fake):
    fake.history = [record("3EB0AFTER500", MARIA, "oi", NOW - 50)]
    fake.fail_next("500")
    run = health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    assert recovery.recovery_pass() == {"failed": 1, "runs": 1}
    run.refresh_from_db()
    assert run.state == "pending" and run.error.startswith("http_500") and not Message.objects.exists()
    assert recovery.recovery_pass() == {}  # not due yet: no sleeping, the next pass is simply later
    later = timezone.now() + timedelta(minutes=5)
    assert recovery.recovery_pass(now=later)["stored"] == 1
    run.refresh_from_db()
    assert run.state == "done" and run.attempts == 2


def test_a_gateway_that_keeps_failing_ends_in_failed(evo_live, fake):
    fake.fail_always("500")
    run = health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    for minutes in (0, 10, 20, 30):
        recovery.recovery_pass(now=timezone.now() + timedelta(minutes=minutes))
    run.refresh_from_db()
    assert run.state == "failed" and run.attempts == recovery.MAX_ATTEMPTS and run.finished_at


def test_a_paging_that_never_ends_is_bounded(evo_live, fake, settings):
    settings.WHATSAPP_RECOVERY_MAX_PAGES = 3
    fake.history = [record("3EB0ENDLESS1", MARIA, "oi", NOW - 50)]
    fake.history_endless = True
    run = health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    recovery.recovery_pass()
    run.refresh_from_db()
    assert len(fake.history_calls()) == 3 and [c.json["page"] for c in fake.history_calls()] == [1, 2, 3]
    assert run.state == "done" and run.pages == 3 and "stopped after 3 pages" in run.error
    assert run.stored == 1 and Message.objects.count() == 1  # the same record on every page: stored once


def test_paging_reads_every_page(evo_live, fake, settings):
    settings.WHATSAPP_RECOVERY_PAGE_SIZE = 2
    fake.history = [record(f"3EB0PAGE{i:04d}", MARIA, f"p{i}", NOW - 100 + i) for i in range(5)]
    health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    assert recovery.recovery_pass()["stored"] == 5
    assert [c.json["page"] for c in fake.history_calls()] == [1, 2, 3]


def test_groups_and_fromme_echoes_never_open_tickets(evo_live, fake):
    group = evo_sample("evolution_messages_upsert_group_text.json")["data"]
    group["messageTimestamp"] = NOW - 40
    fake.history = [group, record("3EB0ECHO0001", JOAO, "mensagem do celular da empresa", NOW - 30, from_me=True)]
    health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    counts = recovery.recovery_pass()
    assert counts["ignored"] == 2 and counts.get("stored", 0) == 0
    assert not Ticket.objects.exists() and not Client.objects.exists() and not Message.objects.exists()


def test_a_fromme_echo_on_an_open_ticket_is_stored_like_its_webhook_would(evo_live, fake):
    fake.history = [
        record("3EB0CLIENT01", MARIA, "oi", NOW - 40),
        record("3EB0ECHO0002", MARIA, "olá, já vamos ver", NOW - 30, from_me=True),
    ]
    health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    assert recovery.recovery_pass()["stored"] == 2
    echo = Message.objects.get(provider_message_id="3EB0ECHO0002")
    assert echo.direction == "out" and echo.from_business_phone


def test_a_manual_period_stores_only_that_period(evo_live, fake):
    fake.history = [record(f"3EB0WIN{i}", MARIA, f"w{i}", NOW - 1000 + i * 100) for i in range(5)]
    since = datetime.fromtimestamp(NOW - 850, tz=UTC)
    until = datetime.fromtimestamp(NOW - 650, tz=UTC)
    health.recovery_request(connection=evo_live, trigger="manual", since=since, until=until)
    recovery.recovery_pass()
    assert texts_of(Ticket.objects.get()) == ["w2", "w3"]


def test_two_runs_claim_once_each(evo_live, fake):
    run = health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    assert recovery.recovery_run_claim(run.pk) is not None
    assert recovery.recovery_run_claim(run.pk) is None  # a second worker does not take a running run


def test_the_worker_loop_runs_the_pass(evo_live, fake):
    """The worker's recovery job (a thread of `send_outbox --loop`), one pass run here in the test's thread."""
    import threading

    from django.core.management.base import OutputWrapper

    from whatsapp.management.commands.worker import _SideJob

    fake.history = [record("3EB0WORKER01", MARIA, "oi", NOW - 10)]
    health.recovery_request(connection=evo_live, trigger="manual", since=timezone.now() - timedelta(hours=1))
    stop, out, err = threading.Event(), StringIO(), StringIO()

    def one_pass():
        stop.set()
        return recovery.recovery_pass()

    _SideJob("recovery", one_pass, stop, 0.01, OutputWrapper(out), OutputWrapper(err)).run()
    assert "recovery: " in out.getvalue() and "stored=1" in out.getvalue() and err.getvalue() == ""
    assert Message.objects.filter(provider_message_id="3EB0WORKER01").count() == 1


def test_state_updates_without_timestamps_still_move_forward(evo_live):
    assert health.connection_state_apply(connection=evo_live, update=ConnectionStateUpdate("close")) == ["state_stored"]
    assert health.connection_state_apply(connection=evo_live, update=ConnectionStateUpdate("open")) == [
        "state_stored",
        "recovery_requested",
    ]
