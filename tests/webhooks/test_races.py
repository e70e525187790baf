"""Several workers delivering one tenant's events at once, on a real database server: each event is posted
once (the claim's lease), a ticket's events never out of order, and recorders racing write each event once."""

import json

import pytest

from tests import factories as f
from tests.support.races import race
from tests.webhooks.receiver import Receiver
from tickets.activity import ticket_change
from webhooks import services as hooks
from webhooks.delivery import deliveries_pass, webhook_runner
from webhooks.models import WebhookDelivery
from webhooks.recorder import record_pass

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]

WORKERS = 4


def test_workers_racing_deliver_each_event_once_in_order_per_ticket(tenant, meta_conn):
    with Receiver() as rx:
        hook = hooks.webhook_create(
            reseller=tenant.reseller, url=rx.url("/hook"), events=["ticket.transferred"], secret="s" * 20
        )[0]
        tickets = [f.make_ticket(meta_conn) for _ in range(3)]
        for n in range(120):
            ticket_change(tickets[n % 3].pk, action="transferred", data={"n": n})
        recorded = race(WORKERS, lambda _i: record_pass()["recorded"])
        assert sum(recorded) == 120 and WebhookDelivery.objects.filter(webhook=hook).count() == 120

        def work(_i):
            runner = webhook_runner(threads=2)
            for _pass in range(400):
                deliveries_pass(runner=runner, limit=20)
                runner.wait_one(1.0)
                pending = WebhookDelivery.objects.filter(webhook=hook, status=WebhookDelivery.Status.PENDING)
                if not pending.exists():
                    break
            runner.close()

        results = race(WORKERS, work)
        assert not [r for r in results if isinstance(r, BaseException)], results
    payloads = [json.loads(c.body) for c in rx.calls]
    assert len(payloads) == len({p["id"] for p in payloads}) == 120  # each once
    per_ticket: dict[str, list[int]] = {}
    for p in payloads:
        per_ticket.setdefault(p["data"]["ticket"]["id"], []).append(p["data"]["change"]["version"])
    assert all(v == sorted(v) for v in per_ticket.values())
