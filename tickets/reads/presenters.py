"""The strings each listed ticket and each thread message shows, prepared once per page.

Views hand these the selectors' pages; templates then only print attributes.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext

from accounts import phones
from providers.error_texts import delivery_error_text
from tickets.media import store as media
from tickets.models import MediaDownload, MediaFile, Message
from tickets.reads import conversation, inbox
from tickets.reads.formatting import whatsapp_html
from tickets.rules import localtime

_ZERO_ID = uuid.UUID(int=0)


def present_rows(*pages, now, thresholds=(0, 0), unread=None):
    """Give each listed ticket the strings its row shows, so the row template only prints them.

    Formats, translations and the detail URL are looked up once per page, not once per row:
    per-row template filters and translation tags were most of the queue's rendering time.
    `thresholds`: the tenant's (warn, late) minutes (tickets.reads.inbox.wait_thresholds); `unread`: ticket id →
    the holder's unread client messages (tickets.reads.inbox.unread_count).
    """
    unread = unread or {}
    unread_label = gettext("mensagens não lidas")
    recent = now - timedelta(minutes=1)  # under a minute, "0 minutos" reads oddly
    date_fmt = formats.get_format("SHORT_DATETIME_FORMAT")
    # Today's rows show the time alone (`14:32`), older ones the date, as WhatsApp does; the full time in `title`.
    day_fmt = formats.get_format("SHORT_DATE_FORMAT")
    today = timezone.localtime(now).date()
    # One reverse() for the page; each row fills in its id.
    detail_url = reverse("tickets:detail", args=[_ZERO_ID]).replace(str(_ZERO_ID), "{}")
    text = {
        "waiting": gettext("esperando há %(since)s"),
        "new": gettext("chegou agora"),
        "unanswered": gettext("sem resposta há %(since)s"),
        "unanswered_now": gettext("sem resposta"),
        "waiting_title": gettext("Tempo de espera"),
        "unanswered_title": gettext("Cliente aguardando resposta"),
    }
    # Atendendo rows whose 24-hour window closes within the hour are marked (tickets.rules.window).
    closing = conversation.closing_soon_ids([t for page in pages if page is not None for t in page.items], now)
    closing_text = gettext("janela fecha em breve")
    for page in pages:
        for t in page.items if page is not None else ():
            t.window_closing = closing_text if t.pk in closing else ""
            t.url = detail_url.format(t.pk)
            client = t.client
            shown = phones.display(client.phone) if client.phone else ""
            t.who, t.number = client.name or shown, shown or client.identity
            t.agent_name = t.agent.display_name if t.agent_id else ""
            # The client's latest message and its time, never an automatic text that followed it.
            t.preview = inbox.client_preview(t)
            t.preview_html = whatsapp_html(t.preview, inline=True)
            at = inbox.client_last_at(t)
            t.at_iso = at.isoformat() if at else ""
            local = timezone.localtime(at) if at else None
            t.at_title = dateformat.format(local, date_fmt) if local else ""
            t.at_text = dateformat.format(local, "H:i" if local.date() == today else day_fmt) if local else ""
            t.wait_text = t.wait_title = t.wait_level = ""
            t.unread = unread.get(t.pk, 0)
            t.unread_label = f"{t.unread} {unread_label}"
            if t.status != t.Status.OPEN:
                continue
            if not t.agent_id:
                since = t.created_at
                t.wait_title = text["waiting_title"]
                t.wait_text = text["new"] if since > recent else text["waiting"] % {"since": timesince(since, now)}
                t.wait_level = inbox.wait_level(since, now, thresholds)
            elif unanswered := inbox.unanswered_since(t):
                t.wait_title = text["unanswered_title"]
                t.wait_text = (
                    text["unanswered_now"]
                    if unanswered > recent
                    else text["unanswered"] % {"since": timesince(unanswered, now)}
                )
                t.wait_level = inbox.wait_level(unanswered, now, thresholds)


def present_messages(page):
    """The strings each message of the thread shows, prepared once per page (see present_rows)."""
    date_fmt = formats.get_format("SHORT_DATETIME_FORMAT")
    delivery = {value: str(label) for value, label in Message.Delivery.choices}
    kinds = {value: str(label) for value, label in Message.Kind.choices}
    by_phone, automatic = gettext("pelo celular da empresa"), gettext("automática")
    present_media(page)
    for m in page.items:
        m.at_iso = m.created_at.isoformat()
        m.at_text = dateformat.format(timezone.localtime(m.created_at), date_fmt)
        m.kind_label = kinds.get(m.kind, m.kind)
        if m.direction != Message.Direction.OUT:
            continue
        m.sender_label = (
            m.sender_agent.display_name if m.sender_agent_id else by_phone if m.from_business_phone else automatic
        )
        m.delivery_label = delivery.get(m.delivery_status, m.delivery_status)
        if m.delivery_status == Message.Delivery.FAILED:
            # What happened and what to do, in the agent's language (Meta's stored titles are English).
            m.fail_text = delivery_error_text(m.error_code, m.error_text)


# Download failures a new attempt cannot fix: the file was refused for good (whatsapp.media_fetch and the
# provider adapters raise these with retryable=False). Any other code (timeouts, HTTP 5xx, an expired URL
# or media id, a hash mismatch, a dropped connection...) may pass on a later try.
FINAL_DOWNLOAD_CODES = frozenset(
    {"too_large", "answer_too_large", "unsafe_url", "no_media_id", "unsupported", "not_outbound"}
)


def media_failure_hint(error_code: str) -> str:
    """Whether "Tentar de novo" can help a failed download, in the agent's words."""
    if error_code in FINAL_DOWNLOAD_CODES:
        return gettext("Tentar de novo não vai resolver: o arquivo foi recusado de vez.")
    return gettext("Tentar de novo pode resolver; a Meta guarda os arquivos por 30 dias.")


