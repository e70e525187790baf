"""The writers of tickets: every change of a ticket's state, and the messages stored on it.

Every state change is one conditional update whose row count is checked
(compare-and-set), so two agents, two gunicorn workers or two provider
retries can never both win. Correctness never relies on transaction.atomic or
select_for_update: both are no-ops on MongoDB. Where a state change and its
TicketEvent are written together, `atomic()` makes them one commit on SQL
databases; on MongoDB the state is written first and the event after it, so a
crash between the two leaves a correct ticket that only lacks its log line.
Delivery state of outbound messages is written by `tickets.outbox`.

The writers live in this package's modules, by what they do: `lifecycle` (Assumir, Finalizar),
`transfer`, `unread` (the holder's read mark), `receive` (the one door for "a client sent a message":
`message_receive` runs the whole order a message sets off), `inbound` (the door's steps, and a client's
edits and deletes), `replies` (replies, notes, templates), `automatic` (automatic texts), `tags` (tags and
the client's name, from the conversation), `downloads` (a failed media download fetched again),
`client_data` (the LGPD export's log) and `rollups` / `rollups_rebuild` (the report's per-day counts);
`common` holds the errors. Callers import them from here: `from tickets import services;
services.ticket_claim(...)`. The steps only the door runs (the greeting and out-of-hours texts, the
menu, a rating answer, completing a repeated message) are not exported: a client's message has one way in.
"""

from whatsapp.providers.types import InboundMessage

from .automatic import ticket_auto_message_send
from .client_data import client_data_export_log
from .common import NotAllowed, ReplyRejected, TicketConflict, TransferRejected
from .downloads import ticket_media_retry
from .inbound import inbound_route, message_client_delete, message_client_edit, message_store
from .lifecycle import ticket_claim, ticket_close
from .receive import message_receive
from .replies import (
    NOTE_MAX_LENGTH,
    reply_signed,
    ticket_note_add,
    ticket_reply,
    ticket_template_send,
    window_require_open,
)
from .rollups import ticket_rollup_sync
from .rollups_rebuild import report_rollups_rebuild
from .tags import TAG_TARGETS, TagRejected, ticket_client_rename, ticket_tag_set
from .transfer import ticket_transfer
from .unread import newest_inbound_at, ticket_read_mark

__all__ = [
    "NOTE_MAX_LENGTH",
    "TAG_TARGETS",
    "InboundMessage",
    "NotAllowed",
    "ReplyRejected",
    "TagRejected",
    "TicketConflict",
    "TransferRejected",
    "client_data_export_log",
    "inbound_route",
    "message_client_delete",
    "message_client_edit",
    "message_receive",
    "message_store",
    "newest_inbound_at",
    "reply_signed",
    "report_rollups_rebuild",
    "ticket_auto_message_send",
    "ticket_claim",
    "ticket_client_rename",
    "ticket_close",
    "ticket_media_retry",
    "ticket_note_add",
    "ticket_read_mark",
    "ticket_reply",
    "ticket_rollup_sync",
    "ticket_tag_set",
    "ticket_template_send",
    "ticket_transfer",
    "window_require_open",
]
