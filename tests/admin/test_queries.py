"""Admin lists cost the same number of queries for 1 row or 20: no query per row."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tests.admin.test_matrix import MODELS, _url
from tests.admin.world import build_side

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["admin_user", "reseller_user"])
def test_changelists_do_not_grow_with_rows(client, world, tenant, who):
    from tickets import services

    # Every relation a list shows is set on some row before the first count (a held ticket, an event
    # with an actor): on MongoDB a relation no row has costs no read (iaze/lib/related.py), so both
    # counts then compare the same reads and only the number of rows changes.
    services.ticket_claim(ticket=world.demo.ticket, agent=world.users["agent1"])
    services.ticket_claim(ticket=world.outra.ticket, agent=world.users["outsider_agent"])
    client.force_login(world.users[who])
    before = {label: _queries(client, _url(label, "changelist")) for label in MODELS}
    for n in range(6):
        dept = f.make_department(tenant.reseller, f"Extra {n}")
        agent = f.make_user(f"extra{n}@demo.local", reseller=tenant.reseller, departments=[dept])
        conn = f.make_connection(tenant.reseller, dept)
        side = build_side(
            reseller=tenant.reseller,
            department=dept,
            user=agent,
            connection=conn,
            client_name=f"Extra {n}",
            wa_id=f"55119777700{n:02d}",
        )
        services.ticket_claim(ticket=side.ticket, agent=agent)
    after = {label: _queries(client, _url(label, "changelist")) for label in MODELS}
    assert after == before
