"""The writes that record activity on a ticket: its changes (each with its event) and its latest message.

Shared by the services (state changes, inbound messages) and the outbox (queued replies).

`ticket_change` is the one way a ticket changes. One conditional write makes the change, moves the
ticket's `version` by one (compare-and-set on the version it read), stamps `changed_at` and keeps a
copy of the change in `last_change`; the change's record, a TicketEvent carrying that version, is
written right after. On SQL databases the two are one transaction. On MongoDB, where transactions are
not relied on, a crash between them leaves a ticket whose version is ahead of its records: the reader
(tickets.reads.changes) reports that change from the ticket's own copy, and the next change of the ticket
writes the missing record before it moves the version on (`change_record_repair`), so a ticket can
only ever lack the record of its latest change, and never loses it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.db.models import Q

from iaze.lib import clock, live_signal
from tickets.models import Message, Ticket, TicketEvent

PREVIEW_LENGTH = 200
# Compare-and-set rounds before a change gives up: each round that loses, loses to a change that won,
# so this bounds how many writers of one ticket may race at once, not how long anything waits.
ATTEMPTS = 100
# What a change reads of its ticket: its version and copy, and the only fields a change is computed from
# (a message's change moves the latest-message stamps forward only). Only changes write these.
_CHANGE_FIELDS = ("pk", "reseller_id", "version", "changed_at", "last_change")
_ROW_FIELDS = (*_CHANGE_FIELDS, "last_message_at", "last_inbound_at", "last_human_reply_at")


def _transactional() -> bool:
    """True where atomic() is a transaction (SQL): a change and its record are then one commit."""
    return bool(connections[Ticket.objects.db].features.supports_transactions)


def together():
    return transaction.atomic() if _transactional() else contextlib.nullcontext()


def _hex(value: Any) -> str | None:
    return None if value is None else getattr(value, "hex", str(value))


def event_record(
    ticket_id: Any,
    *,
    reseller_id: Any,
    version: int,
    at: datetime,
    action: str,
    actor_id: Any = None,
    from_state: str = "",
    to_state: str = "",
    data: Mapping[str, Any] | None = None,
) -> TicketEvent:
    """The record of one change: written by ticket_change and change_record_repair (and, with version 0,
    the LGPD export's log, which changes nothing: services.client_data)."""
    record = TicketEvent.objects.create(
        ticket_id=ticket_id,
        reseller_id=reseller_id,
        ticket_version=version,
        actor_id=actor_id,
        action=action,
        from_state=from_state,
        to_state=to_state,
        at=at,
        data=dict(data or {}),
    )
    if version:
        # The live reader's wake-up, in this record's transaction (tickets.reads.live): a hint only.
        live_signal.notify(TicketEvent.objects.db)
    return record


def _record_from(row: Mapping[str, Any]) -> bool:
    """Write the record of the ticket's latest change from its copy on the ticket. False when it exists."""
    change = row["last_change"] or {}
    try:
        with together():
            event_record(
                row["pk"],
                reseller_id=row["reseller_id"],
                version=row["version"],
                at=row["changed_at"],
                action=change.get("action", ""),
                actor_id=change.get("actor"),
                from_state=change.get("from_state", ""),
                to_state=change.get("to_state", ""),
                data=change.get("data"),
            )
    except IntegrityError:
        return False  # recorded meanwhile (by its writer, or another repair)
    return True


def change_record_repair(ticket_id: Any) -> bool:
    """Write the record of the ticket's latest change if a crash cut it off. True when it wrote one."""
    row = Ticket.objects.filter(pk=ticket_id).values(*_CHANGE_FIELDS).first()
    if row is None or not row["version"]:
        return False
    if TicketEvent.objects.filter(ticket_id=ticket_id, ticket_version=row["version"]).exists():
        return False
    return _record_from(row)


def _known_row(ticket: Any) -> dict[str, Any] | None:
    """The row a change of the caller's ticket tries first (None: read it).

    The ticket as a change of it left it, when this instance made one (kept apart from the instance's
    fields, which stay as the caller saw them: a transfer is conditional on exactly that); else the
    instance's own fields as it was read. Either may be behind: the write's compare-and-set on the
    version catches that, and the next round reads the row."""
    if not isinstance(ticket, Ticket):
        return None
    cached = getattr(ticket, "_change_row", None)
    if cached is not None:
        return dict(cached)
    names = [n for n in _ROW_FIELDS if n != "pk"]
    if ticket.get_deferred_fields() & set(names):
        return None
    return {"pk": ticket.pk, **{n: getattr(ticket, n) for n in names}}


def ticket_change(
    ticket: Any,
    *,
    action: str,
    actor: Any = None,
    from_state: str = "",
    to_state: str = "",
    at: datetime | None = None,
    where: Q | None = None,
    values: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
) -> int | None:
    """Change a ticket and record the change: its new version, or None when `where` does not hold.

    `ticket`: a Ticket (what it was read as is tried first; the instance itself is left as it is) or a
    ticket id. `where`: the state the change needs (status, holder…), checked by the write itself.
    `values`: the fields to write, or a function of the ticket's row (its latest-message stamps, see
    _ROW_FIELDS) for a change computed from the ticket. Every round is one write filtered on the
    version it read, so a value computed from the row is never applied over a newer change; a round
    lost to another change reads again (`where` decides whether to try once more). `data`: the record's.
    `at`: the change's moment (now by default), taken as its stamp unless the ticket's previous change
    is later (another process's clock): per ticket, stamps never go back, so the feed's order by stamp
    keeps the order of versions.
    """
    ticket_id = ticket.pk if isinstance(ticket, Ticket) else ticket
    row = _known_row(ticket)
    for _attempt in range(ATTEMPTS):
        if row is None:
            fresh = Ticket.objects.filter(pk=ticket_id)
            if where is not None:
                fresh = fresh.filter(where)
            row = fresh.values(*_ROW_FIELDS).first()
            if row is None:
                return None  # the ticket is not in the state this change needs (or does not exist)
        version = row["version"]
        # The record of the change before this one, if a crash cut it off: written from the ticket's
        # copy before the version moves on, so at most the latest record is ever missing. Looked for only
        # when that change was not committed together with its record (MongoDB, or restored from it).
        if (
            version
            and not (row["last_change"] or {}).get("atomic")
            and not TicketEvent.objects.filter(ticket_id=ticket_id, ticket_version=version).exists()
        ):
            _record_from(row)
        stamp = clock.to_ms(at) or clock.now()
        if row["changed_at"] is not None and row["changed_at"] > stamp:
            stamp = row["changed_at"]
        written = dict(values(row) if callable(values) else (values or {}))
        written.setdefault("updated_at", stamp)
        actor_id = getattr(actor, "pk", actor)
        recorded: dict[str, Any] = dict(data or {})
        change: dict[str, Any] = {
            "action": str(action),
            "actor": _hex(actor_id),
            "from_state": str(from_state),
            "to_state": str(to_state),
            "data": recorded,
            "atomic": _transactional(),  # committed with its record: nothing to look for later
        }
        bookkeeping = {"version": version + 1, "changed_at": stamp, "last_change": change}
        target = Ticket.objects.filter(pk=ticket_id, version=version)
        if where is not None:
            target = target.filter(where)
        try:
            with together():
                won = target.update(**written, **bookkeeping)
                if won == 1:
                    event_record(
                        ticket_id,
                        reseller_id=row["reseller_id"],
                        version=version + 1,
                        at=stamp,
                        action=action,
                        actor_id=actor_id,
                        from_state=from_state,
                        to_state=to_state,
                        data=recorded,
                    )
        except IntegrityError:
            if _transactional():
                raise
            won = 1  # MongoDB: a repair recorded this version from the ticket's copy a moment before
        if won == 1:
            if isinstance(ticket, Ticket):
                after = {**written, **bookkeeping}
                ticket._change_row = {n: after.get(n, row[n]) for n in _ROW_FIELDS}  # type: ignore[attr-defined]
            return version + 1
        row = None  # lost to another change, or `where` no longer holds: read again
    raise RuntimeError(f"change {action!r} of ticket {ticket_id} lost {ATTEMPTS} times in a row")


def ticket_created_record(ticket: Ticket) -> None:
    """The record of a ticket's creation (version 1, stamped and copied by its insert: see created_change)."""
    change = ticket.last_change
    event_record(
        ticket.pk,
        reseller_id=ticket.reseller_id,
        version=ticket.version,
        at=ticket.changed_at or ticket.created_at,
        action=change["action"],
        actor_id=change.get("actor"),
        to_state=change["to_state"],
        data=change.get("data"),
    )


def created_change(
    *,
    at: datetime,
    to_state: str,
    action: str = TicketEvent.Action.CREATED,
    actor: Any = None,
    data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The change fields of a new ticket's insert: version 1, its stamp and its copy. `action`: `created`
    (a client's first message) or `started` (an agent opened it, `actor`, already holding it)."""
    change: dict[str, Any] = {
        "action": str(action),
        "actor": _hex(getattr(actor, "pk", actor)),
        "from_state": "",
        "to_state": str(to_state),
        "data": dict(data or {}),
        "atomic": _transactional(),  # the caller inserts the ticket and its record in one transaction
    }
    return {"version": 1, "changed_at": at, "last_change": change}


def ticket_touch(
    ticket: Any,
    *,
    at: datetime,
    preview: str,
    inbound: bool,
    inbound_at: datetime | None = None,
    human: bool = False,
    action: str = TicketEvent.Action.MESSAGE,
    actor: Any = None,
    to_state: str = "",
    **data: Any,
) -> int | None:
    """A message stored on the ticket, as one change: its stamps move forward only, for messages may be
    stored out of order; an older message is a change all the same.

    - every message: last_message_at and last_message_preview (the latest activity, the queue's order);
    - the client's (`inbound`): last_inbound_at (the 24-hour window) and last_client_preview, what the
      queue's row and the alerts show: the client stays visible behind the automatic texts;
    - a person's answer (`human`: an agent's reply or template, or the business's own phone):
      last_human_reply_at. Automatic texts (greeting, out of hours, menu, farewell, rating question,
      transfer notice) never count as an answer (see tickets.reads.inbox.unanswered_since).

    `inbound_at`: the client's message time for last_inbound_at, when it differs from `at`. `action`,
    `actor`, `to_state` and `data` are the change's record (a reply, a template…); by default a
    `message` change. Returns the ticket's new version."""
    inbound_at = inbound_at or at
    preview = preview[:PREVIEW_LENGTH]

    def moved(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if row["last_message_at"] is None or row["last_message_at"] <= at:
            out.update(last_message_at=at, last_message_preview=preview)
        if inbound and (row["last_inbound_at"] is None or row["last_inbound_at"] <= inbound_at):
            out.update(last_inbound_at=inbound_at, last_client_preview=preview)
        if human and (row["last_human_reply_at"] is None or row["last_human_reply_at"] <= at):
            out["last_human_reply_at"] = at
        return out

    return ticket_change(
        ticket,
        action=action,
        actor=actor,
        to_state=to_state,
        values=moved,
        data=data,
    )


def message_recorded(ticket_id: Any, message_id: Any) -> bool:
    """Whether a change of the ticket names this message (its record, or the ticket's copy of its latest)."""
    key = str(message_id)
    latest = Ticket.objects.filter(pk=ticket_id).values_list("last_change", flat=True).first() or {}
    if (latest.get("data") or {}).get("message_id") == key:
        return True
    return TicketEvent.objects.filter(ticket_id=ticket_id, ticket_version__gt=0, data__message_id=key).exists()


def message_preview(kind: str, text: str, media: dict | None = None) -> str:
    if text:
        return text[:PREVIEW_LENGTH]
    caption = (media or {}).get("caption") or (media or {}).get("filename") or ""
    label = str(Message.Kind(kind).label) if kind in Message.Kind.values else kind
    return f"[{label}] {caption}".strip()[:PREVIEW_LENGTH]
