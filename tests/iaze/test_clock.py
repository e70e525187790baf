"""Every timestamp the app writes is whole milliseconds, so the three database profiles agree
(MongoDB's BSON dates hold milliseconds; SQLite and PostgreSQL would keep microseconds)."""

import ast
from datetime import UTC, datetime

import pytest

from iaze.lib import clock
from tests import factories as f
from tests.iaze.test_source_scan import ROOT, project_python_files
from tickets import services
from tickets.models import Ticket


def test_now_is_aware_and_whole_milliseconds():
    now = clock.now()
    assert now.tzinfo is not None and now.microsecond % 1000 == 0
    assert clock.to_ms(datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)).microsecond == 678000
    assert clock.to_ms(None) is None


def _clock_calls(source: str) -> list[int]:
    """Lines calling timezone.now / datetime.now / datetime.utcnow, or passing timezone.now itself."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("now", "utcnow")
            and isinstance(node.value, ast.Name)
            and node.value.id in ("timezone", "datetime")
        ):
            found.append(node.lineno)
    return found


def test_app_code_reads_the_time_from_the_clock_only():
    offenders = []
    for rel in project_python_files():
        if rel.parts[0] == "bench" or rel.as_posix() == "iaze/lib/clock.py":
            continue  # the benchmark harness writes its own rows; the clock itself
        offenders += [f"{rel}:{line}" for line in _clock_calls((ROOT / rel).read_text())]
    assert not offenders, "use iaze.lib.clock.now() (milliseconds on every profile):\n" + "\n".join(offenders)


@pytest.mark.django_db
def test_stored_timestamps_read_back_exactly(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn)
    ticket = services.ticket_claim(ticket=ticket, agent=agent1)
    stored = Ticket.objects.get(pk=ticket.pk)
    for name in ("created_at", "updated_at", "claimed_at", "last_message_at"):
        value = getattr(stored, name)
        assert value is not None and value.microsecond % 1000 == 0, name
    assert stored.claimed_at == ticket.claimed_at and stored.created_at == ticket.created_at


def test_stamps_written_in_the_same_millisecond_keep_their_order(monkeypatch):
    from datetime import UTC, datetime

    from django.utils import timezone

    from iaze.lib import clock

    ticks = iter(range(5))
    # A running clock inside one millisecond: 123.456 ms, 123.457 ms, ...
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 5, 1, 12, 0, 0, 123456 + next(ticks), tzinfo=UTC))
    stamps = [clock.now() for _ in range(5)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 5
    assert all(s.microsecond % 1000 == 0 for s in stamps)
    # A frozen clock (a test's) answers the same instant every time, as it is.
    fixed = datetime(2026, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    assert {clock.now() for _ in range(3)} == {datetime(2026, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)}
    # A clock set well back (a test travelling in time) is taken as it is.
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 4, 1, tzinfo=UTC))
    assert clock.now() == datetime(2026, 4, 1, tzinfo=UTC)


def test_a_burst_faster_than_a_millisecond_a_stamp_never_steps_back(monkeypatch):
    """3,000 stamps in 3 ms of wall time: strictly increasing for the first second ahead, then held, never back."""
    from datetime import UTC, datetime, timedelta
    from itertools import pairwise

    from django.utils import timezone

    from iaze.lib import clock

    start = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)
    ticks = iter(range(10_000))
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(microseconds=next(ticks)))
    stamps = [clock.now() for _ in range(3000)]
    assert all(a <= b for a, b in pairwise(stamps))
    assert all(a < b for a, b in pairwise(stamps[:1001]))
    assert stamps[-1] - start <= timedelta(seconds=1, milliseconds=3)  # never far in the future
    # The wall clock going back by more than a second is a clock set back: taken as it is.
    monkeypatch.setattr(timezone, "now", lambda: start - timedelta(seconds=5))
    assert clock.now() == start - timedelta(seconds=5)


def test_the_same_microsecond_read_twice_after_a_burst_never_steps_back(monkeypatch):
    """A running clock can answer the same microsecond to two reads in a row (created_at, then updated_at).
    Taking that for a frozen clock once stepped the stamps back below those a burst had ticked ahead, so a
    thread's messages could swap places (the earlier-messages page showed a message of the next page)."""
    from datetime import UTC, datetime, timedelta
    from itertools import pairwise

    from django.utils import timezone

    from iaze.lib import clock

    start = datetime(2026, 8, 1, 12, 0, 0, tzinfo=UTC)
    reads = iter([0, 1, 2, 3, 4, 4, 5, 6, 6, 7])  # µs: a burst, with two repeated reads
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(microseconds=next(reads)))
    stamps = [clock.now() for _ in range(10)]
    assert all(a < b for a, b in pairwise(stamps)), stamps


def test_reading_another_source_and_back_to_the_wall_clock():
    from datetime import UTC, datetime

    from iaze.lib import clock as app_clock

    past = datetime(2026, 1, 5, 9, 30, 0, 123456, tzinfo=UTC)
    with app_clock.reading(lambda: past):
        assert app_clock.now() == past.replace(microsecond=123000)
    assert app_clock.now().year >= 2026 and app_clock.now() > past
