"""Download the files of stored media messages: one pass (`send_outbox --loop` does this continuously)."""

from django.core.management.base import BaseCommand, CommandError

from tickets.media import downloads as media_downloads
from whatsapp import media_fetch as downloads
from whatsapp.models import Connection


class Command(BaseCommand):
    help = (
        "Fetch the files of inbound photos, voice notes, videos and documents that are still pending. "
        "One pass tries every pending download now; safe to run in several processes at once. "
        "--retry-failed first puts every failed download back in the queue."
    )

    def add_arguments(self, parser):
        parser.add_argument("--respect-backoff", action="store_true", help="skip downloads still waiting to retry")
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help="re-queue every failed download (with a fresh count of attempts) before the pass",
        )
        parser.add_argument(
            "--connection", metavar="KEY", help="with --retry-failed: only the failed downloads of this connection"
        )

    def handle(self, *args, respect_backoff=False, retry_failed=False, connection=None, **opts):
        if connection and not retry_failed:
            raise CommandError("--connection only applies with --retry-failed")
        if retry_failed:
            connection_id = None
            if connection:
                connection_id = Connection.objects.filter(key=connection).values_list("pk", flat=True).first()
                if connection_id is None:
                    raise CommandError(f"no connection with the key {connection!r}")
            moved = media_downloads.downloads_retry_failed(connection_id=connection_id)
            self.stdout.write(f"re-queued {moved} failed download(s)")
        counts = downloads.media_downloads_run(ignore_backoff=not respect_backoff, limit=None)
        self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
