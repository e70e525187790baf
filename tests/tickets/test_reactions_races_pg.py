"""An agent's reaction is sent exactly once: real threads on a real database server (PostgreSQL, MongoDB)."""

import pytest

from tests import factories as f
from tests.fake_provider import FakeProvider
from tests.support.races import race, raise_first_error
from tickets import outbox, services
from tickets.models import Message

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]


def test_sixteen_clicks_store_one_reaction_and_four_workers_send_it_once(tenant, agent1, settings):
    settings.WHATSAPP_SEND_INLINE = False  # every send is left to the racing workers
    settings.WHATSAPP_HTTP_TIMEOUT = 5.0
    with FakeProvider(latency_ms=5) as fake:
        conn = f.make_connection(tenant.reseller, tenant.suporte, key="race-react", api_base_url=fake.url)
        ticket = f.make_ticket(conn, agent=agent1)
        asked = Message.objects.get(ticket=ticket, direction="in")

        def click(i):  # the same form posted 16 times at once; 4 other forms once each
            nonce = "same-click" if i < 16 else f"other-{i}"
            return services.ticket_react(ticket=ticket, agent=agent1, message=asked.pk, emoji="👍", nonce=nonce)

        clicks = race(20, click)
        raise_first_error(clicks)
        assert len({m.pk for m in clicks[:16]}) == 1
        assert Message.objects.filter(ticket=ticket, kind=Message.Kind.REACTION).count() == 5

        raise_first_error(race(4, lambda i: outbox.send_pending(ignore_backoff=True), join_timeout=300))
        assert len(fake.reactions()) == 5
    reactions = Message.objects.filter(ticket=ticket, kind=Message.Kind.REACTION)
    assert set(reactions.values_list("delivery_status", flat=True)) == {"sent"}
    assert reactions.values("provider_message_id").distinct().count() == 5
