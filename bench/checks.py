"""Django-side measurements that need the models: ingest accounting, claim contention, outbox state."""

from __future__ import annotations

import random
import threading
import time

from bench.loadgen import percentile


def ingest_check(*, connection_key: str, ids_file: str, prefix: str, settle_s: float = 30.0) -> dict:
    """Every accepted event is one stored message: none lost, none stored twice.

    If messages are parsed after the 200 (from the journal), wait a bounded time
    for the count to stop growing before judging.
    """
    from django.db.models import Count

    from tickets.models import Message

    accepted = set(open(ids_file).read().split())
    qs = Message.objects.filter(connection__key=connection_key, provider_message_id__startswith=prefix)
    deadline = time.monotonic() + settle_s
    stored, unchanged_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now_stored = qs.count()
        if now_stored != stored:
            stored, unchanged_since = now_stored, time.monotonic()
        if stored >= len(accepted) or time.monotonic() - unchanged_since > 2:
            break
        time.sleep(0.25)
    stored_ids = set(qs.values_list("provider_message_id", flat=True))
    duplicated = qs.values("provider_message_id").annotate(n=Count("id")).filter(n__gt=1).count()
    return {
        "accepted": len(accepted),
        "stored": stored,
        "lost": len(accepted - stored_ids),
        "duplicated": duplicated,
        "stored_not_acknowledged": len(stored_ids - accepted),
    }


