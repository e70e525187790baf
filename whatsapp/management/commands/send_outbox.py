"""Deliver queued replies (the contract's `send_outbox [--loop]`)."""

import signal
import threading
from collections.abc import Callable

from django.core.management.base import BaseCommand
from django.db import connections

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
        self.work(stop, opts["interval"])

    def work(self, stop: threading.Event, interval: float) -> None:
        """The loop of `--loop` until `stop` is set. Media downloads and gap recoveries call providers that
        may be slow (a file server dripping bytes, a gateway paging through a long gap): each runs on a
        thread of its own, so the loop keeps starting due replies of every tenant meanwhile."""
        sender = outbox.OutboxSender()
        self.stdout.write(
            f"send_outbox: running, {sender.workers} sender(s), at most {sender.per_connection} per connection"
            " (Ctrl-C to stop)"
        )

        def side_job(name: str, job: Callable[[], dict]) -> _SideJob:
            return _SideJob(name, job, stop, interval, self.stdout, self.stderr)

        side = [
            # Photos, voice notes, videos and documents of stored messages (never fetched in the webhook).
            side_job("media", lambda: downloads.media_downloads_run(limit=50)),
            # Gap recoveries requested by a reconnection or an admin (whatsapp.recovery), never run in a webhook.
            side_job("recovery", lambda: recovery.recovery_pass()),
        ]
        for job in side:
            job.start()
        while not stop.is_set():
            # Starts what is due without waiting for calls in flight: a slow connection holds only its own senders.
            sender.tick(ignore_backoff=False, limit=500)
            counts = sender.take_counts()
            if any(counts[k] for k in ("sent", "retry", "failed")):
                self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
            # Journal events left pending by a request that died, or receipts that overtook their message.
            replayed = journal.webhook_events_replay_due()
            if replayed:
                self.stdout.write("journal: " + " ".join(f"{k}={v}" for k, v in sorted(replayed.items())))
            stop.wait(interval)
        for job in side:
            # A pass still waiting on a provider is left to die with the process: its job is leased, and the
            # lease's expiry hands it to the next worker.
            job.join(timeout=10)
        sender.close()
        self.stdout.write("send_outbox: stopped")


class _SideJob(threading.Thread):
    """One pass of a job, again and again, until the worker stops; a failed pass is reported and retried."""

    def __init__(self, name: str, job: Callable[[], dict], stop: threading.Event, interval: float, out, err):
        super().__init__(name=f"send_outbox-{name}", daemon=True)
        self.label, self.job, self.stop, self.interval, self.out, self.err = name, job, stop, interval, out, err

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    counts = self.job()
                except Exception as exc:  # noqa: BLE001 - the worker keeps delivering replies whatever happens here
                    self.err.write(f"{self.label} pass failed: {exc}")
                else:
                    if any(v for k, v in counts.items() if k != "skipped"):
                        self.out.write(f"{self.label}: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
                self.stop.wait(self.interval)
        finally:
            if threading.current_thread() is self:
                connections.close_all()  # this thread's own database connections
