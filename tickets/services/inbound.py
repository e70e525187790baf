"""The writers of what clients send: routing into a ticket, storing messages, the menu, edits, ratings.

These are the steps of the one door for a client's message (`receive.message_receive`, which runs them in
the domain's order). `inbound_route` and `message_store` stay public building blocks, and a client's edit
or delete of a message (`message_client_edit`, `message_client_delete`) comes straight from the channel;
the greeting, the menu, the rating answer and completing a repeat are run by the door only and are not
exported from `tickets.services`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Q

from iaze.lib import clock
from providers.types import InboundMessage
from tickets.activity import (
    created_change,
    message_preview,
    message_recorded,
    ticket_change,
    ticket_created_record,
    ticket_touch,
)
from tickets.media import downloads as media_downloads
from tickets.models import Message, Ticket, TicketEvent, UIState
from tickets.reads.search import ticket_terms_add
from tickets.rules import auto_messages, localtime, menu, satisfaction
from tickets.services.automatic import ticket_auto_message_send
from tickets.services.rollups import ticket_rollup_sync


def inbound_route(
    *, connection: Any, client: Any, at: datetime | None = None, tz: ZoneInfo | None = None
) -> tuple[Ticket, bool]:
    """The client's open ticket on this connection, or a new one in espera.

    A closed ticket is never reopened. Concurrent first messages converge on
    one ticket through the partial unique index (connection, client, status=open).
    `tz`: the tenant's zone when the caller already read its config (read here otherwise).
    """
    open_tickets = Ticket.objects.filter(connection=connection, client=client, status=Ticket.Status.OPEN)
    for _attempt in range(5):
        # At most one row (the partial unique index): no ORDER BY, which costs the ORM more than the database.
        ticket = next(iter(open_tickets[:1]), None)
        if ticket is not None:
            return ticket, False
        tz = tz or localtime.tenant_timezone(connection.reseller_id)
        # The reports' local day and hour (tickets.rules.localtime), in the insert itself. created_at is stamped
        # by the same clock in the same call (a millisecond later at most, unless the clock is frozen).
        now = clock.now()
        try:
            with transaction.atomic():
                # The ticket's first change (version 1) is its insert; its record is written with it on
                # SQL databases (on MongoDB the insert carries the copy the reader falls back on).
                ticket = Ticket.objects.create(
                    reseller_id=connection.reseller_id,
                    department_id=connection.default_department_id,
                    client=client,
                    connection=connection,
                    status=Ticket.Status.OPEN,
                    last_message_at=clock.to_ms(at) or now,
                    **localtime.opened_stamps(now, tz),
                    **created_change(at=now, to_state=UIState.ESPERA),
                )
                ticket_created_record(ticket)
        except IntegrityError:
            continue  # another worker opened it first: read theirs
        ticket_rollup_sync(ticket.pk, tz=tz, known=ticket)
        return ticket, True
    raise RuntimeError(f"could not route a message of client {client.pk} on connection {connection.pk}")


def message_store(
    *,
    ticket: Ticket,
    msg: InboundMessage,
    direction: str = Message.Direction.IN,
    from_business_phone: bool = False,
    delivery_status: str = "",
    source_event_id: Any = None,
) -> Message | None:
    """Store one provider message on a ticket, exactly once. None when it was already stored.

    The message first, then its ticket's activity: a crash in between is completed by
    message_settle when the same message is processed again.

    A photo, voice note, video or document gets its download job recorded with it (tickets.media.store);
    the worker fetches the file, never the webhook request."""
    try:
        with transaction.atomic():
            message = Message.objects.create(
                ticket=ticket,
                connection_id=ticket.connection_id,
                direction=direction,
                kind=msg.kind,
                raw_type=msg.raw_type,
                text=msg.text,
                media=_without_nul(msg.media or {}),
                provider_message_id=msg.provider_message_id,
                reply_to_provider_id=msg.reply_to_provider_id,
                provider_timestamp=clock.to_ms(msg.timestamp),
                from_business_phone=from_business_phone,
                delivery_status=delivery_status,
            )
            media_downloads.download_enqueue(message, source_event_id=source_event_id)
            ticket_terms_add(ticket, msg.text, (msg.media or {}).get("caption", ""))
    except IntegrityError:
        return None  # the provider delivered it again
    _message_touch(ticket, message)
    return message


def _message_touch(ticket: Ticket, message: Message) -> None:
    """The ticket's change for a stored message: its activity, and the record naming the message."""
    at = message.provider_timestamp or message.created_at
    ticket_touch(
        ticket,
        at=at,
        preview=message_preview(message.kind, message.text, message.media),
        inbound=message.direction == Message.Direction.IN,
        # The 24-hour window counts from the provider's stamp, never later than the message reached
        # us: a client's clock ahead of ours must not stretch it (tickets.rules.window).
        inbound_at=min(at, clock.now()),
        # Someone answered on the business's own phone: a person's answer, like an agent's reply.
        human=message.direction == Message.Direction.OUT and message.from_business_phone,
        to_state=ticket.ui_state,
        message_id=str(message.pk),
        direction=message.direction,
    )


