"""Download the files of stored media messages: one pass (`send_outbox --loop` does this continuously)."""

from django.core.management.base import BaseCommand

from whatsapp import downloads


class Command(BaseCommand):
    help = (
        "Fetch the files of inbound photos, voice notes, videos and documents that are still pending. "
        "One pass tries every pending download now; safe to run in several processes at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--respect-backoff", action="store_true", help="skip downloads still waiting to retry")

    def handle(self, *args, respect_backoff=False, **opts):
        counts = downloads.media_downloads_run(ignore_backoff=not respect_backoff, limit=None)
        self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
