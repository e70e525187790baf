"""A voice note recorded in the agent's browser: an outbox item like a reply's file, sent exactly once so that
the client's WhatsApp plays it as a voice note (tickets.media.voice; the adapters' send_voice)."""

from __future__ import annotations

from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from iaze.lib import blobs
from providers import capabilities
from tickets import outbox
from tickets.media import outbound as media_outbound
from tickets.media import store as media
from tickets.media import voice
from tickets.models import Message, Ticket
from tickets.services.common import ReplyRejected
from tickets.services.replies import _first_response_stamp, _held_for_writing, quote_target, window_require_open

VOICE_FILENAME = "audio.ogg"


def ticket_voice_note_send(*, ticket: Ticket, agent: Any, upload: Any, nonce: str = "", reply_to: str = "") -> Message:
    """Queue the recording `upload` (WebM/Opus or OGG/Opus) as a voice note, then send it now when it can be.

    Refused before anything is stored: 400 (ReplyRejected) for a connection that sends no voice notes, a
    recording over the provider's audio limit (read before the bytes are) or one that is not Opus audio; 409
    (TicketConflict) unless the ticket is atendendo and held by `agent` (or a supervisor), or outside the
    24-hour window. Exactly once: the form's nonce makes a double click store one voice note. `reply_to`: the
    message of this ticket the voice note quotes (tickets.services.quote_target; QuoteRejected, 400)."""
    connection = ticket.connection
    if not capabilities(connection).records_voice_notes:
        raise ReplyRejected(_("Esta conexão não envia mensagens de voz."))
    quoted = quote_target(ticket, reply_to) if reply_to else None
    size = int(getattr(upload, "size", 0) or 0)
    if size <= 0:
        raise ReplyRejected(_("A gravação está vazia."))
    try:
        # The limit first, on the size the upload declares: an oversized recording is never read whole.
        media_outbound.provider_check(connection, mime_type=voice.OGG_OPUS, filename=VOICE_FILENAME, size=size)
        upload.seek(0)
        data = voice.voice_ogg(upload.read())
        checked = media_outbound.provider_check(
            connection, mime_type=voice.OGG_OPUS, filename=VOICE_FILENAME, size=len(data)
        )
    except media_outbound.MediaRefused as exc:
        raise ReplyRejected(_("Mensagem de voz não enviada: %(why)s") % {"why": exc}) from exc
    fresh = _held_for_writing(ticket, agent, _("Só é possível responder um atendimento em Atendendo."))
    window_require_open(fresh)
    already = nonce and Message.objects.filter(ticket=fresh, client_nonce=nonce).first()
    if already:
        return already  # a double click: stored once already
    try:
        stored = media.media_file_store(data, reseller_id=fresh.reseller_id, claimed_mime=checked.mime_type)
    except blobs.MediaTooLarge as exc:
        raise ReplyRejected(
            _("A gravação passa do limite de %(limit)s.") % {"limit": filesizeformat(blobs.max_bytes())}
        ) from exc
    message, created = outbox.message_enqueue_outbound(
        ticket=fresh,
        text="",
        agent=agent,
        nonce=nonce,
        kind=Message.Kind.AUDIO,
        media_file=stored,
        file_type=media.file_type_stored(stored, checked.mime_type),
        media={"filename": VOICE_FILENAME, "mime_type": checked.mime_type, "size": checked.size, "voice": True},
        reply_to=quoted,
    )
    if created:
        _first_response_stamp(fresh, message)
        outbox.send_soon_if_inline(message)
    return message
