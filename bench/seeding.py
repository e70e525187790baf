"""Bulk seeding for the scale benchmarks (Django side; imported only after django.setup()).

A million messages through the ORM one by one would take longer than the whole
benchmark, so rows are shaped exactly as the services write them and inserted
in batches: COPY on PostgreSQL, executemany on SQLite, bulk_create elsewhere.
Values go through each field's own get_db_prep_save, so UUIDs, datetimes and
JSON are stored the way Django stores them on every backend.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from datetime import timedelta

from django.db import connections, models, transaction

from accounts.models import Client, ClientTerm, Department, User
from accounts.search import client_terms, words
from iaze.lib import clock
from tickets import services
from tickets.models import Message, Ticket, TicketTerm
from tickets.rules import localtime
from whatsapp.models import Connection

BATCH = 20_000
db = connections["default"]  # the real wrapper: the proxy costs a lookup per attribute
MESSAGES_PER_TICKET = 10
WORDS = (
    "olá bom dia preciso de ajuda com meu pedido que ainda não chegou pode verificar por favor "
    "obrigado claro vou conferir aqui o código de rastreio está correto boleto pagamento segunda via"
).split()


class Progress:
    """A one-line progress bar on stderr (the benchmark's stdout carries JSON)."""

    def __init__(self, label: str, total: int):
        self.label, self.total, self.done, self.t0, self._last = label, total, 0, time.monotonic(), 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last > 0.25 or self.done >= self.total:
            self._last = now
            frac = self.done / self.total if self.total else 1
            bar = "#" * int(frac * 30)
            rate = self.done / max(now - self.t0, 1e-9)
            sys.stderr.write(f"\r  {self.label:<10} [{bar:<30}] {self.done:>9,}/{self.total:,} {rate:>9,.0f}/s")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def _converter(field, vendor: str):
    """The field's own get_db_prep_save, short-circuited for the hot types (same output, checked)."""
    if vendor not in ("sqlite", "postgresql"):
        return lambda v: field.get_db_prep_save(v, db)  # bulk_create below: no shortcut needed
    kind = field.target_field.get_internal_type() if field.is_relation else field.get_internal_type()
    if kind == "UUIDField":
        return (lambda v: None if v is None else v.hex) if vendor == "sqlite" else (lambda v: v)
    if kind == "DateTimeField":
        # Rows carry UTC datetimes (clock.now()); SQLite stores them naive, as Django does.
        if vendor == "sqlite":
            return lambda v: None if v is None else str(v.replace(tzinfo=None))
        return lambda v: v
    if kind in ("CharField", "TextField", "BooleanField", "PositiveIntegerField", "SlugField", "EmailField"):
        return lambda v: v
    return lambda v: field.get_db_prep_save(v, db)


def bulk_insert(model: type[models.Model], rows: list[dict]) -> None:
    """Insert plain dicts (attname → Python value) in one statement per batch."""
    if not rows:
        return
    fields = list(model._meta.local_concrete_fields)
    constants = {f.attname: f.get_db_prep_save(f.get_default(), db) for f in fields if f.attname not in rows[0]}
    varying = [(f.attname, _converter(f, db.vendor)) for f in fields if f.attname not in constants]
    for f in fields:  # the shortcuts must store exactly what Django would
        if f.attname not in constants:
            fast, slow = dict(varying)[f.attname](rows[0][f.attname]), f.get_db_prep_save(rows[0][f.attname], db)
            assert fast == slow, (model.__name__, f.attname, fast, slow)
    order = [f.attname for f in fields]
    table = db.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(db.ops.quote_name(f.column) for f in fields)

    def values(row):
        out = dict(constants)
        for name, conv in varying:
            out[name] = conv(row[name])
        return [out[name] for name in order]

    if db.vendor == "postgresql":
        db.ensure_connection()
        with db.connection.cursor() as cur, cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
    elif db.vendor == "sqlite":
        placeholders = ", ".join(["%s"] * len(fields))
        # One transaction per batch: in autocommit every row would be its own fsync.
        with transaction.atomic(), db.cursor() as cur:
            cur.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({placeholders})", [values(r) for r in rows])
    else:
        # bulk_create would stamp auto_now/auto_now_add fields with now: the rows carry their own times.
        stamped = [
            (f, f.auto_now, f.auto_now_add)
            for f in fields
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        for f, _, _ in stamped:
            f.auto_now = f.auto_now_add = False
        try:
            model.objects.bulk_create([model(**row) for row in rows], batch_size=1000)
        finally:
            for f, auto_now, auto_now_add in stamped:
                f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _fast_writes() -> None:
    """Seeding only: a crash would just mean seeding again, so skip the per-commit fsync and give
    SQLite a cache big enough for a million-row index. The server keeps its own durable settings."""
    if db.vendor == "sqlite" and not db.in_atomic_block:  # SQLite refuses the change inside a transaction
        with db.cursor() as cur:
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-262144")


def _terms(out: dict, model, reseller_id, owner_id, found: set[str]) -> None:
    owner = "client_id" if model is ClientTerm else "ticket_id"
    stamp = clock.now()
    out[model].extend(
        {
            "id": uuid.uuid4(),
            "reseller_id": reseller_id,
            owner: owner_id,
            "term": t,
            "created_at": stamp,
            "updated_at": stamp,
        }
        for t in sorted(found)
    )


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 16))).capitalize()


