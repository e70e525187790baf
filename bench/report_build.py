"""In-process measure of the report at two sizes: `python -m bench.report_build [1000 100000]`.

Builds reports.figures.build() for the bench tenant over the 41-day range of bench/reports_bench.py
(every seeded ticket inside it), at each size in turn (tickets seeded in bulk, without messages), and
prints the median build time of 5 runs after one warm-up, and the number of queries of one build, the path
`figures.build` took (exact from the tickets up to EXACT_MAX tickets in range, else the per-day rollups),
the median of 5 builds forced onto the exact path (the cost without rollups), and the rollup rows.
Database: DATABASE_URL's server with Django's test-database machinery (a `test_<name>` scratch
database, dropped at the end), or a fresh SQLite file under DATA_DIR. Nothing is served.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from datetime import timedelta


def measure(sizes: list[int]) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Reseller
    from bench import seeding
    from iaze.lib import clock
    from reports import figures
    from tickets.models import ReportRollup

    reseller = Reseller.objects.get(slug="demo")
    tz = figures.reseller_timezone(reseller)
    today = clock.now().astimezone(tz).date()
    scope = figures.Scope(reseller=reseller, tz=tz, first_day=today - timedelta(days=40), last_day=today + timedelta(1))
    out = []
    for size in sizes:
        seeding.seed_queue(total=size, connection_key="demo-meta", per_ticket=0)
        figures.build(scope)  # warm-up
        with CaptureQueriesContext(connection) as ctx:
            report = figures.build(scope)
        runs, exact = [], []
        for _ in range(5):
            t0 = time.perf_counter()
            figures.build(scope)
            runs.append((time.perf_counter() - t0) * 1000)
        figures.build(scope, exact=True)  # warm-up
        for _ in range(5):
            t0 = time.perf_counter()
            figures.build(scope, exact=True)
            exact.append((time.perf_counter() - t0) * 1000)
        out.append(
            {
                "vendor": connection.vendor,
                "tickets": size,
                "opened_in_range": report.opened,
                "build_ms_p50": round(statistics.median(runs), 1),
                "build_ms_min": round(min(runs), 1),
                "queries": len(ctx.captured_queries),
                "path": "exact" if report.opened + report.closed <= figures.EXACT_MAX else "rollups",
                "exact_ms_p50": round(statistics.median(exact), 1),
                "rollup_rows": ReportRollup.objects.filter(reseller=reseller).count(),
            }
        )
        print(json.dumps(out[-1]), flush=True)
    return out


def main() -> None:
    from bench import tasks

    tasks._django()
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 100_000]
    from django.core.management import call_command
    from django.db import connection

    server = connection.vendor != "sqlite"
    if server:  # test_<NAME>: made and dropped by Django's test-database machinery, never NAME itself
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    else:
        call_command("migrate", verbosity=0, interactive=False)
    try:
        tasks.seed_tenant(api_base="http://127.0.0.1:1", extra_agents=0)
        measure(sizes)
    finally:
        if server:
            connection.creation.destroy_test_db(str(connection.settings_dict["NAME"]), verbosity=0)


if __name__ == "__main__":
    main()
