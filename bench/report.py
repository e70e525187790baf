"""The printed table and the JSON file of one run."""

from __future__ import annotations

import json
from pathlib import Path


def ratio(a, b):
    return round(a / b, 2) if a is not None and b else None


# Profiles whose times describe a test server, not the product: their time ratios are reported without a
# verdict (the mongodb profile runs on SecantusDB; bench/README.md). Query counts and memory still count.
UNTIMED_PROFILES = ("mongodb",)
TIMED = ("p50", "p99", "/s")


def target(results: dict, profile: str, name: str, value, limit, *, at_least: bool = False, unit: str = "×"):
    met = None if value is None else (value >= limit if at_least else value <= limit)
    if met is not None and profile in UNTIMED_PROFILES and any(k in name for k in TIMED):
        met = "info"
    results.setdefault("targets", []).append(
        {
            "profile": profile,
            "name": name,
            "value": value,
            "target": f"{'≥' if at_least else '≤'} {limit}{unit}",
            "met": met,
        }
    )


def print_table(results: dict) -> None:
    rows = results.get("rows", [])
    print()
    print(
        f"IAZE benchmark — {results['started_at']} — {results['machine']['cpus']} CPUs — "
        f"gunicorn {results['config']['workers']} × {results['config']['worker_class']} — "
        f"{results['config']['concurrency']} connections" + (" — QUICK RUN" if results["config"]["quick"] else "")
    )
    cols = ["profile", "scenario", "rate/s", "p50 ms", "p95 ms", "p99 ms", "queries", "notes"]
    table = [cols] + [[_fmt(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(cols))]
    for n, line in enumerate(table):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    if results.get("targets"):
        print("\nTargets (ratios against the same server's /healthz or bare webhook, measured in this run):")
        for t in results["targets"]:
            mark = {True: "met", False: "NOT MET", None: "not measured", "info": "no target"}[t["met"]]
            print(f"  [{mark:>12}] {t['profile']:<10} {t['name']:<52} {_fmt(t['value']):>10}  target {t['target']}")
    if results.get("where_time_goes"):
        print("\nWhere the time goes (same requests in-process, no network; pyinstrument reports beside the JSON):")
        for p in results["where_time_goes"]:
            print(
                f"  {p['profile']:<10} {p['name']:<40} {p['ms_per_request']:>8.1f} ms/request, "
                f"of which SQL {p['sql_ms_per_request']:.1f} ms in {p['queries_per_request']:g} queries"
            )
    for note in results.get("notes", []):
        print(f"  note: {note}")


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 100 else f"{value:.2f}"
    return str(value)


def write_json(results: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str, ensure_ascii=False))
    return path
