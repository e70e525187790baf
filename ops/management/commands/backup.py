"""manage.py backup --out DIR (docs/operations.md): a full, consistent copy of the protected data."""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import backup


class ProgressLine:
    """At most one progress line every `every` seconds per table, and one when a table is done."""

    def __init__(self, stream, every: float = 2.0):
        self.stream, self.every, self.last = stream, every, 0.0

    def __call__(self, table: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if finished or now - self.last >= self.every:
            self.last = now
            of = f"/{total}" if total is not None else ""
            self.stream.write(f"  {table}: {done}{of}{' ✓' if finished else ''}")


class Command(BaseCommand):
    help = "Write a portable, versioned backup of every protected table (plus the database's own copy) to DIR."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="a new or empty directory")
        parser.add_argument("--database", default="default")

    def handle(self, *args, out, database, **opts):
        self.stderr.write(f"backup → {out}")
        try:
            manifest = backup(Path(out), alias=database, progress=ProgressLine(self.stderr))
        except (FileExistsError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        counts = {t["name"]: t["count"] for t in manifest["tables"]}
        native = manifest["native"]
        self.stdout.write(
            json.dumps(
                {
                    "out": str(out),
                    "profile": manifest["profile"],
                    "counts": counts,
                    "native": native.get("file") or native.get("skipped", ""),
                    "seconds": manifest["seconds"],
                },
                indent=2,
            )
        )
