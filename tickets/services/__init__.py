"""The writers of tickets: every change of a ticket's state, and the messages stored on it.

Every state change is one conditional update whose row count is checked
(compare-and-set), so two agents, two gunicorn workers or two provider
retries can never both win. Correctness never relies on transaction.atomic or
select_for_update: both are no-ops on MongoDB. Every change of a ticket goes through
`tickets.activity.ticket_change`: the write also moves the ticket's version (compare-and-set) and
keeps a copy of the change, and its TicketEvent follows, one commit on SQL databases; on MongoDB a
crash between the two loses nothing (the reader, tickets.reads.changes, reports the change from the copy,
and the ticket's next change records it). Delivery state of outbound messages is written by
`tickets.outbox`.

The writers live in this package's modules, by what they do: `lifecycle` (Assumir, Finalizar), `transfer`,
`unread` (the holder's read mark), `receive` (the one door for "a client sent a message": `message_receive`
runs the whole order a message sets off), `inbound` (the door's steps, and a client's edits and deletes),
`replies` (replies, quotes, notes, templates), `reactions` (an agent's reaction to a client's message),
`automatic` (automatic texts), `bots` (an
integration's messages in espera), `tags` (tags and the client's name, from the conversation), `downloads` (a
failed media download fetched again), `outreach` (an agent starts a conversation or schedules a message, and
the worker's attempt at one; `outreach_number` starts one from a typed number), `client_data` (the LGPD
export's log) and `rollups` / `rollups_rebuild` (the report's per-day counts); `common` holds the errors.
Callers import them from here: `from tickets import services; services.ticket_claim(...)`. The steps only
the door runs (the greeting and out-of-hours texts, the menu, a rating answer, completing a repeated message)
are not exported: a client's message has one way in.
"""

from providers.types import InboundMessage
from tickets.services.automatic import ticket_auto_message_send
from tickets.services.bots import ticket_bot_message
from tickets.services.client_data import client_data_export_log
from tickets.services.common import NotAllowed, QuoteRejected, ReplyRejected, TicketConflict, TransferRejected
from tickets.services.downloads import ticket_media_retry
from tickets.services.inbound import inbound_route, message_client_delete, message_client_edit, message_store
from tickets.services.lifecycle import ticket_claim, ticket_close
from tickets.services.outreach import (
    AlreadyOpen,
    ReachOutConflict,
    ReachOutRejected,
    ScheduleConflict,
    conversation_start,
    schedule_cancel,
    schedule_create,
    scheduled_send,
)
from tickets.services.outreach_number import conversation_start_number
from tickets.services.reactions import ticket_react
from tickets.services.receive import message_receive
from tickets.services.replies import (
    NOTE_MAX_LENGTH,
    StoredAttachment,
    quote_target,
    reply_signed,
    ticket_note_add,
    ticket_quick_reply_send,
    ticket_reply,
    ticket_reply_files,
    ticket_template_send,
    window_require_open,
)
from tickets.services.rollups import ticket_rollup_sync
from tickets.services.rollups_rebuild import report_rollups_rebuild
from tickets.services.tags import TAG_TARGETS, TagRejected, ticket_client_rename, ticket_tag_set
from tickets.services.transfer import ticket_transfer
from tickets.services.unread import newest_inbound_at, ticket_read_mark
from tickets.services.voice_notes import ticket_voice_note_send

__all__ = [
    "NOTE_MAX_LENGTH",
    "TAG_TARGETS",
    "AlreadyOpen",
    "InboundMessage",
    "NotAllowed",
    "QuoteRejected",
    "ReachOutConflict",
    "ReachOutRejected",
    "ReplyRejected",
    "ScheduleConflict",
    "StoredAttachment",
    "TagRejected",
    "TicketConflict",
    "TransferRejected",
    "client_data_export_log",
    "conversation_start",
    "conversation_start_number",
    "inbound_route",
    "message_client_delete",
    "message_client_edit",
    "message_receive",
    "message_store",
    "newest_inbound_at",
    "quote_target",
    "reply_signed",
    "report_rollups_rebuild",
    "schedule_cancel",
    "schedule_create",
    "scheduled_send",
    "ticket_auto_message_send",
    "ticket_bot_message",
    "ticket_claim",
    "ticket_client_rename",
    "ticket_close",
    "ticket_media_retry",
    "ticket_note_add",
    "ticket_quick_reply_send",
    "ticket_react",
    "ticket_read_mark",
    "ticket_reply",
    "ticket_reply_files",
    "ticket_rollup_sync",
    "ticket_tag_set",
    "ticket_template_send",
    "ticket_transfer",
    "ticket_voice_note_send",
    "window_require_open",
]
