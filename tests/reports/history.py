"""A hand-built history with known answers for the report tests (times in America/Sao_Paulo, UTC−3).

Range: Monday 2 to Wednesday 4 March 2026. Durations in seconds.

| ticket | opened (local)   | dept       | agent  | first reply | closed         | rating |
| T1     | Mon 10:00        | Suporte    | agent1 | +60         | +3600 (11:00)  | 5      |
| T2     | Mon 11:00        | Suporte    | agent1 | +120        | +7200 (13:00)  | 3      |
| T3     | Tue 09:00        | Suporte    | agent2 | +300        | still open     |        |
| T4     | Tue 23:30        | Suporte    | —      | none        | waiting        |        |
| T5     | Wed 08:00        | Financeiro | agent3 | +600        | +1800 (08:30)  |        |
| T6     | Sun 1st 20:00    | Suporte    | agent1 | none        | Mon 09:00 (+46800) |    |
The outsider tenant has two tickets in the same days, one rated 1: never counted.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

from tests import factories as f
from tickets import services
from tickets.models import Ticket

SP = ZoneInfo("America/Sao_Paulo")
MON = datetime(2026, 3, 2, tzinfo=SP)


@contextmanager
def clock(when: datetime):
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SP)


def ticket(conn, *, opened, client=None, agent=None, reply_after=None, close_after=None, closer=None, dept=None):
    with clock(opened):
        t = f.make_ticket(conn, client=client)
        if dept is not None:
            Ticket.objects.filter(pk=t.pk).update(department=dept)
            t.refresh_from_db()
        if agent is not None:
            t = services.ticket_claim(ticket=t, agent=agent)
    if reply_after is not None:
        with clock(opened + timedelta(seconds=reply_after)):
            services.ticket_reply(ticket=t, agent=agent, text="Olá, já vejo isso")
    if close_after is not None:
        with clock(opened + timedelta(seconds=close_after)):
            t = services.ticket_close(ticket=t, by=closer or agent)
    return Ticket.objects.get(pk=t.pk)


def rate(t, score):
    """The stored result of an accepted answer (the answer path itself is tested in test_satisfaction)."""
    Ticket.objects.filter(pk=t.pk).update(rating=score, rated_at=t.closed_at, rating_asked_at=t.closed_at)


def build(tenant, meta_conn, agent1, agent2, agent3, outsider):
    t = {}
    t["T1"] = ticket(meta_conn, opened=local(2, 10), agent=agent1, reply_after=60, close_after=3600)
    t["T2"] = ticket(meta_conn, opened=local(2, 11), agent=agent1, reply_after=120, close_after=7200)
    t["T3"] = ticket(meta_conn, opened=local(3, 9), agent=agent2, reply_after=300)
    t["T4"] = ticket(meta_conn, opened=local(3, 23, 30))
    t["T5"] = ticket(
        meta_conn, opened=local(4, 8), dept=tenant.financeiro, agent=agent3, reply_after=600, close_after=1800
    )
    t["T6"] = ticket(meta_conn, opened=local(1, 20), agent=agent1, close_after=13 * 3600)
    rate(t["T1"], 5)
    rate(t["T2"], 3)
    o1 = ticket(outsider.connection, opened=local(2, 10), agent=outsider.agent, reply_after=5, close_after=10)
    ticket(outsider.connection, opened=local(3, 10))
    rate(o1, 1)
    return t
