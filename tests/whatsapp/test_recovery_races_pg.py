"""Recovery running several times at once, on a real PostgreSQL server: each message is stored once."""

import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from tests.support.races import race
from tests.whatsapp.test_recovery import record
from tickets.models import Message, Ticket
from whatsapp import health, recovery
from whatsapp.models import RecoveryRun

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]

THREADS = 8


def test_eight_recoveries_of_one_gap_at_once_store_each_message_once(evo_live, fake):
    now = int(time.time())
    fake.history = [
        record(f"3EB0RACE{c}{k}", f"55119700{c:05d}", f"cliente {c} mensagem {k}", now - 500 + 10 * k + c)
        for c in range(5)
        for k in range(4)
    ]
    since = timezone.now() - timedelta(hours=1)
    runs = [health.recovery_request(connection=evo_live, trigger="manual", since=since) for _ in range(THREADS)]
    results = race(THREADS, lambda i: recovery.recovery_run_now(runs[i]))
    assert not [r for r in results if isinstance(r, BaseException)], results

    assert Message.objects.count() == 20
    assert not Message.objects.values("provider_message_id").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Ticket.objects.count() == 5
    done = RecoveryRun.objects.filter(state="done")
    assert done.count() == THREADS
    assert sum(r.stored for r in done) == 20
    assert sum(r.stored + r.duplicates for r in done) == 20 * THREADS
    for ticket in Ticket.objects.all():  # each client's thread in the order they wrote
        texts = list(ticket.messages.order_by("provider_timestamp").values_list("text", flat=True))
        assert len(texts) == 4 and texts == sorted(texts)
