"""Real races on a real database server: two agents starting one contact's conversation at once, several
workers at one scheduled message's time, and the worker `make run` starts sending one at its time."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as dj

from iaze.lib import clock
from tests import factories as f
from tests.support.races import race, raise_first_error
from tickets import outbox, services
from tickets.models import Message, ScheduledMessage, Ticket, TicketEvent
from tickets.scheduled import scheduled_pass
from whatsapp.models import Connection

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def evo(tenant, fake):
    return f.make_connection(
        tenant.reseller, tenant.suporte, provider=Connection.Provider.EVOLUTION, key="race-evo", api_base_url=fake.url
    )


def test_two_agents_start_one_contacts_conversation_at_once_one_open_ticket(evo, agent1, agent2, fake):
    contact = f.make_client(evo.reseller, name="Carla")
    agents = [agent1, agent2] * 4  # eight requests, two agents

    def start(i):
        return services.conversation_start(user=agents[i], client=contact, connection=str(evo.pk), text=f"olá {i}")

    results = race(len(agents), start)

    winners = [r for r in results if isinstance(r, Ticket)]
    losers = [r for r in results if isinstance(r, services.AlreadyOpen)]
    assert len(winners) == 1 and len(losers) == len(agents) - 1, results
    ticket = Ticket.objects.get(client=contact)  # one ticket, open
    assert ticket.status == "open" and ticket.agent in (agent1, agent2)
    assert all(loser.ticket.pk == ticket.pk for loser in losers)
    assert Message.objects.filter(ticket=ticket).count() == 1  # the losers' texts are not sent
    assert TicketEvent.objects.filter(ticket=ticket, action="started").count() == 1
    outbox.send_pending()
    assert len(fake.calls) == 1


def test_eight_workers_at_the_scheduled_time_send_it_once(evo, agent1, fake):
    contact = f.make_client(evo.reseller, name="Carla")
    job = services.schedule_create(
        user=agent1, client=contact, send_at=clock.now() + timedelta(hours=1), text="lembrete"
    )
    outcomes = race(8, lambda i: scheduled_pass(now=job.send_at))
    raise_first_error(outcomes)
    assert sum(o["sent"] for o in outcomes) == 1
    raise_first_error(race(4, lambda i: outbox.send_pending()))
    job.refresh_from_db()
    assert job.state == "enviada" and job.attempts == 1
    assert Ticket.objects.filter(client=contact).count() == 1 and Message.objects.count() == 1
    assert fake.texts() == ["lembrete"]


@pytest.mark.slow
def test_the_worker_make_run_starts_sends_it_within_60_seconds_of_its_time(evo, agent1, fake):
    contact = f.make_client(evo.reseller, name="Carla")
    job = services.schedule_create(
        user=agent1, client=contact, send_at=clock.now() + timedelta(seconds=2), text="na hora certa"
    )
    db = dj.DATABASES["default"]
    env = {**os.environ, "WHATSAPP_HTTP_TIMEOUT": "10", "IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS": "1"}
    if dj.DB_PROFILE == "mongodb":
        env["MONGO_DB_NAME"] = db["NAME"]
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
        env.pop("MONGO_URL", None)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "send_outbox", "--loop"],  # the default interval, as make run starts it
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not fake.calls and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.1)
        assert fake.texts() == ["na hora certa"]
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    job = ScheduledMessage.objects.get(pk=job.pk)
    assert job.state == "enviada"
    assert job.send_at <= job.sent_at < job.send_at + timedelta(seconds=60)
    assert job.message.sent_at < job.send_at + timedelta(seconds=60)
