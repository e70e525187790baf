"""One tenant never stalls the others (security round three, item 1): the worker's threads are shared per
tenant (reseller) as well as per connection, so a tenant whose provider hangs holds at most its share,
however many connections it has; tenant A's file and reply go through while B's calls are still held."""

import threading
import uuid

import pytest

from iaze.lib.jobs import Job, fair_order
from iaze.lib.workers import Runner, group_share
from tests import factories as f
from tickets import outbox
from tickets.models import MediaDownload, Message
from tickets.queues import DOWNLOADS
from whatsapp import media_fetch as downloads

pytestmark = pytest.mark.django_db

PHOTO = b"\xff\xd8\xff\xe0" + b"tenant share photo" * 40


def media_job(connection, fake=None, *, content=PHOTO):
    """A stored photo message of this connection and its download job (the file served by the fake)."""
    ticket = f.make_ticket(connection)
    media_id = str(uuid.uuid4().int)[:15]
    message = Message.objects.create(
        ticket=ticket,
        connection=connection,
        direction=Message.Direction.IN,
        kind=Message.Kind.IMAGE,
        provider_message_id=f"wamid.share{uuid.uuid4().hex[:12]}",
        media={"id": media_id, "mime_type": "image/jpeg"},
    )
    if fake is not None:
        fake.add_media(media_id, content, "image/jpeg")
    return DOWNLOADS.enqueue(message=message, connection_id=connection.pk).pk


def reply_job(connection, text):
    message, _ = outbox.message_enqueue_outbound(ticket=f.make_ticket(connection), text=text)
    return message.pk


def tenants(tenant, *, b_connections, **fields):
    """Tenant B (the personas' tenant) with several connections, tenant A (another reseller) with one."""
    other = f.make_reseller("loja-a")
    b_conns = [
        f.make_connection(
            tenant.reseller, tenant.suporte, phone_number_id=f"20000000000000{i}", access_token=f"b-token-{i}", **fields
        )
        for i in range(b_connections)
    ]
    a_conn = f.make_connection(other, f.make_department(other, "Vendas"), access_token="a-token", **fields)
    return b_conns, a_conn


# --- the rules ------------------------------------------------------------------------------------


def test_fair_order_deals_tenants_in_turns_then_their_connections():
    rows = [(1, "b1", "B"), (2, "b2", "B"), (3, "b3", "B"), (4, "b1", "B"), (5, "a1", "A")]
    assert [pk for pk, *_ in fair_order(rows)] == [1, 5, 2, 3, 4]
    assert [pk for pk, *_ in fair_order(rows, per_group=2)] == [1, 5, 2]
    assert [pk for pk, *_ in fair_order(rows, per_tenant=1, per_group=3)] == [1, 5, 2, 3]
    # Rows without a tenant (reseller) are each connection's own, as before.
    assert [pk for pk, *_ in fair_order([(1, "x"), (2, "x"), (3, "y")], per_group=1)] == [1, 3, 2]


def test_a_tenants_share_is_the_setting_or_half_the_threads():
    assert [group_share(threads, 0) for threads in (1, 2, 3, 4, 8)] == [1, 1, 1, 2, 4]
    assert group_share(4, 3) == 3 and group_share(4, None) == 2


def test_the_runner_gives_one_tenant_at_most_its_share_whatever_its_connections():
    release = threading.Event()
    runner = Runner(threads=4, per_tenant=1, per_group=2, outcomes=("done",))
    b_jobs = [Job(f"b{i}", f"conn-b{i}", "B") for i in range(4)]
    try:
        left = runner.submit([*b_jobs, Job("a1", "conn-a", "A")], lambda pk: release.wait(60) and "done")
        # B's four connections could take all four threads; B gets its two, A's job starts at once.
        assert left == b_jobs[2:] and sorted(runner.running()) == ["a1", "b0", "b1"]
        assert runner.busy_group("B") == 2 and runner.full_groups() == ["B"]
    finally:
        release.set()
    assert runner.close(timeout=60) == [] and runner.take_counts() == {"done": 3}


def test_due_reads_each_connections_tenant_by_key_and_leaves_out_full_tenants(tenant):
    b_conns, a_conn = tenants(tenant, b_connections=3)
    b_jobs = [media_job(conn) for conn in b_conns]
    a_job = media_job(a_conn)
    b, a = tenant.reseller.pk, a_conn.reseller_id
    assert DOWNLOADS.due(per_group=2) == [
        Job(b_jobs[0], b_conns[0].pk, b),
        Job(a_job, a_conn.pk, a),
        Job(b_jobs[1], b_conns[1].pk, b),
    ]
    assert DOWNLOADS.due(skip_groups=[b]) == [Job(a_job, a_conn.pk, a)]
    # A full tenant's backlog filling a read never hides another tenant's job.
    assert [job.pk for job in DOWNLOADS.due(limit=1, skip_groups=[b])] == [a_job]