def message_settle(*, ticket: Ticket, message: Message) -> None:
    """Apply a stored message to its ticket if that step is missing (a crash between the message's
    insert and its ticket's change). Writes nothing when a change of the ticket already names it."""
    if not message_recorded(ticket.pk, message.pk):
        _message_touch(ticket, message)


def _without_nul(value: Any) -> Any:
    """PostgreSQL's JSON cannot hold NUL characters, which a provider may pass on in a file name."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


_READ = object()


def ticket_after_inbound(*, ticket: Ticket, created: bool, at: datetime | None = None, config: Any = _READ) -> None:
    """After a client's message is stored: the reseller's greeting and out-of-hours texts, when due.

    `config`: the tenant's ResellerConfig (or None) when the caller already read it."""
    if ticket.status != Ticket.Status.OPEN:
        return
    if config is _READ:
        config = auto_messages.reseller_config(ticket)
    for auto in auto_messages.after_inbound(config, ticket, created=created, at=at or clock.now()):
        ticket_auto_message_send(ticket=ticket, auto=auto)


def ticket_menu_after_inbound(
    *, ticket: Ticket, created: bool, department_menu: menu.DepartmentMenu | None, kind: str, text: str
) -> str:
    """The department menu's part after a client's message was stored (after greeting and out-of-hours).

    A new ticket gets the menu; while the ticket waits unclaimed, the client's answer moves it to the
    chosen department's espera (one conditional update: still open, unclaimed, unanswered, in the
    department it was in) and confirms; any other answer repeats the menu, at most twice. Returns what
    happened: "", "offered", "routed", "repeated".
    """
    if department_menu is None or not department_menu.usable:
        return ""
    fresh = Ticket.objects.filter(pk=ticket.pk).first()
    if fresh is None:
        return ""
    if created:
        return "offered" if _menu_prompt(fresh, department_menu, sent=0) else ""
    if not menu.awaiting_answer(fresh) or kind in menu.NOT_AN_ANSWER:
        return ""
    option = menu.choice(department_menu, kind=kind, text=text)
    if option is None:
        if fresh.menu_prompts_sent >= menu.MAX_PROMPTS:
            return ""
        return "repeated" if _menu_prompt(fresh, department_menu, sent=fresh.menu_prompts_sent) else ""
    now = clock.now()
    won = ticket_change(
        fresh,
        where=Q(
            status=Ticket.Status.OPEN, agent__isnull=True, menu_done_at__isnull=True, department_id=fresh.department_id
        ),
        values={"department_id": option.department_id, "menu_done_at": now, "updated_at": now},
        action=TicketEvent.Action.MENU_ROUTED,
        from_state=UIState.ESPERA,
        to_state=UIState.ESPERA,
        at=now,
        data={
            "by": "menu",
            "choice": option.number,
            "from_department": str(fresh.department_id),
            "to_department": str(option.department_id),
        },
    )
    if not won:
        return ""  # claimed, answered or moved a moment before: the answer is an ordinary message
    ticket_rollup_sync(fresh.pk)  # its opening counts for the chosen department now
    ticket_auto_message_send(
        ticket=fresh, auto=auto_messages.AutoText("menu_confirm", menu.confirmation(option), flag=None)
    )
    return "routed"