def claims(*, agents: int, tickets: int, connection_key: str) -> dict:
    """`agents` threads, one per agent and database connection, all claiming the same
    `tickets` espera tickets through tickets.services.ticket_claim, released by one barrier."""
    from django.db import connection as db

    from accounts.models import Client, User
    from tickets import services
    from tickets.models import Ticket, TicketEvent
    from whatsapp.models import Connection

    conn = Connection.objects.get(key=connection_key)
    users = list(
        User.objects.filter(reseller=conn.reseller, role=User.Role.AGENT, departments=conn.default_department).order_by(
            "email"
        )[:agents]
    )
    if len(users) < agents:
        raise SystemExit(f"only {len(users)} agents in {conn.default_department}; seed more")
    targets = []
    for n in range(tickets):
        identity = f"5577{n:09d}"
        client, _ = Client.objects.get_or_create(
            reseller=conn.reseller, identity=identity, defaults={"wa_id": identity, "phone": identity}
        )
        ticket, _ = services.inbound_route(connection=conn, client=client)
        services.message_store(
            ticket=ticket,
            msg=services.InboundMessage(provider_message_id=f"wamid.claim.{n}", text="Alguém pode me atender?"),
        )
        targets.append(ticket)
    barrier = threading.Barrier(agents)
    wins: dict[str, list[str]] = {}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def agent_loop(index: int, user) -> None:
        order = list(targets)
        random.Random(index).shuffle(order)
        mine, lat = [], []
        try:
            barrier.wait()
            for ticket in order:
                t0 = time.perf_counter()
                try:
                    services.ticket_claim(ticket=ticket, agent=user)
                    mine.append(str(ticket.pk))
                except services.TicketConflict:
                    pass
                lat.append(time.perf_counter() - t0)
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            db.close()
        with lock:
            latencies.extend(lat)
            for pk in mine:
                wins.setdefault(pk, []).append(user.email)

    threads = [threading.Thread(target=agent_loop, args=(i, u)) for i, u in enumerate(users)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    pks = [t.pk for t in targets]
    holders = dict(Ticket.objects.filter(pk__in=pks).values_list("pk", "agent__email"))
    events = TicketEvent.objects.filter(ticket_id__in=pks, action=TicketEvent.Action.CLAIMED)
    per_ticket = {}
    for tid in events.values_list("ticket_id", flat=True):
        per_ticket[tid] = per_ticket.get(tid, 0) + 1
    latencies.sort()

    def pct(q):
        return round(percentile(latencies, q) * 1000, 2)

    claimed_once = sum(1 for pk in pks if len(wins.get(str(pk), [])) == 1)
    agrees = sum(1 for pk in pks if wins.get(str(pk)) and holders.get(pk) == wins[str(pk)][0])
    return {
        "agents": agents,
        "tickets": tickets,
        "attempts": len(latencies),
        "wall_s": round(wall, 2),
        "claimed_exactly_once": claimed_once,
        "holder_matches_winner": agrees,
        "claimed_twice_or_more": sum(1 for v in wins.values() if len(v) > 1),
        "unclaimed": sum(1 for pk in pks if not holders.get(pk)),
        "claim_events_per_ticket_max": max(per_ticket.values() or [0]),
        "claim_events": sum(per_ticket.values()),
        "p50_ms": pct(50),
        "p95_ms": pct(95),
        "p99_ms": pct(99),
        "max_ms": round(latencies[-1] * 1000, 2),
        "errors": errors[:5],
    }


def outbox_enqueue(*, count: int, tag: str, connection_key: str, tickets: int = 20) -> dict:
    """`count` agent replies queued through tickets.services, spread over `tickets` tickets in atendendo."""
    from accounts.models import Client, User
    from tickets import outbox, services
    from whatsapp.models import Connection

    conn = Connection.objects.get(key=connection_key)
    agent = User.objects.get(email="agente1@demo.local")
    held = []
    for n in range(tickets):
        identity = f"5566{n:09d}"
        client, _ = Client.objects.get_or_create(
            reseller=conn.reseller, identity=identity, defaults={"wa_id": identity, "phone": identity}
        )
        ticket, created = services.inbound_route(connection=conn, client=client)
        if created:
            services.message_store(
                ticket=ticket,
                msg=services.InboundMessage(provider_message_id=f"wamid.outbox.{n}", text="Aguardo retorno"),
            )
            ticket = services.ticket_claim(ticket=ticket, agent=agent)
        held.append(ticket)
    for i in range(count):
        outbox.message_enqueue_outbound(ticket=held[i % len(held)], text=f"{tag} #{i}", agent=agent)
    return {"queued": count}


def outbox_status(*, tag: str) -> dict:
    from django.db.models import Count

    from tickets.models import Message

    rows = (
        Message.objects.filter(direction=Message.Direction.OUT, text__startswith=f"{tag} #")
        .values("delivery_status")
        .annotate(n=Count("id"))
    )
    return {r["delivery_status"]: r["n"] for r in rows}


def webhook_delivery(*, events: int, tickets: int = 20) -> dict:
    """bench.webhooks_bench: `events` ticket changes recorded and delivered to a receiver in this process."""
    import json
    import time

    from django.conf import settings

    from accounts.models import Client
    from tests.webhooks.receiver import Receiver
    from tickets import services
    from tickets.activity import ticket_change
    from webhooks import services as hooks
    from webhooks.delivery import deliveries_pass, webhook_runner
    from webhooks.models import WebhookDelivery
    from webhooks.recorder import record_pass
    from whatsapp.models import Connection

    conn = Connection.objects.get(key="demo-meta")
    held = []
    for n in range(tickets):
        identity = f"5577{n:09d}"
        client, _ = Client.objects.get_or_create(
            reseller=conn.reseller, identity=identity, defaults={"wa_id": identity, "phone": identity}
        )
        held.append(services.inbound_route(connection=conn, client=client)[0])
    with Receiver() as rx:
        hook, _secret = hooks.webhook_create(
            reseller=conn.reseller, url=rx.url("/bench?token=b"), events=["ticket.transferred"]
        )
        for i in range(events):
            ticket_change(held[i % len(held)].pk, action="transferred", data={"bench": i})
        t0 = time.monotonic()
        while record_pass(limit=500)["recorded"]:
            pass
        recorded_s = time.monotonic() - t0
        runner = webhook_runner(threads=int(getattr(settings, "WEBHOOK_WORKERS", 4)))
        t0 = time.monotonic()
        pending = WebhookDelivery.objects.filter(webhook=hook, status=WebhookDelivery.Status.PENDING)
        while pending.exists():
            deliveries_pass(runner=runner, limit=200)
            runner.wait_one(1.0)
        runner.close()
        delivered_s = time.monotonic() - t0
        hooks.webhook_update(hook, active=False)
        bodies: dict[str, set] = {}
        for call in rx.calls:
            bodies.setdefault(json.loads(call.body)["id"], set()).add(call.body)
    delivered = WebhookDelivery.objects.filter(webhook=hook, status=WebhookDelivery.Status.DELIVERED).count()
    return {
        "events": events,
        "delivered": delivered,
        "posts": len(rx.calls),
        "twice": len(rx.calls) - len(bodies),
        "changed_content": sum(1 for b in bodies.values() if len(b) > 1),
        "threads": runner.threads,
        "recorded_per_s": round(events / recorded_s, 1) if recorded_s else None,
        "delivered_per_s": round(delivered / delivered_s, 1) if delivered_s else None,
    }
