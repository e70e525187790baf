"""Provider outage: replies written while the provider answers 500 and then refuses connections are all
delivered exactly once when it comes back. Real HTTP from gunicorn and send_outbox to the fake provider.

The outage's clock is driven, not waited for: each `send_outbox` one-pass run is one retry the
backoff schedule (5 s, 10 s, 20 s, … within 30 s) would have made, so the test takes seconds."""

import collections
import signal
import subprocess
import time
import uuid

import pytest
import requests

from tests import factories as f
from tests.fake_provider import FakeProvider
from tests.ops.helpers import (
    PY,
    ROOT,
    Agent,
    App,
    free_port,
    lane_profile,
    meta_text_body,
    post_meta,
    probe,
    scratch,
    seed,
)

pytestmark = pytest.mark.slow


def _pass(db) -> str:
    return db.manage("send_outbox").stdout.strip()


def test_replies_written_during_an_outage_are_delivered_exactly_once(tmp_path):
    port = free_port()
    down = FakeProvider(port=port).start()
    down.fail_always("500")
    run = uuid.uuid4().hex[:6].upper()
    template = f.load_payload("meta_text.json")
    with scratch(tmp_path, lane_profile()) as db:
        seed(db, api_base=down.url)
        app = App(db, WHATSAPP_SEND_INLINE="true").start()
        worker = subprocess.Popen(
            [PY, "manage.py", "send_outbox", "--loop", "--interval", "0.2"],
            cwd=ROOT,
            env=db.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        up = None
        try:
            session = requests.Session()
            for i in range(10):
                body = meta_text_body(
                    template, wamid=f"wamid.OUT{run}{i:04d}", wa_id=f"55219{i:08d}", text=f"preciso de ajuda {i}"
                )
                assert post_meta(session, app.base, body).status_code == 200
            agent = Agent(app.base, "agente1@demo.local")
            tickets = agent.ticket_ids("espera")
            assert len(tickets) == 10
            texts = []
            for tid in tickets:
                assert agent.post(f"/tickets/{tid}/assumir/").status_code == 303
                for k in range(3):
                    text = f"Resposta {k} para {tid[:8]} — já verifiquei, obrigado!"
                    r = agent.post(f"/tickets/{tid}/responder/", {"text": text, "nonce": uuid.uuid4().hex})
                    assert r.status_code == 303, r.status_code
                    texts.append(text)

            # The outage, first half: HTTP 500 on every send; two retry rounds of the schedule.
            _pass(db), _pass(db)
            failed_500 = sum(1 for c in down.calls if c.status == 500)
            down.stop()
            # Second half: nothing listens on the port (connection refused); one more retry round.
            _pass(db)
            during = probe(db)["outbound"]
            assert len(during) == 30 and {status for _, status, _ in during} == {"queued"}

            up = FakeProvider(port=port).start()  # the provider is back, same address
            # Two one-pass senders racing the loop worker: still exactly one send per reply.
            racers = [
                subprocess.Popen(
                    [PY, "manage.py", "send_outbox"],
                    cwd=ROOT,
                    env=db.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for _ in range(2)
            ]
            for racer in racers:
                assert racer.wait(120) == 0, racer.stderr.read()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # a reply leased by the loop worker finishes there
                after = probe(db)["outbound"]
                if all(status == "sent" for _, status, _ in after):
                    break
                time.sleep(0.2)
            assert all(status == "sent" for _, status, _ in after), after

            delivered = collections.Counter(text for text, c in zip(up.texts(), up.calls) if c.status == 200)
            assert sorted(delivered) == sorted(texts)
            assert set(delivered.values()) == {1}, [t for t, n in delivered.items() if n > 1]
            assert len({pid for _, _, pid in after}) == 30
            print(
                f"\noutage: 30 replies queued; {failed_500} sends answered 500 and a round refused; "
                f"after recovery {sum(delivered.values())} sends, each reply exactly once"
            )
            assert failed_500 >= 30
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
            app.stop_quietly()
            if not down._stopping.is_set():
                down.stop()
            if up is not None:
                up.stop()
