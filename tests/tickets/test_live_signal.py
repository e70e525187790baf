"""The database wakes the live reader for each committed change (iaze.lib.live_signal): PostgreSQL's
LISTEN/NOTIFY, MongoDB's change streams. The reader here never polls on its own (its interval is an hour),
so a change reaches the stream only through the signal; each wait is a bound, not a timing."""

import asyncio
import time

import pytest

from iaze.lib import live_signal
from tests import factories as f
from tickets import services
from tickets.models import TicketEvent
from tickets.reads.live import Hub

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 20.0


def _stopped(live: Hub) -> None:
    live.end_all()
    deadline = time.monotonic() + WAIT
    while (thread := live._thread) is not None and thread.is_alive() and time.monotonic() < deadline:
        live.kick()
        thread.join(0.05)
    assert live._thread is None, "the reader did not stop"
    assert not live.signalled()


@pytest.mark.realserver
def test_a_change_reaches_the_reader_through_the_database_signal_alone(settings, world):
    settings.LIVE_SAFETY_POLL_SECONDS = 3600
    live = Hub(poll=None)
    settings.LIVE_POLL_SECONDS = 3600
    loop = asyncio.new_event_loop()
    sub = live.subscribe([world.t["espera"].reseller_id], loop)
    try:
        _until(live.signalled, "a signal to listen to")
        _quiet(live)
        services.ticket_claim(ticket=world.t["espera"], agent=world.agent1)  # no kick: only the signal wakes it
        deadline = time.monotonic() + WAIT
        while not sub.pending():
            assert time.monotonic() < deadline, "the change never reached the stream"
            time.sleep(0.02)
        (change,) = sub.take()
        assert change.ticket_id == world.t["espera"].pk and change.action == TicketEvent.Action.CLAIMED
    finally:
        live.unsubscribe(sub)
        _stopped(live)
        loop.close()


def test_the_embedded_database_has_no_signal_and_the_reader_polls(settings, meta_conn):
    if live_signal.vendor() != "sqlite":
        pytest.skip("by design: the SQLite lane (PostgreSQL and MongoDB give a signal)")
    settings.LIVE_POLL_SECONDS = 0.05
    live = Hub(poll=None)
    loop = asyncio.new_event_loop()
    sub = live.subscribe([meta_conn.reseller_id], loop)
    try:
        with live.paused():
            f.make_ticket(meta_conn)
        deadline = time.monotonic() + WAIT
        while not sub.pending():
            assert time.monotonic() < deadline, "the reader never polled"
            time.sleep(0.02)
        assert not live.signalled() and live._interval() == 0.05
    finally:
        live.unsubscribe(sub)
        _stopped(live)
        loop.close()


@pytest.mark.realserver
def test_a_lost_listening_connection_is_replaced(settings, world, monkeypatch):
    if live_signal.vendor() != "postgresql":
        pytest.skip("by design: the postgresql lane (its listening connection can be cut from another)")
    from django.db import connection

    from tickets.reads import live as live_module

    monkeypatch.setattr(live_module, "RELISTEN", 0.0)
    settings.LIVE_SAFETY_POLL_SECONDS = 3600
    settings.LIVE_POLL_SECONDS = 3600
    live = Hub(poll=None)
    loop = asyncio.new_event_loop()
    sub = live.subscribe([world.t["espera"].reseller_id], loop)
    try:
        _until(live.signalled, "the first listener")
        first = live._listener
        with connection.cursor() as cursor:  # a database restart, as the listener sees it
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s AND pid <> pg_backend_pid()",
                [f"LISTEN {live_signal.CHANNEL}"],
            )
            assert cursor.fetchone() is not None
        _until(lambda: not first.listening, "the cut to be seen")
        _until(lambda: (live.kick() or live.signalled()) and live._listener is not first, "a new listener")
        _quiet(live)
        services.ticket_claim(ticket=world.t["espera"], agent=world.agent1)  # no kick: only the new signal
        _until(sub.pending, "the change through the new listener")
    finally:
        live.unsubscribe(sub)
        _stopped(live)
        loop.close()


def _until(condition, what):
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _quiet(live: Hub) -> None:
    """No read pending or running: the kick that starting a listener gives is spent, its read is over."""
    _until(lambda: not live._kick.is_set(), "the reader to take its kick")
    with live.paused():
        pass