def test_a_tenants_file_starts_while_another_tenants_four_connections_hang(monkeypatch, settings, tenant):
    """The issue's case without the database in the threads (the SQLite lane): B's four connections, one
    download each, all hanging; with four threads, B holds two and A's file starts at once."""
    settings.WHATSAPP_JOB_WORKERS, settings.WHATSAPP_JOB_PER_CONNECTION = 4, 1
    b_conns, a_conn = tenants(tenant, b_connections=4)
    b_jobs = [media_job(conn) for conn in b_conns]
    a_job = media_job(a_conn)
    release, a_done, started = threading.Event(), threading.Event(), []

    def fetch(job_id, **_):
        started.append(job_id)
        if job_id == a_job:
            a_done.set()
            return "stored"
        release.wait(60)  # B's provider hangs
        return "retry"

    monkeypatch.setattr(downloads, "media_download_run", fetch)
    runner = downloads.media_runner()
    try:
        downloads.media_downloads_run(runner=runner)
        assert a_done.wait(60)
        assert runner.busy_group(tenant.reseller.pk) == 2 and len(set(started) & set(b_jobs)) == 2
        # Another pass while B is still stuck starts nothing more of B's.
        downloads.media_downloads_run(runner=runner)
        assert len(set(started) & set(b_jobs)) == 2
    finally:
        release.set()
    assert runner.close(timeout=60) == []


def test_the_sender_limit_is_per_tenant_as_well_as_per_connection(monkeypatch, settings, tenant):
    settings.WHATSAPP_OUTBOX_WORKERS, settings.WHATSAPP_OUTBOX_PER_CONNECTION = 4, 2
    b_conns, a_conn = tenants(tenant, b_connections=2)
    b_msgs = [reply_job(conn, f"b{i}") for conn in b_conns for i in range(2)]
    a_msg = reply_job(a_conn, "a")
    release, a_sent, started = threading.Event(), threading.Event(), []

    def deliver(message_id, **_):
        started.append(message_id)
        if message_id == a_msg:
            a_sent.set()
            return "sent"
        release.wait(60)
        return "retry"

    monkeypatch.setattr(outbox, "message_deliver", deliver)
    sender = outbox.OutboxSender()
    assert (sender.per_connection, sender.per_tenant) == (2, 2)
    try:
        sender.tick(ignore_backoff=True)
        assert a_sent.wait(60)
        assert sender.runner.busy_group(tenant.reseller.pk) == 2 and len(set(started) & set(b_msgs)) == 2
    finally:
        release.set()
    assert sender.close(timeout=60) == []


# --- with the provider itself hanging (real threads, real database server) -------------------------


@pytest.mark.realserver  # the runner's threads claim and store at once: SQLite's in-memory test database refuses that
@pytest.mark.django_db(transaction=True)
def test_b_provider_hangs_and_a_media_and_reply_go_through_meanwhile(settings, tenant, fake):
    """Tenant B's provider holds every call of B's four connections; tenant A's photo is stored and its reply
    sent while B's calls are still held (asserted on the fake's held calls, not on time)."""
    settings.WHATSAPP_HTTP_TIMEOUT = 120.0  # B's calls stay held for as long as the test needs
    settings.WHATSAPP_JOB_WORKERS, settings.WHATSAPP_JOB_PER_CONNECTION = 4, 1
    settings.WHATSAPP_OUTBOX_WORKERS, settings.WHATSAPP_OUTBOX_PER_CONNECTION = 4, 2
    b_conns, a_conn = tenants(tenant, b_connections=4, api_base_url=fake.url + "/v21.0")
    for conn in b_conns:
        fake.hang(conn.access_token)
    b_jobs = [media_job(conn, fake) for conn in b_conns]
    b_msgs = [reply_job(conn, f"para B {i}") for i, conn in enumerate(b_conns)]

    runner, sender = downloads.media_runner(), outbox.OutboxSender()
    try:
        # B's files and replies come first, and B's provider holds each call: B takes its share of each
        # queue, two downloads and two sends, and no more (it has four connections).
        downloads.media_downloads_run(runner=runner)
        sender.tick(ignore_backoff=True)
        assert fake.wait_held(4, timeout=60)
        # Then tenant A's photo and reply arrive, and the worker's next passes run.
        a_job = media_job(a_conn, fake)
        a_msg = reply_job(a_conn, "para A")
        downloads.media_downloads_run(runner=runner)
        sender.tick(ignore_backoff=True)
        # B's jobs cannot end while held: the one job each runner sees end is A's.
        assert runner.wait_one(60) and sender.runner.wait_one(60)
        assert MediaDownload.objects.get(pk=a_job).state == "stored"
        assert Message.objects.get(pk=a_msg).delivery_status == "sent"
        assert [text for text in fake.texts() if text] == ["para A"]
        # ...while B's calls are still held, and B never took more than its share of either queue.
        assert fake.held() == 4
        assert runner.busy_group(tenant.reseller.pk) == 2 and sender.runner.busy_group(tenant.reseller.pk) == 2
        assert MediaDownload.objects.filter(pk__in=b_jobs, attempts=0).count() == 2
        assert Message.objects.filter(pk__in=b_msgs, attempts=0).count() == 2
    finally:
        fake.release()
        runner.close(timeout=60)
        sender.close(timeout=60)
