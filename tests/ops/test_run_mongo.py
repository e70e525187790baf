"""`make run-mongo` as a newcomer runs it: SecantusDB and the app start together, /healthz answers, a
webhook makes a ticket an agent sees in Espera, the raw collections count it, and SIGTERM stops both."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ops.helpers import Agent, free_port

pytestmark = [pytest.mark.mongodb, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except OSError:
        return 0


def test_make_run_mongo_serves_a_webhook_ticket_and_stops_cleanly(tmp_path):
    port, mongo_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL", "MONGO_DB_NAME")}
    env.update(DATA_DIR=str(tmp_path / "data"), PORT=str(port), MONGO_PORT=str(mongo_port), PY=sys.executable)
    app = subprocess.Popen(
        ["bash", "scripts/run-mongo.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    mongo_url = f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true"
    manage = {**env, "MONGO_URL": mongo_url}
    try:
        deadline = time.monotonic() + 180
        while _get(base + "/healthz") != 200:
            assert app.poll() is None and time.monotonic() < deadline, app.stdout.read() if app.poll() else "no answer"
            time.sleep(0.5)
        run = lambda *args: subprocess.run(  # noqa: E731
            [sys.executable, "manage.py", *args], cwd=ROOT, env=manage, capture_output=True, text=True, check=True
        )
        run("seed_demo", "--password", "demo12345")
        inbound = [*"--connection demo-meta --from 5511999990001 --name Maria --url".split(), base]
        sent = run("simulate_inbound", *inbound, "--text", "Olá do make run-mongo")
        assert "-> 200" in sent.stdout
        from pymongo import MongoClient

        db = MongoClient(mongo_url, serverSelectionTimeoutMS=5000).support_chat
        assert (db.tickets.count_documents({}), db.messages.count_documents({})) == (1, 1)
        assert db.tickets.find_one()["status"] == "open"
        agent = Agent(base, "agente1@demo.local", "demo12345")  # a real login form post
        assert "Olá do make run-mongo" in agent.s.get(base + "/tickets/?status=espera", timeout=30).text
    finally:
        os.killpg(app.pid, signal.SIGTERM)
        app.wait(60)
    assert _get(base + "/healthz") == 0  # the app is gone, and the database with it:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    with pytest.raises(PyMongoError):
        MongoClient(mongo_url, serverSelectionTimeoutMS=1000).admin.command("ping")
