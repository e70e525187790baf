"""Scratch databases and processes for the persistence tests.

Every test here works on its own scratch database (a SQLite file under a temp
DATA_DIR, a freshly created PostgreSQL database, or a fresh database on the mongodb
lane's MongoDB server) — never on the developer's data.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

from providers.meta import signature_header

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
LANE = os.environ.get("IAZE_TEST_LANE", "sqlite")
PORTS = iter(range(18500, 18600))


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port left in 18500-18599")


def pg_url(dbname: str) -> str:
    base = urlsplit(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/iaze")
    return urlunsplit(base._replace(path="/" + dbname))


def _pg_admin(sql: str) -> None:
    import psycopg

    parts = urlsplit(pg_url("postgres"))
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(sql)


class Scratch:
    """One scratch database of a profile, with the environment that points manage.py/gunicorn at it."""

    def __init__(self, tmp: Path, profile: str):
        self.profile = profile
        self.data_dir = tmp / f"data-{profile}-{uuid.uuid4().hex[:6]}"
        self.data_dir.mkdir(parents=True)
        self.dbname = ""
        if profile == "postgresql":
            # Named after the lane's database, so parallel runs on one server never share a scratch.
            base = urlsplit(os.environ.get("DATABASE_URL") or "postgres:///iaze").path.lstrip("/") or "iaze"
            self.dbname = f"{base}_scratch_{uuid.uuid4().hex[:10]}"
            _pg_admin(f'CREATE DATABASE "{self.dbname}"')
        elif profile == "mongodb":
            self.dbname = f"iaze_scratch_{uuid.uuid4().hex[:10]}"  # MongoDB creates it on first write

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MONGO_URL", "DJANGO_SETTINGS_MODULE")}
        env.update(
            DATA_DIR=str(self.data_dir),
            DJANGO_SETTINGS_MODULE="iaze.settings",
            SECRET_KEY="scratch-secret",
            PYTHONUNBUFFERED="1",
            LOG_LEVEL="WARNING",
            WHATSAPP_SEND_INLINE="false",
            # The fake providers of these tests listen on 127.0.0.1.
            IAZE_ALLOW_PRIVATE_PROVIDER_HOSTS="1",
        )
        if self.profile == "postgresql":
            env["DATABASE_URL"] = pg_url(self.dbname)
        elif self.profile == "mongodb":
            env.update(MONGO_URL=mongo_url(), MONGO_DB_NAME=self.dbname)
        return env

    def manage(self, *args, check=True, timeout=300, **env) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env={**self.env, **env}, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
            )
        return result

    def drop(self) -> None:
        if self.profile == "postgresql":
            _pg_admin(f'DROP DATABASE IF EXISTS "{self.dbname}" WITH (FORCE)')
        elif self.profile == "mongodb":
            from pymongo import MongoClient

            with MongoClient(mongo_url()) as client:
                client.drop_database(self.dbname)


@contextmanager
def scratch(tmp: Path, profile: str):
    db = Scratch(tmp, profile)
    try:
        yield db
    finally:
        db.drop()


def mongo_url() -> str:
    """The mongodb lane's server (the root conftest starts one when MONGO_URL is not given)."""
    url = os.environ.get("MONGO_URL")
    assert url, "a MongoDB scratch database needs the mongodb lane's MONGO_URL"
    return url


def lane_profile() -> str:
    return LANE if LANE in ("postgresql", "mongodb") else "sqlite"


def read_export(backup_dir: Path) -> dict[str, dict]:
    """Rows of a backup keyed by table then identity: what 'every protected row' means."""
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    out = {}
    for entry in manifest["tables"]:
        rows = {}
        with (backup_dir / entry["file"]).open() as fh:
            for line in fh:
                row = json.loads(line)
                rows[tuple(row[k] for k in entry["identity"])] = row
        out[entry["name"]] = rows
    return out


def normalise_times(rows: dict[str, dict]) -> dict[str, dict]:
    """ISO timestamps of one instant written by different databases compare equal after this."""
    from datetime import datetime

    def fix(v):
        if isinstance(v, str) and len(v) >= 19 and v[4] == "-" and v[10] == "T":
            try:
                return datetime.fromisoformat(v).astimezone(UTC).isoformat()
            except ValueError:
                return v
        return v

    return {t: {k: {f: fix(v) for f, v in row.items()} for k, row in r.items()} for t, r in rows.items()}


# --- gunicorn -----------------------------------------------------------------------------------


