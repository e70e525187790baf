"""Real processes: gunicorn on a scratch database, signed webhooks, SIGTERM, SIGKILL, deploy, backup.

Each test runs on this lane's database profile (sqlite lane: embedded SQLite in a temp
DATA_DIR; postgresql lane: a fresh PostgreSQL database; mongodb lane: a fresh database on the
lane's MongoDB server) and prints the figures it measured.
"""

import json
import subprocess
import sys
import threading
import uuid

import pytest
import requests

from tests import factories as f
from tests.ops.helpers import (
    ROOT,
    Agent,
    App,
    lane_profile,
    meta_text_body,
    normalise_times,
    post_meta,
    probe,
    read_export,
    scratch,
    seed,
)

pytestmark = pytest.mark.slow
TEMPLATE = f.load_payload("meta_text.json")


def _body(i: int, run: str, clients: int = 40) -> bytes:
    return meta_text_body(
        TEMPLATE,
        wamid=f"wamid.PS{run}{i:06d}",
        wa_id=f"55119{i % clients:08d}",
        text=f"mensagem {i} — olá, ação ✓",
        name=f"Cliente {i % clients}",
    )


def _start_posting(base: str, bodies: list[bytes], threads: int = 8, on_answer=None):
    """Post every body once from `threads` clients, in the background. Returns (threads, status per index;
    0: no HTTP answer); `on_answer(code)` is called after each answer."""
    status: dict[int, int] = {}
    todo = iter(range(len(bodies)))
    lock = threading.Lock()

    def run():
        session = requests.Session()
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                code = post_meta(session, base, bodies[i]).status_code
            except requests.RequestException:
                code = 0
            with lock:
                status[i] = code
            if on_answer:
                on_answer(code)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    return workers, status


def _ingest(base: str, bodies: list[bytes], threads: int = 8) -> dict[int, int]:
    workers, status = _start_posting(base, bodies, threads)
    for w in workers:
        w.join()
    return status


