"""The app's clock: every timestamp IAZE writes is whole milliseconds, on every database profile.

MongoDB stores dates as BSON datetimes (milliseconds); SQLite and PostgreSQL keep microseconds.
Writing milliseconds everywhere makes the three profiles hold the same instant to the same digit,
so a value read back equals the value written, comparisons of stored times agree, and a backup
restored into another profile is identical row for row. App code calls `now()`, never
`timezone.now()` (tests/foundation/test_source_scan.py checks that).
"""

import threading
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
# Within this distance behind the last stamp, a stamp is moved just past it (see now()); a clock set
# further back (a test travelling in time, an NTP step) is taken as it is.
_SAME_MOMENT = timedelta(seconds=1)


def now() -> datetime:
    """timezone.now() to the millisecond: an aware UTC datetime, as the database will store it.

    Strictly increasing within a process while the clock runs: two rows written in the same
    millisecond (a webhook batch, a reply and its event) get stamps one millisecond apart, so ordering
    by time keeps the order in which they were written instead of falling back to their random ids.
    A clock that answers the very same microsecond twice is a frozen one (a test): taken as it is.
    """
    global _last, _last_raw
    raw = timezone.now()
    stamp = to_ms(raw)
    with _lock:
        frozen = raw == _last_raw
        if not frozen and _last is not None and _last - _SAME_MOMENT < stamp <= _last:
            stamp = _last + timedelta(milliseconds=1)
        _last, _last_raw = stamp, raw
    return stamp
