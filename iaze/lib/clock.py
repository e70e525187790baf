"""The app's clock: every timestamp IAZE writes is whole milliseconds, on every database profile.

MongoDB stores dates as BSON datetimes (milliseconds); SQLite and PostgreSQL keep microseconds.
Writing milliseconds everywhere makes the three profiles hold the same instant to the same digit,
so a value read back equals the value written, comparisons of stored times agree, and a backup
restored into another profile is identical row for row. App code calls `now()`, never
`timezone.now()` (tests/foundation/test_source_scan.py checks that).
"""

from datetime import datetime

from django.utils import timezone


def to_ms(value: datetime | None) -> datetime | None:
    """The same instant without its sub-millisecond digits (None stays None)."""
    if value is None or not value.microsecond % 1000:
        return value
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


def now() -> datetime:
    """timezone.now() to the millisecond: an aware UTC datetime, as the database will store it."""
    return to_ms(timezone.now())