def _menu_prompt(ticket: Ticket, department_menu: menu.DepartmentMenu, *, sent: int) -> bool:
    """Send the menu for the (sent+1)-th time, if the count still says `sent` and nobody claimed the ticket.

    The count moves first (one conditional update), so of two answers at once only one repeats the menu,
    and a ticket claimed a moment before never gets it. A crash between the two steps costs one menu,
    never a ticket: it already waits in the connection's default department.
    """
    won = Ticket.objects.filter(
        pk=ticket.pk, status=Ticket.Status.OPEN, agent__isnull=True, menu_prompts_sent=sent, menu_done_at__isnull=True
    ).update(menu_prompts_sent=sent + 1, updated_at=clock.now())
    if won != 1:
        return False
    auto = auto_messages.AutoText(f"menu:{sent + 1}", menu.render(department_menu), flag=None)
    ticket_auto_message_send(ticket=ticket, auto=auto)
    return True


def message_client_edit(*, connection: Any, provider_message_id: str, text: str, at: datetime | None = None) -> bool:
    """The client edited a message: the new text shows, every previous one is kept. True when applied."""
    target = (
        Message.objects.by_provider_id(connection, provider_message_id).filter(direction=Message.Direction.IN).first()
    )
    if target is None:
        return False
    now = clock.now()
    moved = Message.objects.filter(pk=target.pk, text=target.text, edited_at=target.edited_at).update(
        text=text,
        previous_texts=[*(target.previous_texts or []), target.text],
        edited_at=at or now,
        updated_at=now,
    )
    if moved == 1:
        ticket_terms_add(Ticket(pk=target.ticket_id, reseller_id=connection.reseller_id), text)
    return moved == 1


def message_client_delete(*, connection: Any, provider_message_id: str, at: datetime | None = None) -> bool:
    """The client deleted a message for everyone: it stays, marked. True when newly marked."""
    now = clock.now()
    return (
        Message.objects.by_provider_id(connection, provider_message_id)
        .filter(direction=Message.Direction.IN, deleted_by_client_at__isnull=True)
        .update(deleted_by_client_at=at or now, updated_at=now)
        == 1
    )


def rating_answer_ingest(*, connection: Any, client: Any, msg: InboundMessage) -> Ticket | None:
    """A client's answer to the rating question: stored on the closed ticket, thanked, no new ticket.

    Returns the rated ticket, or None when the message is not such an answer (the caller routes it as
    usual). The rating is one conditional update (closed, not rated yet, asked within 24 hours) whose
    row count decides: a second answer, or a concurrent one that lost, changes nothing and is routed.
    """
    if not satisfaction.is_text(msg.kind):
        return None
    rating = satisfaction.parse_rating(msg.text)
    if rating is None:
        return None
    now = clock.now()
    at = msg.timestamp or now
    message_id = msg.provider_message_id
    ticket = satisfaction.awaiting_answer(connection=connection, client=client, at=at, message_id=message_id)
    if ticket is None:
        return None
    won = ticket_change(
        ticket,
        where=Q(
            status=Ticket.Status.CLOSED,
            rating__isnull=True,
            rating_asked_at__gte=at - satisfaction.ANSWER_WINDOW,
        ),
        values={"rating": rating, "rated_at": at, "rating_message_id": msg.provider_message_id, "updated_at": now},
        action=TicketEvent.Action.RATED,
        from_state=UIState.FINALIZADO,
        to_state=UIState.FINALIZADO,
        at=now,
        data={"rating": rating},
    )
    if not won:
        # Not rated by us: another answer won, unless this very message set it before a crash (a replay).
        mine = Ticket.objects.filter(pk=ticket.pk, rating_message_id=msg.provider_message_id)
        if not msg.provider_message_id or not mine.exists():
            return None
    message_store(ticket=ticket, msg=msg)
    ticket_rollup_sync(ticket.pk)  # a replay after a crash finishes the count too (nothing twice)
    for auto in satisfaction.thanks(auto_messages.reseller_config(ticket)):
        ticket_auto_message_send(ticket=ticket, auto=auto)
    return Ticket.objects.get(pk=ticket.pk)
