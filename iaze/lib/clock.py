"""The app's clock: every timestamp IAZE writes is whole milliseconds, on every database profile.

MongoDB stores dates as BSON datetimes (milliseconds); SQLite and PostgreSQL keep microseconds.
Writing milliseconds everywhere makes the three profiles hold the same instant to the same digit,
so a value read back equals the value written, comparisons of stored times agree, and a backup
restored into another profile is identical row for row. App code calls `now()`, never
`timezone.now()` (tests/iaze/test_source_scan.py checks that).
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.utils import timezone


def to_ms(value: datetime | None) -> datetime | None:
    """The same instant without its sub-millisecond digits (None stays None)."""
    if value is None or not value.microsecond % 1000:
        return value
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


_lock = threading.Lock()
_last: datetime | None = None
_last_raw: datetime | None = None
# How far the stamps may run ahead of the wall clock (see now()), and how far back the raw clock must go
# to be taken as set back (a test travelling in time, an NTP step) rather than as jitter.
_SAME_MOMENT = timedelta(seconds=1)
_TICK = timedelta(milliseconds=1)


def _wall() -> datetime:
    return timezone.now()  # looked up at each call: tests that freeze Django's clock freeze this one too


_source: Callable[[], datetime] = _wall


@contextmanager
def reading(source: Callable[[], datetime]) -> Iterator[None]:
    """While entered, `now()` reads `source` instead of the wall clock: the demo seeder's week in the past
    (ops/demo_conversations.py), written through the same services as live traffic. The process's clock:
    for a command's own process only, never a server's."""
    global _source
    before, _source = _source, source
    try:
        yield
    finally:
        _source = before


def now() -> datetime:
    """timezone.now() to the millisecond: an aware UTC datetime, as the database will store it.

    Never steps back within a process while the clock runs, and strictly increasing at up to a
    thousand stamps a second: two rows written in the same millisecond (a webhook batch, a reply and
    its event) get stamps one millisecond apart, so ordering by time keeps the order in which they
    were written instead of falling back to their random ids. A faster burst runs ahead of the wall
    clock by at most a second; there the stamp holds (equal, never earlier) until the wall clock
    catches up, so no stamp is ever far in the future. A raw clock set back by more than a second
    starts again from it; one that answers the very same microsecond twice is a frozen one (a test):
    its stamp is repeated, never one below a stamp already given.
    """
    global _last, _last_raw
    raw = _source()
    stamp = to_ms(raw)
    with _lock:
        frozen = raw == _last_raw
        set_back = _last_raw is not None and raw < _last_raw - _SAME_MOMENT
        # A frozen clock repeats its stamp; but the same microsecond read twice by a running clock (two
        # stamps in a row on a fast machine) must not step back below a stamp already ticked ahead of it.
        behind = _last is not None and (stamp < _last or (stamp == _last and not frozen))
        if not set_back and behind:
            stamp = _last + _TICK if _last - stamp < _SAME_MOMENT else _last
        _last, _last_raw = stamp, raw
    return stamp
