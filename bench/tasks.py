"""Django-side steps of the benchmark, each run in its own process with the profile's environment:

    python -m bench.tasks <task> '<json kwargs>'

The orchestrator (bench.run) never imports Django itself, so one run can drive two
database profiles. A task prints its result as one `BENCH-RESULT {json}` line.
"""

from __future__ import annotations

import json
import os
import sys

RESULT_PREFIX = "BENCH-RESULT "
BENCH_PASSWORD = "bench-senha-123"
META_SECRET = "bench-meta-app-secret"
SCRATCH_PREFIXES = ("iaze_bench", "test_")


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iaze.settings")
    import django

    django.setup()


def _guard_scratch():
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" and not name.startswith(SCRATCH_PREFIXES):
        raise SystemExit(
            f"refusing to use {name!r}: the benchmark only runs on a scratch database "
            f"whose name starts with {' or '.join(SCRATCH_PREFIXES)}"
        )
    return connection


def create_db() -> dict:
    """A fresh, migrated database: a new file on SQLite; on a server, a scratch database
    made (and later dropped) by Django's own test-database machinery, like the test suite's."""
    from django.core.management import call_command

    connection = _guard_scratch()
    call_command("collectstatic", interactive=False, verbosity=0)  # as `make run` does before serving
    if connection.vendor == "sqlite":
        call_command("migrate", verbosity=0, interactive=False)
    else:
        connection.settings_dict.setdefault("TEST", {})["NAME"] = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return {"vendor": connection.vendor, "name": str(connection.settings_dict["NAME"])}


def destroy_db() -> dict:
    connection = _guard_scratch()
    if connection.vendor == "sqlite":
        return {"dropped": False}
    connection.creation.destroy_test_db(verbosity=0)
    return {"dropped": str(connection.settings_dict["NAME"])}


def seed_tenant(*, api_base: str, extra_agents: int) -> dict:
    """The demo tenant (through the public seed_demo command) plus extra Suporte agents."""
    from io import StringIO

    from django.core.management import call_command

    from accounts.models import Department, User
    from whatsapp.models import Connection

    call_command(
        "seed_demo",
        password=BENCH_PASSWORD,
        meta_app_secret=META_SECRET,
        meta_verify_token="bench-verify",
        evolution_apikey="bench-evo-key",
        api_base=api_base,
        stdout=StringIO(),
    )
    suporte = Department.objects.get(reseller__slug="demo", name="Suporte")
    for n in range(extra_agents):
        email = f"bench-agente{n:02d}@demo.local"
        if not User.objects.filter(email=email).exists():
            user = User.objects.create_user(
                email=email,
                password=None,
                name=f"Bench Agente {n:02d}",
                role=User.Role.AGENT,
                reseller=suporte.reseller,
            )
            user.departments.set([suporte])
    meta = Connection.objects.get(key="demo-meta")
    _calibration_ticket(meta)
    return {
        "meta_key": meta.key,
        "meta_secret": meta.app_secret,
        "phone_number_id": meta.phone_number_id,
        "cookies": {
            email: _session_cookie(email) for email in ("agente1@demo.local", "revenda@demo.local", "admin@demo.local")
        },
    }


def _calibration_ticket(connection) -> None:
    """The open ticket the bare calibration webhook (bench.bare) appends its messages to."""
    from accounts.models import Client
    from bench.bare import CALIBRATION_CLIENT
    from tickets import services

    client, _ = Client.objects.get_or_create(
        reseller=connection.reseller,
        identity=CALIBRATION_CLIENT,
        defaults={"wa_id": CALIBRATION_CLIENT, "name": "Calibração"},
    )
    services.inbound_route(connection=connection, client=client)


def _session_cookie(email: str) -> str:
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def seed_queue(*, total: int, connection_key: str) -> dict:
    from bench import seeding

    return seeding.seed_queue(total=total, connection_key=connection_key)


def seed_conversation(*, messages: int, connection_key: str, agent_email: str) -> dict:
    from bench import seeding
    from tickets.models import Ticket

    long_id = seeding.seed_conversation(messages=messages, connection_key=connection_key, agent_email=agent_email)
    # A ticket of the same agent with the usual 10 messages, to show the query count does not grow.
    small = (
        Ticket.objects.filter(agent__email=agent_email, status=Ticket.Status.OPEN)
        .exclude(pk=long_id)
        .order_by("-last_message_at")
        .values_list("pk", flat=True)
        .first()
    )
    return {"ticket": long_id, "small_ticket": str(small)}


def planner_statistics() -> dict:
    """What the planner knows as the pages are measured: SQLite's statistics are the app's own only."""
    from django.db import connection

    from iaze.lib import sqlite_stats

    if connection.vendor != "sqlite":
        return {"vendor": connection.vendor, "statistics": "as autovacuum leaves them (seeding.autovacuum_stand_in)"}
    return {"vendor": "sqlite", "statistics": "some" if sqlite_stats.has_statistics(connection) else "none"}


def query_counts(*, email: str, paths: list[str]) -> dict:
    """Queries each page runs, counted in-process with the same code the server runs."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email=email))
    out = {}
    for path in paths:
        client.get(path)  # warm caches (ContentTypes, translations) as a running worker has them
        with CaptureQueriesContext(connection) as ctx:
            resp = client.get(path)
        out[path] = {"status": resp.status_code, "queries": len(ctx.captured_queries), "bytes": len(resp.content)}
    return out


def api_tokens(*, emails: list[str]) -> dict:
    """A fresh API token for each user, for the API bench (bench.api_bench): {email: secret}."""
    from accounts import tokens
    from accounts.models import User

    return {email: tokens.token_create(user=User.objects.get(email=email), name="bench")[1] for email in emails}


def api_sync_point() -> dict:
    """An `updated_after` a syncing client might send: the stamp of the 1,000th latest change."""
    from tickets.models import Ticket

    changed = Ticket.objects.filter(changed_at__isnull=False).order_by("-changed_at")
    stamps = changed.values_list("changed_at", flat=True)
    point = list(stamps[999:1000]) or list(stamps[:1])
    return {"updated_after": point[0].isoformat() if point else "2000-01-01T00:00:00+00:00"}


def api_query_counts(*, email: str, paths: list[str]) -> dict:
    """Queries each API list runs, counted in-process, with a token of the user."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts import tokens
    from accounts.models import User

    _token, secret = tokens.token_create(user=User.objects.get(email=email), name="bench-count")
    client = Client(headers={"Authorization": f"Bearer {secret}"})
    out = {}
    for path in paths:
        client.get(path)  # warm caches, as a running worker has them
        with CaptureQueriesContext(connection) as ctx:
            resp = client.get(path)
        results = len(resp.json().get("results", [])) if resp.status_code == 200 else 0
        out[path] = {
            "status": resp.status_code,
            "queries": len(ctx.captured_queries),
            "bytes": len(resp.content),
            "results": results,
        }
    return out


def main() -> None:
    from bench import checks, profiling

    name = sys.argv[1]
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    _django()
    func = globals().get(name) or getattr(checks, name, None) or getattr(profiling, name)
    result = func(**kwargs)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result, default=str) + "\n")


if __name__ == "__main__":
    main()
