"""The durable job queue (iaze.lib.jobs) and its runner (iaze.lib.workers), on the three queues that use them:
the outbox, media downloads and gap recoveries. Time is passed in (`now=`), never waited for."""

import threading
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from iaze.lib import clock
from iaze.lib.jobs import Backoff, Job, Status, fair_order
from iaze.lib.workers import Runner
from tests import factories as f
from tickets import outbox
from tickets.models import MediaDownload, Message
from tickets.queues import DOWNLOADS, OUTBOX
from whatsapp import media_fetch as downloads
from whatsapp.queues import RECOVERIES

pytestmark = pytest.mark.django_db


def outbox_job(connection, not_before=None):
    ticket = f.make_ticket(connection)
    message, _ = outbox.message_enqueue_outbound(ticket=ticket, text="lembrete", not_before=not_before)
    return message.pk


def download_job(connection, not_before=None):
    ticket = f.make_ticket(connection)
    photo = Message.objects.create(
        ticket=ticket,
        connection=connection,
        direction=Message.Direction.IN,
        kind=Message.Kind.IMAGE,
        provider_message_id=f"wamid.photo{uuid.uuid4().hex[:10]}",
        media={"id": "1", "mime_type": "image/png"},
    )
    return DOWNLOADS.enqueue(message=photo, connection_id=connection.pk, not_before=not_before).pk


def recovery_job(connection, not_before=None):
    since = clock.now() - timedelta(hours=1)
    return RECOVERIES.enqueue(connection=connection, trigger="manual", since=since, not_before=not_before).pk


QUEUES = {
    "outbox": (OUTBOX, outbox_job),
    "downloads": (DOWNLOADS, download_job),
    "recoveries": (RECOVERIES, recovery_job),
}


@pytest.fixture
def conn(tenant):
    return f.make_connection(tenant.reseller, tenant.suporte)


def _pks(jobs):
    return [job.pk for job in jobs]


@pytest.mark.parametrize("name", QUEUES)
def test_a_job_before_its_not_before_is_not_due_even_ignoring_the_backoff(name, conn):
    queue, make = QUEUES[name]
    now = clock.now()
    at = now + timedelta(hours=1)
    pk = make(conn, not_before=at)
    assert queue.due(now=now, ignore_backoff=True) == []
    assert queue.claim(pk, now=now, ignore_backoff=True) is None
    assert queue.claim(pk, now=at - timedelta(milliseconds=1), ignore_backoff=True) is None
    assert queue.status(pk, now=now) == Status.READY
    assert _pks(queue.due(now=at)) == [pk]
    assert queue.claim(pk, now=at) is not None


