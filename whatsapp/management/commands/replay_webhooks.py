"""Re-process journal events: after a crash (pending), after a fix (--failed), or everything (--all)."""

from django.core.management.base import BaseCommand

from whatsapp import journal


class Command(BaseCommand):
    help = (
        "Process webhook journal events again. Default: events never finished (pending). "
        "Processing is idempotent: nothing is stored twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--failed", action="store_true", help="also events whose processing failed")
        parser.add_argument("--all", action="store_true", help="every event in the journal")
        parser.add_argument("--connection", help="only events of this connection key")

    def handle(self, *args, **opts):
        events = journal.webhook_events_to_replay(failed=opts["failed"], everything=opts["all"])
        if opts["connection"]:
            events = events.filter(connection__key=opts["connection"])
        counts = journal.webhook_events_replay(events.iterator())
        self.stdout.write("replayed " + (" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "nothing"))
