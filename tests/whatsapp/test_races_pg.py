"""Real races on a real database server (PostgreSQL, MongoDB): many webhook and outbox workers, real threads."""

import random

import pytest
from django.db.models import Count
from django.test import Client as HttpClient

from accounts.models import Client
from tests import factories as f
from tests.support.races import race, raise_first_error
from tests.support.webhooks import meta_text, raw_json, sign, webhook_url
from tickets import outbox
from tickets import services as ticket_services
from tickets.models import Message, Ticket
from whatsapp.models import WebhookEvent

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]


def test_16_workers_deliver_200_events_shuffled_with_duplicates(meta_conn):
    events = []
    for c in range(40):
        for k in range(5):
            body = meta_text(
                meta_conn,
                wa_id=f"55119{c:08d}",
                message_id=f"wamid.race{c:03d}{k}",
                text=f"cliente {c} mensagem {k}",
                name=f"Cliente {c}",
                ts=1750000000 + k,
            )
            events.append(raw_json(body))
    rng = random.Random(2026)
    deliveries = events + rng.sample(events, 150) + rng.sample(events, 50)
    rng.shuffle(deliveries)
    url, secret = webhook_url(meta_conn), meta_conn.app_secret
    statuses = []

    def work(i):
        http = HttpClient()
        for raw in deliveries[i::16]:
            r = http.post(url, data=raw, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=sign(secret, raw))
            statuses.append(r.status_code)

    raise_first_error(race(16, work, join_timeout=300))
    assert statuses == [200] * len(deliveries)
    assert Message.objects.count() == 200
    assert WebhookEvent.objects.count() == 200
    assert Client.objects.count() == 40
    assert Ticket.objects.count() == 40
    per_client = Ticket.objects.values("client").annotate(n=Count("id"))
    assert {row["n"] for row in per_client} == {1}
    assert not Message.objects.values("ticket").annotate(n=Count("id")).exclude(n=5).exists()


def test_same_delivery_five_times_three_concurrently(meta_conn):
    raw = raw_json(meta_text(meta_conn, text="só uma vez"))
    url, headers = webhook_url(meta_conn), {"HTTP_X_HUB_SIGNATURE_256": sign(meta_conn.app_secret, raw)}
    answers = []

    def work(i):
        answers.append(HttpClient().post(url, data=raw, content_type="application/json", **headers).status_code)

    raise_first_error(race(3, work, join_timeout=300))
    for _ in range(2):
        answers.append(HttpClient().post(url, data=raw, content_type="application/json", **headers).status_code)
    assert answers == [200] * 5
    assert WebhookEvent.objects.count() == 1 and Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_four_outbox_workers_never_send_a_message_twice(tenant, agent1, settings):
    from tests.fake_provider import FakeProvider

    settings.WHATSAPP_HTTP_TIMEOUT = 5.0
    with FakeProvider(latency_ms=5) as fake:
        conn = f.make_connection(tenant.reseller, tenant.suporte, key="race-out", api_base_url=fake.url)
        ticket = f.make_ticket(conn, agent=agent1)
        for i in range(40):
            ticket_services.ticket_reply(ticket=ticket, agent=agent1, text=f"resposta {i}")

        raise_first_error(race(4, lambda i: outbox.send_pending(ignore_backoff=True), join_timeout=300))
        assert sorted(fake.texts()) == sorted(f"resposta {i}" for i in range(40))
    assert set(Message.objects.filter(direction="out").values_list("delivery_status", flat=True)) == {"sent"}
    assert Message.objects.filter(direction="out").values("provider_message_id").distinct().count() == 40


@pytest.mark.slow
def test_send_outbox_loop_delivers_and_stops_cleanly_on_sigterm(tenant, agent1):
    """The worker `make run` starts, as a real process against the test database."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.conf import settings as dj

    from tests.fake_provider import FakeProvider

    db = dj.DATABASES["default"]
    root = Path(__file__).resolve().parents[2]
    with FakeProvider() as fake:
        conn = f.make_connection(tenant.reseller, tenant.suporte, key="loop-meta", api_base_url=fake.url)
        ticket = f.make_ticket(conn, agent=agent1)
        for i in range(3):
            ticket_services.ticket_reply(ticket=ticket, agent=agent1, text=f"no laço {i}")
        env = {**os.environ, "WHATSAPP_HTTP_TIMEOUT": "10", "IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS": "1"}
        if dj.DB_PROFILE == "mongodb":
            env["MONGO_DB_NAME"] = db["NAME"]  # the test database on the lane's server (MONGO_URL)
        else:
            env["DATABASE_URL"] = (
                f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
            )
            env.pop("MONGO_URL", None)
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "send_outbox", "--loop", "--interval", "0.2"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while len(fake.calls) < 3 and time.monotonic() < deadline and worker.poll() is None:
                time.sleep(0.1)
            assert sorted(fake.texts()) == ["no laço 0", "no laço 1", "no laço 2"]
        finally:
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0 and "stopped" in output
    assert set(Message.objects.filter(direction="out").values_list("delivery_status", flat=True)) == {"sent"}