def present_media(page):
    """What each photo, audio, video or document of the page shows: the stored file, or the download's state.

    Two queries for the whole page, and none when the page has no media."""
    shown = [m for m in page.items if m.kind in media.MEDIA_KINDS]
    for m in page.items:
        m.media_view = None
    if not shown:
        return
    files = MediaFile.objects.in_bulk([m.media_file_id for m in shown if m.media_file_id])
    jobs = {
        row["message_id"]: row
        for row in MediaDownload.objects.filter(message_id__in=[m.pk for m in shown if not m.media_file_id]).values(
            "message_id", "state", "error_code", "error_text"
        )
    }
    zero = reverse("tickets:media", args=[_ZERO_ID, _ZERO_ID])
    retry_zero = reverse("tickets:media_retry", args=[_ZERO_ID, _ZERO_ID])
    pending, unavailable = gettext("baixando…"), gettext("indisponível: %(reason)s")
    for m in shown:
        info = m.media or {}
        view = {"kind": m.kind, "filename": info.get("filename") or "", "state": "pending", "voice": info.get("voice")}
        stored = files.get(m.media_file_id) if m.media_file_id else None
        if stored is not None:
            url = zero.replace(str(_ZERO_ID), str(m.ticket_id), 1).replace(str(_ZERO_ID), str(m.pk), 1)
            file_type = media.message_file_type(m, stored, check_bytes=False)  # this message's own
            inline = media.served_as(stored, file_type).inline
            kind = m.kind
            if kind in (Message.Kind.IMAGE, Message.Kind.STICKER) and not stored.raster_image:
                kind = Message.Kind.DOCUMENT  # claimed to be an image, but it is not one: a link
            if kind in (Message.Kind.AUDIO, Message.Kind.VIDEO) and not inline:
                kind = Message.Kind.DOCUMENT
            view.update(
                state="stored",
                kind=kind,
                url=url,
                thumb_url=f"{url}?v=thumb" if stored.thumbnail_name else url,
                mime=file_type,
                size_text=filesizeformat(stored.size),
                filename=view["filename"] or gettext("arquivo"),
            )
        else:
            job = jobs.get(m.pk)
            if job and job["state"] == MediaDownload.State.FAILED:
                reason = job["error_text"] or job["error_code"] or gettext("motivo não informado")
                view.update(
                    state="failed",
                    status_text=unavailable % {"reason": reason},
                    hint=media_failure_hint(job["error_code"]),
                    retry_url=retry_zero.replace(str(_ZERO_ID), str(m.ticket_id), 1).replace(
                        str(_ZERO_ID), str(m.pk), 1
                    ),
                )
            elif job:
                view.update(status_text=pending)
            else:
                view.update(state="none")
        m.media_view = view


def present_notes(page):
    """Internal notes show their author; a client's edit shows "editada", a delete "apagada pelo cliente"."""
    note_label = gettext("Nota interna")
    for m in page.items:
        if m.direction == Message.Direction.NOTE:
            m.note_label = note_label
            m.sender_label = m.sender_agent.display_name if m.sender_agent_id else ""


def present_scheduled(rows) -> None:
    """Each scheduled message's strings: its send time in its tenant's zone, what it says, its state."""
    zones: dict = {}
    date_fmt = formats.get_format("SHORT_DATETIME_FORMAT")
    for row in rows:
        tz = zones.get(row.reseller_id)
        if tz is None:
            tz = zones[row.reseller_id] = localtime.tenant_timezone(row.reseller_id)
        local = timezone.localtime(row.send_at, tz)
        row.send_at_iso = local.isoformat()
        row.send_at_text = f"{dateformat.format(local, date_fmt)} ({tz.key})"
        template = row.template
        row.content_text = template.render(row.template_params or []) if template is not None else row.text
        row.template_name = template.name if template is not None else ""
        row.contact_name = row.client.display_name
        row.ticket_url = reverse("tickets:detail", args=[row.ticket_id]) if row.ticket_id else ""
