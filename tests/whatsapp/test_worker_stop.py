"""`send_outbox --loop` ends within a bounded time after SIGTERM, even while a provider call hangs.

Security issue item 17: twice in seven deploy tests the outbox worker was still running 60 s after
SIGTERM. A real process on a scratch SQLite DATA_DIR, a real HTTP call to the fake provider that never
answers; the worker is stopped while the call is in flight."""

import json
import signal
import subprocess
import time

import pytest

from tests.fake_provider import FakeProvider
from tests.ops.helpers import PY, ROOT, scratch, seed

pytestmark = pytest.mark.slow

TEXT = "vai ficar pendurada"

QUEUE_A_REPLY = f"""
from accounts.models import User
from tests import factories as f
from tickets import services
from whatsapp.models import Connection

agent = User.objects.get(email="agente1@demo.local")
ticket = f.make_ticket(Connection.objects.get(key="demo-meta"), agent=agent)
services.ticket_reply(ticket=ticket, agent=agent, text={TEXT!r})
"""

OUTBOUND = """
import json
from tickets.models import Message

rows = Message.objects.filter(direction="out").values_list("text", "delivery_status", "error_code", "lease_until")
print(json.dumps([[t, s, e, lease is not None] for t, s, e, lease in rows]))
"""

STATISTICS = """
from django.db import connection
from iaze.lib import sqlite_stats

print(sqlite_stats.has_statistics(connection))
"""


def _stop_while_a_call_hangs(tmp_path, **env) -> tuple[str, float, int, list]:
    """Start the worker, wait until its send is in flight (the fake holds it), SIGTERM it. Returns its output,
    the seconds from the signal to its exit, its exit code, and the outbound messages afterwards."""
    with FakeProvider(hang_seconds=600) as fake, scratch(tmp_path, "sqlite") as db:
        fake.fail_always("timeout")  # every send is held, never answered
        seed(db, api_base=fake.url)
        db.manage("shell", "-c", QUEUE_A_REPLY)
        worker = subprocess.Popen(
            [PY, "manage.py", "send_outbox", "--loop", "--interval", "0.2"],
            cwd=ROOT,
            env={**db.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while not fake.calls and worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)  # waiting for the send to reach the fake: nothing happens because of it
            assert [c.json["text"]["body"] for c in fake.calls] == [TEXT], worker.poll()
            signalled = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            output, _ = worker.communicate(timeout=60)
            elapsed = time.monotonic() - signalled
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        rows = json.loads(db.manage("shell", "-c", OUTBOUND).stdout.strip().splitlines()[-1])
        # The worker's first statistics pass (iaze.lib.sqlite_stats) ran when it started.
        assert db.manage("shell", "-c", STATISTICS).stdout.strip().splitlines()[-1] == "True"
    return output, elapsed, worker.returncode, rows


def test_a_call_hanging_past_the_stop_bound_is_left_to_its_lease(tmp_path):
    """The call's own deadline (300 s) is longer than the stop's bound (2 s): the worker stops anyway, and
    the reply stays queued under its lease, for the next worker once the lease runs out."""
    output, elapsed, code, rows = _stop_while_a_call_hangs(
        tmp_path, WHATSAPP_HTTP_TIMEOUT="300", WHATSAPP_WORKER_STOP_SECONDS="2"
    )
    assert code == 0, output
    assert elapsed < 30, (elapsed, output)
    assert "send_outbox: stopping (at most 2s" in output
    assert "1 job(s) still waiting on a provider: left to their leases" in output
    assert output.rstrip().endswith("send_outbox: stopped"), output
    assert rows == [[TEXT, "queued", "", True]]  # not sent, not failed: still leased


def test_a_call_in_flight_keeps_its_deadline_and_its_outcome_is_recorded(tmp_path):
    """The call's deadline (2 s) is within the stop's bound (60 s): the worker waits for it, records the
    timeout as a retry (lease released: any worker may send it now), and then stops."""
    output, elapsed, code, rows = _stop_while_a_call_hangs(
        tmp_path, WHATSAPP_HTTP_TIMEOUT="2", WHATSAPP_WORKER_STOP_SECONDS="60"
    )
    assert code == 0, output
    assert elapsed < 30, (elapsed, output)
    assert "still waiting on a provider" not in output
    assert output.rstrip().endswith("send_outbox: stopped"), output
    assert rows == [[TEXT, "queued", "timeout", False]]