def test_backoff_grows_and_caps():
    backoff = Backoff(base=5, cap=600)
    assert [backoff.seconds(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 320, 600]
    assert backoff.seconds(0) == 5 and backoff.seconds(60) == 600
    assert RECOVERIES.backoff.seconds(1) == 60 and RECOVERIES.backoff.seconds(2) == 120


@pytest.mark.parametrize("name", QUEUES)
def test_a_retry_waits_for_its_backoff_which_a_one_pass_may_ignore(name, conn):
    queue, make = QUEUES[name]
    pk = make(conn)
    now = clock.now()
    lease = queue.claim(pk, now=now)
    assert queue.retry(pk, lease, attempts=3, code="timeout", text="o provedor não respondeu", now=now)
    wait = timedelta(seconds=queue.backoff.seconds(3))
    assert queue.due(now=now + wait - timedelta(milliseconds=1)) == []
    assert _pks(queue.due(now=now + wait)) == [pk]
    assert _pks(queue.due(now=now, ignore_backoff=True)) == [pk]
    job = queue.objects.get(pk=pk)
    assert job.lease_until is None and job.attempts == 1
    assert "o provedor não respondeu" in getattr(job, queue.text_field)


@pytest.mark.parametrize("name", QUEUES)
def test_a_lease_that_runs_out_lets_another_worker_claim_and_the_first_writes_nothing(name, conn):
    queue, make = QUEUES[name]
    pk = make(conn)
    now = clock.now()
    first = queue.claim(pk, now=now)
    assert first is not None and queue.status(pk, now=now) == Status.RUNNING
    assert queue.claim(pk, now=now) is None  # held
    assert queue.claim(pk, now=first) is None  # held up to the lease's last millisecond
    second = queue.claim(pk, now=first + timedelta(milliseconds=1))  # the first worker died, or hangs
    assert second is not None and second != first
    assert queue.succeed(pk, first) is False  # the first worker's late outcome is not kept
    assert queue.fail(pk, first, code="late", text="late") is False
    assert queue.succeed(pk, second) is True
    assert queue.status(pk) == Status.SUCCESSFUL and queue.objects.get(pk=pk).attempts == 2


@pytest.mark.parametrize("name", QUEUES)
def test_a_failed_job_stays_and_is_requeued_once(name, conn):
    queue, make = QUEUES[name]
    pk = make(conn)
    assert queue.fail(pk, queue.claim(pk), code="131047", text="janela fechada")
    assert queue.status(pk) == Status.FAILED and queue.due(ignore_backoff=True) == []
    assert queue.requeue(pk) is True and queue.requeue(pk) is False  # a double click moves it once
    job = queue.objects.get(pk=pk)
    assert queue.status(pk) == Status.READY and job.attempts == 0 and _pks(queue.due()) == [pk]


def test_fair_order_deals_out_tenants_in_turns():
    rows = [(1, "b"), (2, "b"), (3, "b"), (4, "a"), (5, "c"), (6, "a")]
    assert [pk for pk, _ in fair_order(rows)] == [1, 4, 5, 2, 6, 3]
    assert [pk for pk, _ in fair_order(rows, per_tenant=1)] == [1, 4, 5]
    assert [pk for pk, _ in fair_order(rows, limit=2)] == [1, 4]


def test_a_tenant_with_one_job_is_picked_within_the_first_two_behind_another_tenants_ten(tenant):
    other = f.make_reseller("outra-loja")
    b_conn = f.make_connection(tenant.reseller, tenant.suporte)
    a_conn = f.make_connection(other, f.make_department(other, "Vendas"))
    b_ticket = f.make_ticket(b_conn)
    b_jobs = [outbox.message_enqueue_outbound(ticket=b_ticket, text=f"b{i}")[0].pk for i in range(10)]
    a_job = outbox_job(a_conn)
    # Stamps a second apart, A's the newest of all: a burst of writes may share a millisecond (iaze.lib.clock).
    start = clock.now() - timedelta(minutes=1)
    for i, pk in enumerate([*b_jobs, a_job]):
        Message.objects.filter(pk=pk).update(created_at=start + timedelta(seconds=i))
    for limit in (2, 3, 100, None):
        picks = OUTBOX.due(limit=limit)
        assert a_job in _pks(picks[:2]), limit
        assert _pks(picks)[0] == b_jobs[0]  # oldest first
    # Each job carries its connection's tenant (reseller), read by key: the runner's per-tenant share.
    assert OUTBOX.due(limit=100, per_tenant=2) == [
        Job(b_jobs[0], b_conn.pk, tenant.reseller.pk),
        Job(a_job, a_conn.pk, other.pk),
        Job(b_jobs[1], b_conn.pk, tenant.reseller.pk),
    ]
    # A tenant running its whole share is left out of the read altogether.
    assert _pks(OUTBOX.due(limit=1, skip_tenants=[b_conn.pk])) == [a_job]


def test_the_runner_gives_one_tenant_at_most_its_share_of_threads():
    release = threading.Event()

    def work(pk):
        release.wait(60)
        return "done"

    runner = Runner(threads=3, per_tenant=1, outcomes=("done",))
    try:
        left = runner.submit([Job("b1", "B"), Job("b2", "B"), Job("a1", "A")], work)
        assert left == [Job("b2", "B")]  # B's second waits for B's share, A's starts at once
        assert sorted(runner.running()) == ["a1", "b1"] and runner.busy("B") == 1
        assert sorted(runner.full_tenants()) == ["A", "B"]
    finally:
        release.set()
    assert runner.close(timeout=60) == []
    assert runner.take_counts() == {"done": 2}


def test_close_returns_what_is_still_running_when_its_time_is_up():
    release = threading.Event()
    runner = Runner(threads=2, per_tenant=2, name="stuck")
    runner.submit([Job("slow", "B")], lambda pk: release.wait(60))
    try:
        assert runner.close(timeout=0) == ["slow"]  # left to its lease
        threads = [t for t in threading.enumerate() if t.name.startswith("stuck-")]
        assert threads and all(t.daemon for t in threads)  # never keeps the process alive at exit
    finally:
        release.set()
    assert runner.close(timeout=60) == []


def test_one_at_a_time_the_runner_stops_between_jobs():
    done, stop = [], threading.Event()

    def work(pk):
        done.append(pk)
        stop.set()
        return "ok"

    runner = Runner(threads=1, per_tenant=1, stopping=stop.is_set)
    assert runner.submit([Job(1, "a"), Job(2, "b")], work) == [Job(2, "b")]
    assert done == [1]


def test_a_tenants_file_starts_while_another_tenants_two_slow_downloads_hang(monkeypatch, settings, tenant):
    """The issue's case: tenant A's photo waited 46 s behind two of B's slow downloads, one job at a time."""
    settings.WHATSAPP_JOB_WORKERS, settings.WHATSAPP_JOB_PER_CONNECTION = 2, 1
    other = f.make_reseller("outra-loja")
    b_conn = f.make_connection(tenant.reseller, tenant.suporte)
    a_conn = f.make_connection(other, f.make_department(other, "Vendas"))
    b_jobs = [download_job(b_conn), download_job(b_conn)]
    a_job = download_job(a_conn)
    release, a_started, started = threading.Event(), threading.Event(), []

    def fetch(job_id, **_):
        started.append(job_id)
        if job_id == a_job:
            a_started.set()
            return "stored"
        release.wait(60)  # B's file server dripping bytes
        return "retry"

    monkeypatch.setattr(downloads, "media_download_run", fetch)
    runner = downloads.media_runner()
    try:
        downloads.media_downloads_run(runner=runner)
        assert a_started.wait(60)
        # One of B's files hangs on B's one thread; B's other waits for it, never for A.
        assert len(set(started) & set(b_jobs)) == 1 and runner.busy(b_conn.pk) == 1
    finally:
        release.set()
    assert runner.close(timeout=60) == []
    assert len(started) == 2 and a_job in started
    assert MediaDownload.objects.filter(pk__in=b_jobs, state="pending").count() == 2


def test_a_scheduled_message_is_sent_only_once_its_time_has_come(meta_live, agent1, fake):
    ticket = f.make_ticket(meta_live, agent=agent1)
    at = clock.now() + timedelta(hours=2)
    message, _ = outbox.message_enqueue_outbound(ticket=ticket, text="lembrete agendado", not_before=at)
    out = StringIO()
    call_command("send_outbox", stdout=out)  # the one pass ignores backoff, never not_before
    assert out.getvalue().split() == ["sent=0", "retry=0", "failed=0", "skipped=0"]
    outbox.send_soon(message)  # nor does the request's fast path send it early
    assert outbox.send_pending(now=at - timedelta(milliseconds=1))["sent"] == 0
    message.refresh_from_db()
    assert fake.calls == [] and (message.delivery_status, message.attempts) == ("queued", 0)

    assert outbox.send_pending(now=at) == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    message.refresh_from_db()
    assert message.delivery_status == "sent" and message.attempts == 1 and fake.texts() == ["lembrete agendado"]
    call_command("send_outbox", stdout=StringIO())
    assert len(fake.calls) == 1
