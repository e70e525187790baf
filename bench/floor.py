"""Where the floor is: CPU per request in-process, against `/healthz` and against the least each request
could do. `python -m bench.floor [tickets]` (default 1,000).

Served by django.test.Client in one process (no network, no gunicorn, no profiler), each figure the median
`time.process_time()` of REPEAT requests after a warm-up. Besides the app's own requests it measures:

* `login only`: a view behind `login_required` that answers 204 (bench.urls): the session, the user and
  its tenant read, and the middleware, with nothing else. No authenticated request can cost less.
* each page `without its template`: the same view with `render()` answering an empty page, so the
  difference is what Django's template engine costs for that page.
* `bare webhook`: bench.bare (HMAC + two inserts), the ingest target's yardstick, beside the real webhook
  for a new client's first message and for a known client's next one.

Database: DATABASE_URL's server (a `test_<name>` scratch database made and dropped by Django's test
machinery) or a fresh SQLite file under DATA_DIR, seeded like `make bench`.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from contextlib import contextmanager
from unittest import mock

REPEAT = 120
STAMP = re.compile(r'id="(?:queue|thread)-live".*?[?&;]v=([0-9a-f]{16})', re.S)


def _cpu_ms(call, repeat: int = REPEAT) -> float:
    call()  # warm-up: URL resolver, templates, translations
    runs = []
    for _ in range(repeat):
        t0 = time.process_time()
        call()
        runs.append((time.process_time() - t0) * 1000)
    return round(statistics.median(runs), 2)


class _Poll:
    """An unchanged htmx poll, its stamp refreshed from a 200 the way the browser's swap would."""

    def __init__(self, client, path: str):
        self.client, self.path = client, path
        self.v = STAMP.search(client.get(path).content.decode()).group(1)

    def __call__(self):
        sep = "&" if "?" in self.path else "?"
        response = self.client.get(f"{self.path}{sep}v={self.v}", HTTP_HX_REQUEST="true")
        if response.status_code == 200:
            self.v = STAMP.search(response.content.decode()).group(1)
        assert response.status_code in (200, 204), response.status_code


@contextmanager
def _without_templates():
    from django.http import HttpResponse

    def empty(request, template, context=None, *args, **kwargs):
        return HttpResponse(b"")

    with mock.patch("tickets.web.views.render", empty):
        yield


def _webhooks(tenant: dict):
    from django.test import Client

    from bench.scenarios import META_TEXT
    from providers.meta import signature_header

    client = Client()
    template = json.loads(META_TEXT.read_text())
    counter = iter(range(10**9))

    def post(path: str, *, sender: str):
        n = next(counter)
        body = json.loads(json.dumps(template))
        value = body["entry"][0]["changes"][0]["value"]
        value["metadata"]["phone_number_id"] = tenant["phone_number_id"]
        value["contacts"][0]["wa_id"] = sender
        value["messages"][0].update(id=f"wamid.floor.{os.getpid()}.{n}", timestamp=str(int(time.time())))
        value["messages"][0]["from"] = sender
        raw = json.dumps(body).encode()
        headers = {"X-Hub-Signature-256": signature_header(tenant["meta_secret"], raw)}
        response = client.post(path, data=raw, content_type="application/json", headers=headers)
        assert response.status_code == 200, response.status_code

    real = f"/whatsapp/webhook/{tenant['meta_key']}/"
    bare = f"/_bench/bare-webhook/{tenant['meta_key']}/"
    fresh = iter(range(10**9))
    return {
        "bare webhook (HMAC + 2 inserts)": lambda: post(bare, sender="5599999999999"),
        "webhook, a new client's first message": lambda: post(real, sender=f"5577{next(fresh):09d}"),
        "webhook, a known client's next message": lambda: post(real, sender="5566000000001"),
    }


def measure(tickets: int) -> list[dict]:
    from django.test import Client

    from accounts.models import User
    from bench import seeding, tasks
    from tickets.models import Ticket

    tenant = tasks.seed_tenant(api_base="http://127.0.0.1:1", extra_agents=0)
    seeding.seed_queue(total=tickets, connection_key="demo-meta")
    agent, supervisor = "agente1@demo.local", "revenda@demo.local"
    held = Ticket.objects.filter(agent__email=agent, status=Ticket.Status.OPEN).order_by("-last_message_at").first()
    clients = {}
    for email in (agent, supervisor):
        clients[email] = Client()
        clients[email].force_login(User.objects.get(email=email))
    anonymous = Client()
    rows: list[dict] = []

    def row(name: str, ms: float, base: float | None = None, base_name: str = "/healthz"):
        rows.append({"request": name, "cpu_ms": ms, "ratio": round(ms / base, 2) if base else None, "to": base_name})
        print(f"  {name:<58} {ms:8.2f} ms" + (f"  {ms / base:6.2f}× {base_name}" if base else ""), flush=True)

    health = _cpu_ms(lambda: anonymous.get("/healthz"))
    row("GET /healthz", health)
    row("login only (login_required, 204)", _cpu_ms(lambda: clients[agent].get("/_bench/login-only/")), health)
    targets = (  # (page, whose, as whom, path): each measured as its unchanged poll, then as a page
        ("queue", "agent, Espera", agent, "/tickets/?status=espera"),
        ("queue", "agent, Atendendo", agent, "/tickets/?status=atendendo"),
        ("queue", "supervisor, Espera", supervisor, "/tickets/?status=espera"),
        ("conversation", "agent", agent, f"/tickets/{held.pk}/"),
    )
    for kind, who, email, path in targets:
        row(f"{kind} poll 204, {who}", _cpu_ms(_Poll(clients[email], path)), health)
    for kind, who, email, path in targets:
        client = clients[email]
        row(f"{kind} page, {who}", _cpu_ms(lambda c=client, p=path: c.get(p)), health)
        with _without_templates():
            row("  … without its template", _cpu_ms(lambda c=client, p=path: c.get(p)), health)
    hooks = _webhooks(tenant)
    bare = _cpu_ms(hooks.pop("bare webhook (HMAC + 2 inserts)"))
    row("bare webhook (HMAC + 2 inserts)", bare, health)
    for name, call in hooks.items():
        row(name, _cpu_ms(call), bare, "bare webhook")
    return rows


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    from bench import tasks

    tasks._django()
    from django.core.management import call_command
    from django.db import connection

    tickets = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    server = connection.vendor != "sqlite"
    if server:  # test_<NAME>: made and dropped by Django's test-database machinery, never NAME itself
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    else:
        call_command("migrate", verbosity=0, interactive=False)
    print(f"CPU per request, in-process, median of {REPEAT} ({connection.vendor}, {tickets:,} tickets)")
    try:
        rows = measure(tickets)
    finally:
        if server:
            connection.creation.destroy_test_db(str(connection.settings_dict["NAME"]), verbosity=0)
    print(tasks.RESULT_PREFIX + json.dumps(rows))


if __name__ == "__main__":
    main()
