"""GET /eventos/ (CONTRACT §7): the user's Server-Sent Events stream, read through Django's ASGI test client.

Changes are made in the test's thread; the process's reader thread (tickets.reads.live) hands them to the
stream, read here on an event loop of the test's own. The reader reads when kicked rather than on its
timer, and the test's writes hold it off (`hub().paused()`): the tests' in-memory SQLite refuses a write
while another thread reads ("table is locked"), where a real database file waits. A stream opens with the
reader stopped (its opening writes the session and the first presence stamp), and presence is written
only for a user never seen (WRITE_EVERY is long here), so the reader and the streams only ever read.
Every wait is for a condition, with a generous timeout; nothing asserts on elapsed time. Real servers on
their timer, across two processes: tests/ops/test_live_processes.py."""

import asyncio
import json
import time
from datetime import timedelta

import pytest
from django.db import connections
from django.test import AsyncClient

from accounts import presence
from accounts.models import User
from tests import factories as f
from tickets import services
from tickets.reads.live import hub

pytestmark = pytest.mark.django_db(transaction=True)
WAIT = 15.0


@pytest.fixture(autouse=True)
def quick(settings, monkeypatch, transactional_db):  # set up after the database, so torn down before its flush
    settings.LIVE_POLL_SECONDS = 3600  # read when kicked (see above)
    settings.LIVE_RECHECK_SECONDS = 0.1
    # A stamp is written once, when its user's first stream opens; never by the reader's check (see above).
    monkeypatch.setattr(presence, "WRITE_EVERY", timedelta(hours=1))
    # Per-step connections, as under a real ASGI server (iaze/settings.py): the stream's steps run in
    # threads of each test loop's executor, whose kept connections would outlive them and keep the
    # PostgreSQL test database from being dropped at the end ("being accessed by other users").
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)
    yield
    # So that the test's database is emptied (a write) with no read of it in flight from the reader.
    hub().end_all()
    reader_stopped()


def reader_stopped() -> None:
    """Wait for the reader thread to stop: it does once no stream is left, when it is kicked awake."""
    live = hub()
    deadline = time.monotonic() + WAIT
    while (thread := live._thread) is not None and thread.is_alive():
        assert time.monotonic() < deadline, "the reader thread did not stop"
        live.kick()
        thread.join(0.05)


class Stream:
    """One open /eventos/ response, read event by event."""

    def __init__(self, user, last_id=None):
        # Its opening writes (the session, the user's last login and first presence stamp): none beside a
        # read of the reader's. The tests here hold one stream at a time.
        assert not hub().subscribers(), "one stream at a time"
        reader_stopped()
        self.loop = asyncio.new_event_loop()
        client = AsyncClient()
        client.force_login(user)
        headers = {"Last-Event-ID": last_id} if last_id else {}
        self.response = self.loop.run_until_complete(client.get("/eventos/", headers=headers))
        (self.sub,) = hub()._subs
        self.chunks = aiter(self.response.streaming_content)
        self.buffer = ""

    def _more(self) -> bool:
        hub().kick()
        try:
            chunk = self.loop.run_until_complete(asyncio.wait_for(anext(self.chunks), WAIT))
        except StopAsyncIteration:
            return False
        self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        return True

    def next_event(self) -> dict:
        """The next event with data (comments and retry lines skipped): {"id", **data}."""
        deadline = time.monotonic() + WAIT
        while True:
            assert time.monotonic() < deadline, "no event came"
            while "\n\n" not in self.buffer:
                assert self._more(), "the stream closed"
            block, self.buffer = self.buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
            if "data" in fields:
                return {"id": fields.get("id"), **json.loads(fields["data"])}

    def ends(self) -> bool:
        """True once the server closes the stream (within WAIT)."""
        while self._more():
            pass
        return True

    def close(self):
        # Ended as the process's stopping ends it (Hub.end_all), then read to its end, so that the view's
        # generator finishes and unsubscribes now: closing the test client's wrapper (response._iterator)
        # would leave the view's own generator to the garbage collector, subscribed until then.
        self.sub.end()
        assert self.ends()
        self.loop.close()


def wait_for(condition, what):
    deadline = time.monotonic() + WAIT
    while not condition():
        hub().kick()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_anonymous_is_sent_to_login_and_a_sync_server_answers_204(client, agent1):
    assert client.get("/eventos/").status_code == 302
    assert client.get("/eventos/").headers["Location"].startswith("/accounts/login/")
    client.force_login(agent1)
    assert client.get("/eventos/").status_code == 204  # WSGI: no stream holds a sync worker; pages poll


