"""The background worker: `manage.py worker [--loop]` (also called `send_outbox`, the contract's name).

One process runs every background loop: the outbox (replies, templates, reactions), scheduled messages,
media downloads, gap recoveries, outgoing webhooks and the journal's replays. The contract names it after its
first job."""

import signal
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection, connections

from accounts import contact_import
from iaze.lib import sqlite_stats
from tickets import outbox, scheduled
from webhooks import delivery as webhook_delivery
from whatsapp import journal, recovery
from whatsapp import media_fetch as downloads


class Command(BaseCommand):
    # The name the worker's own lines start with (send_outbox keeps its own).
    label = "worker"
    help = (
        "Deliver queued WhatsApp replies. One pass queues the scheduled messages whose time has come, then tries "
        "every pending message now (a scheduled one only once its time has come); --loop keeps running, retries "
        "with backoff and also sends scheduled messages, downloads inbound media, runs gap recoveries and finishes "
        "contact imports. Safe to "
        "run in several processes at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep running (the worker of make run)")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between passes with --loop")

    def handle(self, *args, **opts):
        if not opts["loop"]:
            due = scheduled.scheduled_pass(limit=None)
            if any(due[k] for k in ("sent", "failed", "retry")):
                self.stdout.write("scheduled: " + " ".join(f"{k}={v}" for k, v in due.items()))
            counts = outbox.send_pending(ignore_backoff=True)
            self.stdout.write(" ".join(f"{k}={v}" for k, v in counts.items()))
            hooks = webhook_delivery.webhooks_pass(limit=None, ignore_backoff=True)
            if any(hooks.values()):
                self.stdout.write("webhooks: " + " ".join(f"{k}={v}" for k, v in sorted(hooks.items())))
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.work(stop, opts["interval"])

    def work(self, stop: threading.Event, interval: float) -> None:
        """The loop of `--loop` until `stop` is set. Media downloads and gap recoveries call providers that
        may be slow (a file server dripping bytes, a gateway paging through a long gap): each queue has a
        thread of its own that starts jobs on its runner's threads (at most a share per connection and per
        tenant), so the loop keeps starting due replies of every tenant meanwhile.

        Every loop and thread checks `stop`; what it is doing then ends as it would have (a provider call
        keeps its own deadline), for at most WHATSAPP_WORKER_STOP_SECONDS in all (see _stop)."""
        sender = outbox.OutboxSender(stopping=stop.is_set)
        media_runner = downloads.media_runner(stopping=stop.is_set)
        recovery_runner = recovery.recovery_runner(stopping=stop.is_set)
        scheduled_runner = scheduled.scheduled_runner(stopping=stop.is_set)
        webhook_runner = webhook_delivery.webhook_runner(stopping=stop.is_set)
        self.stdout.write(
            f"{self.label}: running, {sender.workers} sender(s), at most {sender.per_connection} per connection"
            f" and {sender.per_tenant} per tenant (Ctrl-C to stop)"
        )

        def side_job(name: str, job: Callable[[], dict], runner, every: float = interval) -> _SideJob:
            return _SideJob(name, job, stop, every, self.stdout, self.stderr, runner=runner)

        side = [
            # Photos, voice notes, videos and documents of stored messages (never fetched in the webhook).
            side_job("media", lambda: downloads.media_downloads_run(limit=50, runner=media_runner), media_runner),
            # Gap recoveries requested by a reconnection or an admin (whatsapp.recovery), never run in a webhook.
            side_job("recovery", lambda: recovery.recovery_pass(runner=recovery_runner), recovery_runner),
            # Scheduled messages whose send_at passed (Agendamentos): each queued once on the outbox, which the
            # loop below sends; a pass every interval, so at most a second or two after send_at.
            side_job("scheduled", lambda: scheduled.scheduled_pass(runner=scheduled_runner), scheduled_runner),
            # Outgoing webhooks: the tickets' changes recorded as events, then delivered (webhooks.delivery), on
            # threads of their own with a deadline each, so a slow receiver never holds up anything else.
            side_job("webhooks", lambda: webhook_delivery.webhooks_pass(runner=webhook_runner), webhook_runner),
            # What a contacts CSV import's request left (accounts.contact_import), a batch at a time.
            side_job("contacts", lambda: contact_import.contact_imports_pass(stopping=stop.is_set), None),
            # The embedded SQLite's planner statistics, at start and then hourly (iaze.lib.sqlite_stats).
            side_job("statistics", _statistics_pass, None, every=sqlite_stats.STATISTICS_INTERVAL),
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
            replayed = journal.webhook_events_replay_due(stopping=stop.is_set)
            if replayed:
                self.stdout.write("journal: " + " ".join(f"{k}={v}" for k, v in sorted(replayed.items())))
            stop.wait(interval)
        self._stop(side, [sender.runner, media_runner, recovery_runner, scheduled_runner, webhook_runner])

    def _stop(self, side: list["_SideJob"], runners: list) -> None:
        """Wait for the side threads and the jobs in flight until one shared deadline, then return whatever is
        still running: a job waiting on a provider keeps its lease, and the lease's expiry hands it to the
        next worker. Nothing here waits without a bound (the runners' threads are daemon threads), so the
        process ends at most WHATSAPP_WORKER_STOP_SECONDS after the signal, plus the current step's own deadline
        when the loop was itself in a call."""
        grace = float(getattr(settings, "WHATSAPP_WORKER_STOP_SECONDS", 20.0))
        deadline = time.monotonic() + grace
        self.stdout.write(f"{self.label}: stopping (at most {grace:g}s for the calls in flight)")

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        for job in side:
            job.join(timeout=left())
        unfinished = [pk for runner in runners for pk in runner.close(timeout=left())]
        stuck = [job.label for job in side if job.is_alive()]
        if unfinished or stuck:
            self.stdout.write(
                f"{self.label}: {len(unfinished)} job(s) still waiting on a provider"
                + (f", {', '.join(stuck)} pass still running" if stuck else "")
                + ": left to their leases"
            )
        self.stdout.write(f"{self.label}: stopped")
        self.stdout.flush()


def _statistics_pass() -> dict:
    sqlite_stats.statistics_refresh(connection)
    return {}  # nothing to report: an hourly line would only be noise


class _SideJob(threading.Thread):
    """One pass of a job, again and again, until the worker stops; a failed pass is reported and retried."""

    def __init__(
        self, name: str, job: Callable[[], dict], stop: threading.Event, interval: float, out, err, runner=None
    ):
        super().__init__(name=f"worker-{name}", daemon=True)
        self.label, self.job, self.stop, self.interval, self.out, self.err = name, job, stop, interval, out, err
        self.runner = runner

    def _pause(self) -> None:
        """Until the next pass: at once when one of the runner's jobs ends (its slot is free for the
        connection's next due job: a burst of 200 photos is not fetched at one per pass), else the interval."""
        started = time.monotonic()
        if self.runner is not None and self.runner.wait_one(self.interval):
            return
        left = self.interval - (time.monotonic() - started)
        if left > 0:
            self.stop.wait(left)

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
                self._pause()
        finally:
            if threading.current_thread() is self:
                connections.close_all()  # this thread's own database connections
