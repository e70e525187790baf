"""Deliver queued replies (the contract's `send_outbox [--loop]`)."""

import signal
import threading

from django.core.management.base import BaseCommand

from tickets import outbox
from whatsapp import downloads, journal, recovery


class Command(BaseCommand):
    help = (
        "Deliver queued WhatsApp replies. One pass tries every pending message now; "
        "--loop keeps running, retries with backoff and also downloads inbound media. "
        "Safe to run in several processes at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep running (the worker of make run)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes with --loop")

    def handle(self, *args, **opts):
        if not opts["loop"]:
            counts = outbox.send_pending(ignore_backoff=True)
            self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        sender = outbox.OutboxSender()
        self.stdout.write(
            f"send_outbox: running, {sender.workers} sender(s), at most {sender.per_connection} per connection"
            " (Ctrl-C to stop)"
        )
        while not stop.is_set():
            # Starts what is due without waiting for calls in flight: a slow connection holds only its own senders.
            sender.tick(ignore_backoff=False, limit=500)
            counts = sender.take_counts()
            if any(counts[k] for k in ("sent", "retry", "failed")):
                self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
            # Photos, voice notes, videos and documents of stored messages (never fetched in the webhook).
            fetched = downloads.media_downloads_run(limit=50)
            if any(fetched[k] for k in ("stored", "retry", "failed")):
                self.stdout.write("media: " + " ".join(f"{k}={v}" for k, v in fetched.items()))
            # Journal events left pending by a request that died, or receipts that overtook their message.
            replayed = journal.webhook_events_replay_due()
            if replayed:
                self.stdout.write("journal: " + " ".join(f"{k}={v}" for k, v in sorted(replayed.items())))
            # Gap recoveries requested by a reconnection or an admin (whatsapp.recovery), never run in a webhook.
            recovered = self._recover()
            if recovered:
                self.stdout.write("recovery: " + " ".join(f"{k}={v}" for k, v in sorted(recovered.items())))
            stop.wait(opts["interval"])
        sender.close()
        self.stdout.write("send_outbox: stopped")

    def _recover(self) -> dict:
        try:
            return recovery.recovery_pass()
        except Exception as exc:  # noqa: BLE001 - the worker keeps delivering replies whatever happens here
            self.stderr.write(f"recovery pass failed: {exc}")
            return {}
