"""Live updates across real processes: two gunicorn servers (uvicorn workers, iaze.asgi) on one database.

A stream held by one server gets the changes made through the other (a client's message by webhook, an
agent's claim): each process reads the change record itself, no broker between them. Stopping a server
ends its open streams at once (iaze.lib.stopping), so its workers stop within the graceful timeout
rather than being killed at its end. Prints the webhook-200-to-event latency it saw."""

import json
import queue
import threading
import time

import pytest
import requests

from tests import factories as f
from tests.ops.helpers import Agent, App, lane_profile, meta_text_body, post_meta, scratch, seed

pytestmark = pytest.mark.slow
WAIT = 30


class Listener:
    """An agent's /eventos/ stream, read in a thread: each event's data (and when it came) on a queue."""

    def __init__(self, agent: Agent):
        self.response = agent.s.get(f"{agent.base}/eventos/", stream=True, timeout=WAIT)
        self.events: queue.Queue = queue.Queue()
        self.ended = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line and line.startswith("data: "):
                    self.events.put((time.monotonic(), json.loads(line[6:])))
        except requests.RequestException:
            pass
        self.ended.set()

    def next_about(self, ticket_type: str) -> tuple[float, dict]:
        while True:
            at, event = self.events.get(timeout=WAIT)
            if event["type"] == ticket_type:
                return at, event


def test_a_change_made_through_one_server_reaches_a_stream_held_by_the_other(tmp_path):
    with scratch(tmp_path, lane_profile()) as db:
        seed(db)
        one, two = App(db, workers=1).start(), App(db, workers=1, pid_name="gunicorn-two.pid").start()
        try:
            watcher = Agent(two.base, "agente2@demo.local")
            stream = Listener(watcher)
            assert stream.response.status_code == 200
            assert stream.response.headers["Content-Type"].startswith("text/event-stream")

            body = meta_text_body(
                f.load_payload("meta_text.json"), wamid="wamid.LIVE1", wa_id="5511977770001", text="Olá, ao vivo"
            )
            answered = post_meta(requests.Session(), one.base, body)
            answered_at = time.monotonic()
            assert answered.status_code == 200
            arrived_at, created = stream.next_about("ticket.created")
            ticket = created["ticket"]
            print(f"\nlive: webhook 200 on one server → event on the other's stream: {arrived_at - answered_at:.3f}s")

            claimer = Agent(one.base, "agente1@demo.local")
            assert claimer.post(f"/tickets/{ticket}/assumir/").status_code in (200, 302, 303)
            _, claimed = stream.next_about("ticket.claimed")
            assert claimed["ticket"] == ticket

            # A stop ends the stream at once: the worker is not held to the graceful timeout and killed.
            assert two.sigterm(timeout=WAIT) == 0
            assert stream.ended.wait(WAIT)
            assert "SIGKILL" not in two.log.read_text()
        finally:
            one.stop_quietly()
            two.stop_quietly()