def test_claim_reaches_the_stream_other_departments_do_not_and_replay_resumes(world, agent3, fin_conn):
    stream = Stream(world.agent2)
    assert stream.response.status_code == 200
    assert stream.response["Content-Type"].startswith("text/event-stream")
    assert stream.response["X-Accel-Buffering"] == "no"
    assert stream._more() and stream.buffer.startswith("retry: ")  # answers at once
    # Financeiro's ticket changes first: agent2 (Suporte) is not shown it; then Suporte's is claimed.
    with hub().paused():
        services.ticket_claim(ticket=world.t["fin"], agent=agent3)
        services.ticket_claim(ticket=world.t["espera"], agent=world.agent1)
    claimed = stream.next_event()
    assert claimed["type"] == "ticket.claimed" and claimed["ticket"] == str(world.t["espera"].pk)
    assert claimed["state"] and claimed["id"]
    stream.close()

    # Missed while away: two closes on Suporte's tickets, and one on Financeiro's.
    with hub().paused():
        services.ticket_close(ticket=world.t["espera"], by=world.agent1)
        services.ticket_close(ticket=world.t["fin"], by=agent3)
        services.ticket_close(ticket=world.t["dois"], by=world.agent2)
    again = Stream(world.agent2, last_id=claimed["id"])
    first, second = again.next_event(), again.next_event()
    assert [(e["type"], e["ticket"]) for e in (first, second)] == [
        ("ticket.closed", str(world.t["espera"].pk)),
        ("ticket.closed", str(world.t["dois"].pk)),
    ]
    # Live after the replay, nothing twice; moved out of Suporte, agent2 stops getting its events at once.
    with hub().paused():
        world.agent2.departments.set([agent3.departments.get()])
        services.ticket_close(ticket=world.t["um"], by=world.agent1)
        arrived = f.make_ticket(fin_conn, client=f.make_client(fin_conn.reseller, name="Chegou no Financeiro"))
    later = [again.next_event()]
    while later[-1]["ticket"] != str(arrived.pk):
        later.append(again.next_event())
    # Financeiro's earlier changes may come too (now visible to agent2): a page refetches either way.
    assert later[-1]["type"] == "ticket.created" and str(world.t["um"].pk) not in {e["ticket"] for e in later}
    # A transfer out of agent2's department still reaches agent2, so that the queue drops the ticket.
    with hub().paused():
        services.ticket_transfer(ticket=arrived, by=world.reseller_user, department=str(world.t["um"].department_id))
    after = [again.next_event()]
    while after[-1]["type"] != "ticket.transferred":
        after.append(again.next_event())  # the arrived ticket's first message came after its creation
    assert {e["ticket"] for e in after} == {str(arrived.pk)}
    ids = [e["id"] for e in (first, second, *later, *after)]
    assert len(ids) == len(set(ids))
    again.close()


def test_deactivated_user_and_slow_consumer_lose_their_streams(world, settings):
    assert not presence.is_online(User.objects.get(pk=world.agent1.pk))
    stream = Stream(world.agent1)
    assert stream._more()
    assert presence.is_online(User.objects.get(pk=world.agent1.pk))  # a page holding a stream is online
    world.agent1.is_active = False
    with hub().paused():
        world.agent1.save(update_fields=["is_active"])
    assert stream.ends()
    stream.close()

    settings.LIVE_STREAM_BUFFER = 2
    before = set(hub()._subs)
    slow = Stream(world.agent2)
    assert slow._more()
    (sub,) = set(hub()._subs) - before
    with hub().paused():
        services.ticket_claim(ticket=world.t["espera"], agent=world.reseller_user)
        services.ticket_claim(ticket=world.t["fin"], agent=world.reseller_user)
        services.ticket_close(ticket=world.t["dois"], by=world.reseller_user)
    wait_for(lambda: sub.dropped, "the slow stream to be dropped")
    assert sub.pending() == 0  # nothing kept for it
    assert slow.ends()
    slow.close()
    wait_for(lambda: sub not in hub()._subs, "the hub to forget the slow stream")


def test_the_hub_checks_every_idle_stream_at_once_and_ends_a_logged_out_one(world):
    """Idle streams cost the database nothing of their own: the hub's periodic check reads the users and
    sessions of all of them together (the same queries for 1 stream as for 9), marks them online with one
    update of the stale stamps, and only reads when every stamp is fresh; a stream whose session logged
    out is ended by it, the others stay."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tickets.reads.live import Subscriber
    from tickets.web.events import _check_streams

    loop = asyncio.new_event_loop()

    def opened(user):
        browser = Client()
        browser.force_login(user)
        return browser, Subscriber(None, loop, 10, user_pk=user.pk, session_key=browser.session.session_key)

    def queries(subs) -> int:
        with CaptureQueriesContext(connection) as captured:
            _check_streams(subs)
        return len(captured)

    one = [opened(world.agent1)]
    nine = [opened(user) for user in (world.agent1, world.agent2, world.reseller_user) for _ in range(3)]
    # Users, sessions, and the stamps never written (agent1's by the first check, the two others' by the second).
    assert queries([s for _, s in one]) == queries([s for _, s in nine]) == 3
    assert not any(s.dropped for _, s in one + nine)
    assert presence.is_online(User.objects.get(pk=world.agent2.pk))
    assert queries([s for _, s in nine]) == 2  # every stamp fresh: nothing written
    nine[0][0].logout()
    queries([s for _, s in nine])
    assert [s.dropped for _, s in nine] == [True] + [False] * 8
    loop.close()
