"""Per-day rollups of the report's figures: one row per (reseller, local day, department, agent, connection).

The report page (reports.figures) reads these rows instead of the tickets, so its cost grows with
days × departments × agents × connections, never with tickets. Each row holds plain counters and,
for the percentiles, two histograms of durations in fixed buckets (`fr_NNN` first response,
`res_NNN` resolution), one integer column per bucket: every change is one `F()` increment of a few
columns of one row, on every database profile (no JSON read-modify-write).

A ticket counts in the row of its *current* department, agent and connection (as the exact figures
did): opened, first response and the hour of opening on its local opening day; closed, resolution,
rating asked and rating on its local closing day; claimed on the local day of its latest claim
(Assumir or a transfer to an agent). `tickets.services.rollups` keeps the rows (see docs/reports.md).

The buckets are frozen: stored counts refer to them. Seconds 0–18 have one bucket each (exact); above,
each bucket [lo, hi] is as wide as it can be while one integer value in it is within 5 % of every
value of the bucket; that value (`BUCKET_VALUE`) stands for the bucket in a percentile. The last
bucket is open-ended (about 98 days and more) and reported as its lower bound.
"""

from __future__ import annotations

from bisect import bisect_right

from django.db import models
from django.utils.translation import gettext_lazy as _

from iaze.lib.models import BaseModel

ERROR_BOUND = 0.05
_TOP = 90 * 86400


def _buckets() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(lower bounds, representative values), computed once from ERROR_BOUND: never change them."""
    lows: list[int] = []
    values: list[int] = []
    lo = 0
    while lo <= _TOP:
        hi, best = lo, lo
        while lo:
            c = hi + 1
            rep = round(2 * lo * c / (lo + c))  # the value closest, relatively, to both ends
            if max((rep - lo) / lo, (c - rep) / c) > ERROR_BOUND:
                break
            hi, best = c, rep
        lows.append(lo)
        values.append(best)
        lo = hi + 1
    lows.append(lo)
    values.append(lo)  # open-ended: reported as its lower bound
    return tuple(lows), tuple(values)


BUCKET_LOWS, BUCKET_VALUE = _buckets()
BUCKETS = len(BUCKET_LOWS)


def bucket(seconds: int) -> int:
    """The bucket of a duration in whole seconds."""
    return bisect_right(BUCKET_LOWS, max(0, seconds)) - 1


COUNTERS = ("opened", "claimed", "closed", "responded", "resolved", "asked")
RATED = tuple(f"rated_{score}" for score in range(1, 6))
HOURS = tuple(f"h_{hour:02d}" for hour in range(24))  # opened per local hour of the day
FIRST_RESPONSE = tuple(f"fr_{i:03d}" for i in range(BUCKETS))
RESOLUTION = tuple(f"res_{i:03d}" for i in range(BUCKETS))
COLUMNS = (*COUNTERS, *RATED, *HOURS, *FIRST_RESPONSE, *RESOLUTION)


class ReportRollup(BaseModel):
    """Derived from tickets (rebuilt by `manage.py rebuild_report_rollups`); never deleted, only counted."""

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    connection = models.ForeignKey("whatsapp.Connection", on_delete=models.PROTECT, related_name="+")
    # A row of the unassigned (espera) tickets has no agent; NULLs are distinct in a unique index, so the
    # key holds this text copy of the agent id ("" for none) to make (…, agent) unique on every profile.
    agent_key = models.CharField(max_length=36, blank=True)

    class Meta:
        db_table = "report_rollups"
        verbose_name = _("consolidado diário do relatório")
        verbose_name_plural = _("consolidados diários do relatório")
        constraints = [
            models.UniqueConstraint(
                fields=["reseller", "day", "department", "agent_key", "connection"], name="report_rollup_key"
            )
        ]
        indexes = [models.Index(fields=["reseller", "day"], name="report_rollup_range")]

    def __str__(self):
        return f"{self.reseller_id} {self.day} {self.department_id} {self.agent_key or '-'} {self.connection_id}"


for _column in COLUMNS:
    # Signed: a transfer moves a ticket's counts with a -1 and a +1, and a drifted row must not fail a service.
    ReportRollup.add_to_class(_column, models.IntegerField(default=0))