class App:
    """gunicorn serving the project on a scratch database, in its own process group."""

    def __init__(self, db: Scratch, workers: int = 3, pid_name: str = "gunicorn.pid", **env):
        self.db, self.workers, self.env = db, workers, {**db.env, **env}
        self.pid_name = pid_name  # a second server on the same database needs its own
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = db.data_dir / f"gunicorn-{self.port}.log"

    @property
    def pidfile(self) -> Path:
        return self.db.data_dir / self.pid_name

    def start(self, timeout: float = 60) -> App:
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                PY,
                "-m",
                "gunicorn",
                # gunicorn.conf.py (read from ROOT by itself) picks the worker class by WEB_WORKER.
                "iaze.wsgi:application" if self.env.get("WEB_WORKER") == "sync" else "iaze.asgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--graceful-timeout",
                "10",
                "--pid",
                str(self.pidfile),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_healthy(self.base, timeout, self.proc)
        return self

    def sigterm(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def sigkill_all(self) -> None:
        """SIGKILL the master and every worker at once: the whole process group."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)

    def stop_quietly(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(30)


def wait_healthy(base: str, timeout: float, proc=None) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"gunicorn exited with {proc.returncode} before becoming healthy")
        try:
            r = requests.get(f"{base}/healthz", timeout=2)
            if r.status_code == 200 and r.json().get("database") == "ok":
                return
            last = f"{r.status_code} {r.text[:200]}"
        except requests.RequestException as exc:
            last = str(exc)
        time.sleep(0.1)
    raise AssertionError(f"{base}/healthz did not answer 200 within {timeout}s: {last}")


# --- signed Meta webhooks -----------------------------------------------------------------------

META_SECRET = "scratch-meta-app-secret"


def meta_text_body(template: dict, *, wamid: str, wa_id: str, text: str, name: str = "Cliente") -> bytes:
    """A real Meta text webhook (tests/payloads/meta_text.json) with this message's ids."""
    body = json.loads(json.dumps(template))
    value = body["entry"][0]["changes"][0]["value"]
    value["metadata"]["phone_number_id"] = "100000000000001"
    value["contacts"][0]["wa_id"] = wa_id
    value["contacts"][0]["profile"]["name"] = name
    msg = value["messages"][0]
    msg.update({"id": wamid, "from": wa_id, "timestamp": str(int(time.time()))})
    msg["text"]["body"] = text
    return json.dumps(body, ensure_ascii=True).encode()


def sign(body: bytes, secret: str = META_SECRET) -> str:
    return signature_header(secret, body)


def post_meta(session: requests.Session, base: str, body: bytes, key: str = "demo-meta", timeout: float = 10):
    return session.post(
        f"{base}/whatsapp/webhook/{key}/",
        data=body,
        timeout=timeout,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)},
    )


# --- an agent in a browser-less session -----------------------------------------------------------

TICKET_LINK = re.compile(r'href="/tickets/([0-9a-f-]{36})/"')
PASSWORD = "demo-senha-12345"


class Agent:
    """requests.Session logged in through Django's login form, posting forms with the CSRF token."""

    def __init__(self, base: str, email: str, password: str = PASSWORD):
        self.base, self.s = base, requests.Session()
        self.s.get(f"{base}/accounts/login/", timeout=10).raise_for_status()
        r = self.post("/accounts/login/", {"username": email, "password": password})
        assert r.status_code == 302, f"login of {email} failed: {r.status_code}"

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        data = {**(data or {}), "csrfmiddlewaretoken": self.s.cookies.get("csrftoken", "")}
        return self.s.post(
            f"{self.base}{path}",
            data=data,
            allow_redirects=False,
            timeout=30,
            headers={"Referer": f"{self.base}{path}"},
        )

    def ticket_ids(self, status: str) -> list[str]:
        r = self.s.get(f"{self.base}/tickets/?status={status}", timeout=30, allow_redirects=False)
        assert r.status_code == 200, r.status_code
        return list(dict.fromkeys(TICKET_LINK.findall(r.text)))


PROBE = """
import json, django
django.setup()
from django.db.models import Count
from tickets.models import Message, Ticket
from whatsapp.models import WebhookEvent
inbound = Message.objects.filter(direction="in")
out = {
    "messages": Message.objects.count(),
    "inbound": inbound.count(),
    "distinct_provider_ids": len(set(inbound.values_list("provider_message_id", flat=True))),
    "webhook_events": WebhookEvent.objects.count(),
    "events_by_state": dict(WebhookEvent.objects.values_list("state").annotate(n=Count("pk")).order_by()),
    "tickets": {str(t["pk"]): [t["status"], str(t["agent_id"] or "")]
                for t in Ticket.objects.values("pk", "status", "agent_id")},
    "outbound": [[m.text, m.delivery_status, m.provider_message_id]
                 for m in Message.objects.filter(direction="out").order_by("created_at")],
}
print(json.dumps(out))
"""


def probe(db: Scratch) -> dict:
    r = subprocess.run([PY, "-c", PROBE], cwd=ROOT, env=db.env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def seed(db: Scratch, api_base: str = "http://127.0.0.1:9") -> None:
    db.manage("migrate", "--noinput", "-v0")
    db.manage("seed_demo", "--password", PASSWORD, "--meta-app-secret", META_SECRET, "--api-base", api_base)


def store_media_message(ticket, content: bytes | None = None):
    """An inbound photo on `ticket` whose download job stored its file (original + thumbnail)."""
    import io

    from PIL import Image

    from tickets import services
    from tickets.media import downloads as media_downloads
    from tickets.media import store as media
    from tickets.models import MediaDownload

    if content is None:
        out = io.BytesIO()
        Image.new("RGB", (64, 48), (10, 200, 30)).save(out, "PNG")
        content = out.getvalue()
    message = services.message_store(
        ticket=ticket,
        msg=services.InboundMessage(
            provider_message_id=f"wamid.media{uuid.uuid4().hex[:8]}",
            kind="image",
            raw_type="image",
            media={"id": "1", "mime_type": "image/png"},
        ),
    )
    job = MediaDownload.objects.get(message=message)
    lease = media_downloads.download_claim(job.pk, ignore_backoff=True)
    job.refresh_from_db()
    media_downloads.download_succeeded(
        job, lease, media.media_file_store(content, reseller_id=ticket.reseller_id, claimed_mime="image/png")
    )
    message.refresh_from_db()
    return message
