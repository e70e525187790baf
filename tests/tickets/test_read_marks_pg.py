"""The holder's read mark racing on a real PostgreSQL server: real threads released together, no sleeps."""

from datetime import timedelta

import pytest

from iaze.lib import clock
from tests import factories as f
from tests.support.races import race, raise_first_error
from tickets import services
from tickets.models import TicketRead

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]


def test_first_marks_racing_make_one_row_holding_the_newest(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    base = clock.now()
    stamps = [base + timedelta(milliseconds=i) for i in range(12)]
    # Two tabs and a live refresh of one holder mark at once, each with what it was shown.
    results = race(len(stamps), lambda i: services.ticket_read_mark(ticket=ticket, agent=agent1, upto=stamps[i]))
    raise_first_error(results)
    [mark] = TicketRead.objects.filter(ticket=ticket, agent=agent1)
    assert mark.read_upto == stamps[-1], "the mark never ends behind what was read"
    assert any(results)
