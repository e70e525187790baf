"""manage.py restore DIR [--merge] (docs/operations.md): load a backup into an empty database of any profile."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ops.backup import RestoreError, restore
from ops.management.commands.backup import ProgressLine


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup` into an empty database (any profile). "
        "--merge adds only the rows that are missing, by primary key, and never overwrites."
    )

    def add_arguments(self, parser):
        parser.add_argument("src", help="the backup directory (with manifest.json)")
        parser.add_argument("--merge", action="store_true", help="insert what is missing into a non-empty database")
        parser.add_argument("--database", default="default")

    def handle(self, *args, src, merge, database, **opts):
        self.stderr.write(f"restore ← {src}{' (merge)' if merge else ''}")
        try:
            report = restore(Path(src), alias=database, merge=merge, progress=ProgressLine(self.stderr))
        except RestoreError as exc:
            raise CommandError(str(exc)) from exc
        problems = report.pop("problems")
        for name, r in report.items():
            conflicts = f", {r['conflicts']} kept as they were (conflict)" if r["conflicts"] else ""
            self.stdout.write(f"{name}: {r['inserted']} inserted of {r['in_backup']}{conflicts}")
        if problems:
            raise CommandError("verification failed:\n" + "\n".join(problems))
        self.stdout.write("OK: every row of the backup is in the database and verified")