def _deploy(db, app=None, restart="none", ok=True) -> subprocess.CompletedProcess:
    env = {
        **db.env,
        "PY": sys.executable,
        "RESTART": restart,
        "HEALTH_TIMEOUT": "60",
        # collectstatic writes into the shared checkout; the test data never depends on it.
        "DEPLOY_COLLECTSTATIC": "0",
    }
    if app is not None:
        env.update(HOST="127.0.0.1", PORT=str(app.port))
    r = subprocess.run(["bash", "scripts/deploy.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert r.returncode == 0 and "DEPLOY OK" in r.stdout, f"deploy failed:\n{r.stdout}\n{r.stderr}"
    return r


def test_restart_and_deploy_change_no_count_and_no_ticket_state(tmp_path):
    with scratch(tmp_path, lane_profile()) as db:
        seed(db)
        # Fails loudly, naming the step, when there is no app to restart.
        failed = _deploy(db, restart="auto", ok=False)
        assert failed.returncode != 0 and "DEPLOY FAILED at: restart" in failed.stderr
        app = App(db).start()
        try:
            run = uuid.uuid4().hex[:6].upper()
            status = _ingest(app.base, [_body(i, run, clients=12) for i in range(36)])
            assert set(status.values()) == {200}
            agent = Agent(app.base, "agente1@demo.local")
            waiting = agent.ticket_ids("espera")
            assert len(waiting) == 12
            for tid in waiting[:8]:
                assert agent.post(f"/tickets/{tid}/assumir/").status_code == 303
            for tid in waiting[:4]:
                assert agent.post(f"/tickets/{tid}/finalizar/").status_code == 303
            before = probe(db)
            states = sorted(s for s, _ in before["tickets"].values())
            assert states.count("closed") == 4 and before["inbound"] == 36
            db.manage("backup", "--out", str(tmp_path / "before"))

            assert app.sigterm() == 0  # a clean stop
            _deploy(db, restart="none")  # the deploy steps on the stopped app: snapshot, check, backup, migrate, verify
            app.start()

            # The same session still works: the secret key and sessions survived the restart.
            assert agent.ticket_ids("atendendo") and set(agent.ticket_ids("finalizado")) == set(waiting[:4])
            after = probe(db)
            assert after == before
            db.manage("backup", "--out", str(tmp_path / "after"))

            # Presence's stamp moves with every page the agent opens (accounts.presence): not data a restart keeps.
            def kept(rows):
                for row in rows["users"].values():
                    row.pop("last_seen_at", None)
                return rows

            assert kept(read_export(tmp_path / "after")) == kept(read_export(tmp_path / "before"))

            # `make deploy` against the running app: HUP through gunicorn's pid file, /healthz, verify.
            out = _deploy(db, app, restart="auto")
            assert "healthy" in out.stdout
            assert probe(db) == before
            print(
                f"\nrestart: {len(before['tickets'])} tickets, {before['messages']} messages identical "
                f"after SIGTERM + deploy + start and after a reload deploy"
            )
        finally:
            app.stop_quietly()


@pytest.mark.parametrize("events", [1000])
def test_crash_mid_stream_loses_nothing_and_doubles_nothing(tmp_path, events):
    run = uuid.uuid4().hex[:6].upper()
    bodies = [_body(i, run) for i in range(events)]
    with scratch(tmp_path, lane_profile()) as db:
        seed(db)
        app = App(db, workers=3).start()
        try:
            acked = threading.Semaphore(0)
            threads, status = _start_posting(
                app.base, bodies, 8, on_answer=lambda code: code == 200 and acked.release()
            )
            # Kill master and workers together once a third of the stream is acknowledged, with
            # eight requests in flight.
            for _ in range(events // 3):
                assert acked.acquire(timeout=120), "the app stopped acknowledging events"
            app.sigkill_all()
            for t in threads:
                t.join(120)
            acknowledged = [i for i, code in status.items() if code == 200]
            not_acked = [i for i in range(events) if status.get(i) != 200]
            assert len(status) == events and not_acked, "the crash must interrupt the stream"
            at_crash = probe(db)  # what the killed processes left on disk
            assert at_crash["webhook_events"] >= len(acknowledged)

            app.start()
            resend = not_acked + acknowledged[:100]  # the provider retries, plus 100 it already delivered
            second = _ingest(app.base, [bodies[i] for i in resend])
            assert set(second.values()) == {200}, second
            figures = probe(db)
            report = {
                "profile": db.profile,
                "sent": events,
                "acknowledged_before_crash": len(acknowledged),
                "not_acknowledged": len(not_acked),
                "journaled_at_crash": at_crash["webhook_events"],
                "messages_at_crash": at_crash["inbound"],
                "resent": len(resend),
                "stored_messages": figures["inbound"],
                "duplicates": figures["inbound"] - figures["distinct_provider_ids"],
                "journal": figures["webhook_events"],
                "journal_states": figures["events_by_state"],
            }
            print("\ncrash figures: " + json.dumps(report))
            assert figures["inbound"] == events
            assert figures["distinct_provider_ids"] == events
            assert figures["webhook_events"] == events
            assert figures["events_by_state"] == {"processed": events}
        finally:
            app.stop_quietly()


def _foreign_keys_closed(rows: dict) -> list[str]:
    """Every reference in the backup points at a row of the backup: a consistent cut."""
    refs = {
        "tickets": {"client_id": "clients", "connection_id": "whatsapp_connections", "agent_id": "users"},
        "messages": {"ticket_id": "tickets", "connection_id": "whatsapp_connections"},
        "ticket_events": {"ticket_id": "tickets"},
        "webhook_events": {"connection_id": "whatsapp_connections"},
        "clients": {"reseller_id": "resellers"},
        "users_departments": {"user_id": "users", "department_id": "departments"},
    }
    dangling = []
    for table, fields in refs.items():
        for row in rows[table].values():
            for field, parent in fields.items():
                if row[field] is not None and (row[field],) not in rows[parent]:
                    dangling.append(f"{table}.{field}={row[field]}")
    return dangling


@pytest.mark.parametrize(
    "source, target",
    [
        ("sqlite", "sqlite"),
        pytest.param("sqlite", "postgresql", marks=pytest.mark.postgresql),
        pytest.param("postgresql", "postgresql", marks=pytest.mark.postgresql),
        pytest.param("mongodb", "sqlite", marks=pytest.mark.mongodb),
        pytest.param("sqlite", "mongodb", marks=pytest.mark.mongodb),
    ],
)
def test_backup_while_serving_restores_every_row(tmp_path, source, target):
    if lane_profile() != "sqlite" and (source, target) == ("sqlite", "sqlite"):
        pytest.skip("by design: runs in the sqlite lane")
    run = uuid.uuid4().hex[:6].upper()
    with scratch(tmp_path, source) as db:
        seed(db)
        app = App(db).start()
        try:
            assert set(_ingest(app.base, [_body(i, run) for i in range(150)]).values()) == {200}
            stop, posted, during = threading.Event(), [0], [0]
            backing_up = threading.Event()

            def traffic():
                session, i = requests.Session(), 150
                while not stop.is_set():
                    assert post_meta(session, app.base, _body(i, run)).status_code == 200
                    posted[0] += 1
                    during[0] += backing_up.is_set()
                    i += 1

            thread = threading.Thread(target=traffic)
            thread.start()
            backing_up.set()
            db.manage("backup", "--out", str(tmp_path / "bk"))
            backing_up.clear()
            stop.set()
            thread.join(60)
            assert during[0] > 0, "the backup must overlap live traffic"
        finally:
            app.stop_quietly()
        backup_rows = read_export(tmp_path / "bk")
        manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
        assert _foreign_keys_closed(backup_rows) == []
        # Rows that never change after they are written are byte-identical in the live database.
        db.manage("backup", "--out", str(tmp_path / "live"))
        live = read_export(tmp_path / "live")
        for table in ("messages", "clients", "users", "whatsapp_connections"):
            assert set(backup_rows[table]) <= set(live[table])
            if table != "messages":
                assert all(live[table][k] == v for k, v in backup_rows[table].items()), table
        for key, row in backup_rows["webhook_events"].items():
            assert live["webhook_events"][key]["body"] == row["body"]
        if source == "sqlite":
            assert manifest["native"]["integrity_check"] == "ok"
        else:
            assert manifest["native"].get("file") == "postgresql.dump" or "skipped" in manifest["native"]

    with scratch(tmp_path, target) as empty:
        empty.manage("migrate", "--noinput", "-v0")
        out = empty.manage("restore", str(tmp_path / "bk"))
        assert "verified" in out.stdout
        empty.manage("backup", "--out", str(tmp_path / "restored"))
        restored = read_export(tmp_path / "restored")
    assert normalise_times(restored) == normalise_times(backup_rows)
    counts = {t["name"]: t["count"] for t in manifest["tables"]}
    print(
        f"\nbackup under traffic {source}→{target}: {during[0]} webhooks answered during the backup; "
        f"restored {sum(counts.values())} rows ({counts['messages']} messages, "
        f"{counts['webhook_events']} journal events), every row identical"
    )
