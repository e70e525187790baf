"""persistence snapshot|verify: prove that nothing went backwards (counts of every protected table)."""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from iaze.lib import clock
from ops.backup.files import stored_file_problems
from ops.protected import count_name, protected_models
from tickets.models import Ticket, UIState


def take_counts() -> dict:
    """The contract's counts, and one for every other protected table (clients, ticket events...)."""
    counts: dict = {"tickets": {state.value: Ticket.objects.in_state(state).count() for state in UIState}}
    for model in protected_models():
        if model is not Ticket:
            counts[count_name(model)] = model._base_manager.count()
    counts["taken_at"] = clock.now().isoformat()
    return counts


def shortfalls(before: dict, now: dict) -> list[str]:
    """Tickets only move forward (espera → atendendo → finalizado); everything else only grows."""

    def t(counts, *states):
        return sum(int(counts.get("tickets", {}).get(s, 0)) for s in states)

    checks = [
        (
            "tickets (total)",
            t(before, "espera", "atendendo", "finalizado"),
            t(now, "espera", "atendendo", "finalizado"),
        ),
        ("tickets finalizado", t(before, "finalizado"), t(now, "finalizado")),
        ("tickets atendendo+finalizado", t(before, "atendendo", "finalizado"), t(now, "atendendo", "finalizado")),
    ]
    for key, value in before.items():
        if key not in ("tickets", "taken_at"):
            checks.append((key, int(value), int(now.get(key, 0))))
    return [f"{name}: {was} in the snapshot, {is_} now (-{was - is_})" for name, was, is_ in checks if is_ < was]


class Command(BaseCommand):
    help = (
        "snapshot: print (and write) the counts of protected data (media_files: stored files); "
        "verify FILE: exit 1 if any went backwards, or a recorded file is missing or changed."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        snap = sub.add_parser("snapshot")
        snap.add_argument("--out")
        ver = sub.add_parser("verify")
        ver.add_argument("file")

    def handle(self, *args, action, **opts):
        if action == "snapshot":
            counts = take_counts()
            text = json.dumps(counts, indent=2)
            if opts.get("out"):
                Path(opts["out"]).write_text(text + "\n")
            self.stdout.write(text)
            return
        try:
            before = json.loads(Path(opts["file"]).read_text())
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot read snapshot {opts['file']}: {exc}") from exc
        now = take_counts()
        problems = shortfalls(before, now) + stored_file_problems()
        if problems:
            for line in problems:
                self.stderr.write(f"SHORTFALL {line}")
            sys.exit(1)
        self.stdout.write(f"OK: nothing went backwards since {before.get('taken_at', '?')}")
