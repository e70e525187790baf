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


# The buckets, frozen (stored rollups count in them: never change them). Derived once from ERROR_BOUND:
# from lo = 0, each bucket [lo, hi] is the widest whose value (round(2·lo·c / (lo + c)), closest relatively
# to both ends) is within the bound of every whole second in it; the last one is open-ended and reported
# as its lower bound. Kept as literals because deriving them walks every second up to 90 days (seconds of
# CPU at every start of a process); tests/reports/test_rollups.py checks the literals against the bound.
BUCKET_LOWS: tuple[int, ...] = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    21,
    24,
    27,
    30,
    33,
    36,
    39,
    43,
    48,
    53,
    58,
    64,
    71,
    78,
    86,
    95,
    105,
    116,
    128,
    142,
    157,
    173,
    191,
    211,
    233,
    257,
    284,
    314,
    347,
    384,
    425,
    470,
    519,
    573,
    633,
    699,
    772,
    853,
    943,
    1043,
    1153,
    1274,
    1408,
    1556,
    1719,
    1899,
    2098,
    2318,
    2562,
    2832,
    3130,
    3459,
    3823,
    4226,
    4671,
    5163,
    5707,
    6308,
    6972,
    7706,
    8517,
    9413,
    10404,
    11499,
    12709,
    14047,
    15526,
    17161,
    18968,
    20965,
    23172,
    25611,
    28307,
    31287,
    34581,
    38222,
    42246,
    46693,
    51608,
    57041,
    63046,
    69683,
    77018,
    85125,
    94086,
    103990,
    114936,
    127034,
    140406,
    155186,
    171522,
    189577,
    209532,
    231588,
    255966,
    282910,
    312690,
    345605,
    381985,
    422194,
    466635,
    515754,
    570044,
    630049,
    696370,
    769672,
    850690,
    940236,
    1039208,
    1148598,
    1269503,
    1403135,
    1550833,
    1714078,
    1894507,
    2093929,
    2314343,
    2557958,
    2827216,
    3124817,
    3453745,
    3817297,
    4219117,
    4663234,
    5154101,
    5696638,
    6296284,
    6959051,
    7691583,
    8501224,
)
BUCKET_VALUE: tuple[int, ...] = (
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    22,
    25,
    28,
    31,
    34,
    37,
    40,
    45,
    50,
    55,
    60,
    67,
    74,
    81,
    90,
    99,
    110,
    121,
    134,
    149,
    164,
    181,
    200,
    221,
    244,
    269,
    298,
    329,
    364,
    403,
    446,
    493,
    544,
    601,
    664,
    733,
    810,
    895,
    990,
    1095,
    1210,
    1337,
    1478,
    1633,
    1804,
    1993,
    2202,
    2433,
    2690,
    2973,
    3286,
    3631,
    4014,
    4437,
    4904,
    5421,
    5992,
    6623,
    7320,
    8091,
    8942,
    9883,
    10924,
    12073,
    13344,
    14749,
    16302,
    18019,
    19916,
    22013,
    24330,
    26891,
    29722,
    32851,
    36310,
    40133,
    44358,
    49027,
    54188,
    59893,
    66198,
    73167,
    80868,
    89381,
    98790,
    109189,
    120682,
    133385,
    147426,
    162945,
    180098,
    199055,
    220008,
    243167,
    268764,
    297055,
    328324,
    362885,
    401084,
    443303,
    489966,
    541541,
    598546,
    661551,
    731188,
    808155,
    893224,
    987247,
    1091168,
    1206027,
    1332978,
    1473291,
    1628374,
    1799781,
    1989232,
    2198625,
    2430060,
    2685855,
    2968576,
    3281057,
    3626432,
    4008161,
    4430072,
    4896395,
    5411806,
    5981469,
    6611098,
    7307003,
    8076162,
    8501224,
)
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