def seed_queue(*, total: int, connection_key: str, per_ticket: int = MESSAGES_PER_TICKET) -> dict:
    """Grow the bench tenant to `total` tickets with `per_ticket` messages each (adds only the missing ones).

    Mix: 40 % espera, 40 % atendendo, 20 % finalizado; 70 % in Suporte, 30 % in Financeiro;
    last activity spread over the past 30 days.
    """
    conn = Connection.objects.select_related("reseller").get(key=connection_key)
    reseller = conn.reseller
    existing = Ticket.objects.filter(connection=conn, client__identity__startswith="5500").count()
    missing = total - existing
    if missing <= 0:
        return {"tickets": existing, "added": 0, "seconds": 0.0}
    depts = {d.name: d for d in Department.objects.filter(reseller=reseller)}
    agents = {
        name: list(User.objects.filter(departments=dept, role=User.Role.AGENT, is_active=True).order_by("email")[:2])
        for name, dept in depts.items()
    }
    tz = localtime.tenant_timezone(reseller.pk)
    now = clock.now()
    t0 = time.monotonic()
    _fast_writes()
    bar = Progress("tickets", missing)
    for start in range(existing, total, BATCH // MESSAGES_PER_TICKET):
        stop = min(total, start + BATCH // MESSAGES_PER_TICKET)
        clients, tickets, messages, terms = [], [], [], {ClientTerm: [], TicketTerm: []}
        for i in range(start, stop):
            rng = random.Random(i)
            dept_name = "Suporte" if i % 10 < 7 else "Financeiro"
            dept = depts[dept_name]
            state = ("espera", "espera", "atendendo", "atendendo", "finalizado")[i % 5]
            agent = None if state == "espera" else agents[dept_name][i % len(agents[dept_name])]
            last = now - timedelta(seconds=rng.randint(60, 30 * 86400))
            first = last - timedelta(minutes=MESSAGES_PER_TICKET * 3)
            client_id, ticket_id = uuid.uuid4(), uuid.uuid4()
            identity = f"5500{i:09d}"
            clients.append(
                dict(
                    id=client_id,
                    reseller_id=reseller.pk,
                    identity=identity,
                    wa_id=identity,
                    phone=identity,
                    name=f"Cliente {i}",
                    created_at=first,
                    updated_at=first,
                )
            )
            texts = [_text(rng) for _ in range(MESSAGES_PER_TICKET)]
            # The search index as the services write it (accounts.search, tickets.reads.search).
            _terms(terms, ClientTerm, reseller.pk, client_id, client_terms(name=f"Cliente {i}", phone=identity))
            _terms(terms, TicketTerm, reseller.pk, ticket_id, set().union(*(words(t) for t in texts[:per_ticket])))
            for j, text in enumerate(texts[:per_ticket]):
                at = first + timedelta(minutes=3 * (j + 1))
                inbound = j % 2 == 0
                messages.append(
                    dict(
                        id=uuid.uuid4(),
                        ticket_id=ticket_id,
                        connection_id=conn.pk,
                        direction=Message.Direction.IN if inbound else Message.Direction.OUT,
                        kind=Message.Kind.TEXT,
                        raw_type="text",
                        text=text,
                        provider_message_id=f"wamid.seed.{i}.{j}",
                        provider_timestamp=at if inbound else None,
                        sender_agent_id=None if inbound or agent is None else agent.pk,
                        delivery_status="" if inbound else Message.Delivery.READ,
                        sent_at=None if inbound else at,
                        created_at=at,
                        updated_at=at,
                    )
                )
            # Report fields as the services stamp them: the first agent reply (message 2), resolution, a rating.
            answered = agent is not None
            closed_at = last if state == "finalizado" else None
            tickets.append(
                dict(
                    first_response_at=first + timedelta(minutes=6) if answered else None,
                    first_response_seconds=360 + rng.randint(0, 3600) if answered else None,
                    resolution_seconds=int((closed_at - first).total_seconds()) if closed_at else None,
                    rating=rng.randint(1, 5) if closed_at and i % 2 else None,
                    id=ticket_id,
                    reseller_id=reseller.pk,
                    department_id=dept.pk,
                    client_id=client_id,
                    connection_id=conn.pk,
                    status=Ticket.Status.CLOSED if state == "finalizado" else Ticket.Status.OPEN,
                    agent_id=agent.pk if agent else None,
                    claimed_at=first if agent else None,
                    closed_at=last if state == "finalizado" else None,
                    closed_by_id=agent.pk if state == "finalizado" else None,
                    last_message_at=first + timedelta(minutes=3 * MESSAGES_PER_TICKET),
                    last_message_preview=texts[-1][:200],
                    last_inbound_at=first + timedelta(minutes=3 * 9),
                    last_client_preview=texts[-2][:200],
                    # The last message is the agent's reply; an Espera ticket's replies stand for automatic texts.
                    last_human_reply_at=first + timedelta(minutes=3 * MESSAGES_PER_TICKET) if agent else None,
                    created_at=first,
                    updated_at=last,
                    # The stamp of the latest change, as tickets.activity keeps it (the API's `updated_after`
                    # reads it); version 0: the change feed does not look for records of these rows.
                    changed_at=last,
                    **localtime.opened_stamps(first, tz),
                    closed_local_date=localtime.closed_stamps(closed_at, tz)["closed_local_date"]
                    if closed_at
                    else None,
                )
            )
        bulk_insert(Client, clients)
        bulk_insert(Ticket, tickets)
        bulk_insert(Message, messages)
        for model, rows in terms.items():
            bulk_insert(model, rows)
        bar.add(len(tickets))
    # The rows bypassed the services, so their report rollups are counted the way an existing installation's
    # are: one recount of the tenant (tickets.services.rollups_rebuild).
    rebuilt = services.report_rollups_rebuild(reseller_id=reseller.pk)
    autovacuum_stand_in()
    # Read back through the ORM: the raw rows must be ordinary tickets with their 10 messages.
    seeded = Ticket.objects.filter(connection=conn, client__identity__startswith="5500")
    newest = seeded.order_by("-client__identity").select_related("client").first()
    if seeded.count() != total or newest.messages.count() != per_ticket:
        raise RuntimeError(f"seeding check failed: {seeded.count()} tickets, {newest.messages.count()} messages")
    return {
        "tickets": total,
        "added": missing,
        "seconds": round(time.monotonic() - t0, 1),
        "rollup_rows": rebuilt["rows"],
    }


def seed_conversation(*, messages: int, connection_key: str, agent_email: str) -> str:
    """One ticket in atendendo, held by the agent, with `messages` messages. Returns its id."""
    conn = Connection.objects.select_related("reseller").get(key=connection_key)
    agent = User.objects.get(email=agent_email)
    dept = conn.default_department
    now = clock.now()
    first = now - timedelta(minutes=messages)
    client_id, ticket_id = uuid.uuid4(), uuid.uuid4()
    identity = "5599000000001"
    bulk_insert(
        Client,
        [
            dict(
                id=client_id,
                reseller_id=conn.reseller_id,
                identity=identity,
                wa_id=identity,
                phone=identity,
                name="Cliente Conversa Longa",
                created_at=first,
                updated_at=first,
            )
        ],
    )
    rng = random.Random(5000)
    _fast_writes()
    texts = [_text(rng) for _ in range(messages)]
    terms: dict = {ClientTerm: [], TicketTerm: []}
    _terms(terms, ClientTerm, conn.reseller_id, client_id, client_terms(name="Cliente Conversa Longa", phone=identity))
    _terms(terms, TicketTerm, conn.reseller_id, ticket_id, set().union(*(words(t) for t in texts)))
    bulk_insert(
        Ticket,
        [
            dict(
                id=ticket_id,
                reseller_id=conn.reseller_id,
                department_id=dept.pk,
                client_id=client_id,
                connection_id=conn.pk,
                status=Ticket.Status.OPEN,
                agent_id=agent.pk,
                claimed_at=first,
                closed_at=None,
                closed_by_id=None,
                last_message_at=now,
                last_message_preview=texts[-1],
                last_inbound_at=now,
                last_client_preview=texts[-1 if messages % 2 else -2][:200],
                last_human_reply_at=None if messages % 2 else now,
                created_at=first,
                updated_at=now,
            )
        ],
    )
    bar = Progress("messages", messages)
    rows = []
    for j, text in enumerate(texts):
        at = first + timedelta(minutes=j)
        inbound = j % 2 == 0
        rows.append(
            dict(
                id=uuid.uuid4(),
                ticket_id=ticket_id,
                connection_id=conn.pk,
                direction=Message.Direction.IN if inbound else Message.Direction.OUT,
                kind=Message.Kind.TEXT,
                raw_type="text",
                text=text,
                provider_message_id=f"wamid.long.{j}",
                provider_timestamp=at if inbound else None,
                sender_agent_id=None if inbound else agent.pk,
                delivery_status="" if inbound else Message.Delivery.READ,
                sent_at=None if inbound else at,
                created_at=at,
                updated_at=at,
            )
        )
    for start in range(0, len(rows), BATCH):
        bulk_insert(Message, rows[start : start + BATCH])
        bar.add(len(rows[start : start + BATCH]))
    for model, term_rows in terms.items():
        bulk_insert(model, term_rows)
    autovacuum_stand_in()
    return str(ticket_id)


def autovacuum_stand_in() -> None:
    """The database as a real one of its profile is, after the bulk rows: nothing more.

    PostgreSQL's autovacuum analyses a table once a tenth of its rows changed, within a minute
    (`autovacuum_naptime`); some test servers run with it off, so its ANALYZE is run here. SQLite has no
    such thing: no statistics are made here, and the pages are measured on the database as the app
    itself keeps it (iaze.lib.sqlite_stats: PRAGMA optimize when a connection opens; the worker's
    refresh, which the pages phase does not run, so they are measured without any statistics: the state
    of a database before its worker's first pass, and the one whose plans must not depend on them)."""
    if db.vendor == "postgresql":
        with db.cursor() as cur:
            cur.execute("ANALYZE clients, tickets, messages, report_rollups, client_search_terms, ticket_search_terms")
