"""The client's latest message and the latest answer a person gave, on each ticket (tickets.activity.ticket_touch).

Two new columns, then filled from the messages of the tickets written before them: the preview of each
ticket's newest client message, and the time of its newest answer by a person (an agent's reply or
template, or a text from the business's own phone; automatic texts are sent by no agent and never count).

Additive only. Tickets in pages of 500 by primary key (keyset), each page read in four queries however
many messages its tickets hold (the newest times per ticket are aggregates), and each ticket filled by
conditional updates (still empty), so a rerun, or a ticket the services stamped meanwhile, is left as
it is. No join and no SQL of its own: the same on every profile. Not a change of the tickets (their
versions do not move): what their messages already say, copied. Reverse: nothing to undo.
"""

from django.db import migrations, models
from django.db.models import Max, Q

from providers.types import MessageKind

PAGE = 500
PREVIEW_LENGTH = 200


def _preview(kind, text, media):
    # As tickets.activity.message_preview wrote it when this migration was written.
    if text:
        return text[:PREVIEW_LENGTH]
    caption = (media or {}).get("caption") or (media or {}).get("filename") or ""
    label = str(MessageKind(kind).label) if kind in MessageKind.values else kind
    return f"[{label}] {caption}".strip()[:PREVIEW_LENGTH]


def _newest(messages, ids):
    return dict(
        messages.filter(ticket_id__in=ids)
        .order_by()
        .values("ticket_id")
        .annotate(at=Max("created_at"))
        .values_list("ticket_id", "at")
    )


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    Message = apps.get_model("tickets", "Message")
    from_client = Message.objects.filter(direction="in")
    by_a_person = Message.objects.filter(direction="out").filter(
        Q(sender_agent__isnull=False) | Q(from_business_phone=True)
    )
    after = None
    while True:
        tickets = Ticket.objects.all() if after is None else Ticket.objects.filter(pk__gt=after)
        ids = list(tickets.order_by("pk").values_list("pk", flat=True)[:PAGE])
        if not ids:
            return
        after = ids[-1]
        client_at = _newest(from_client, ids)
        previews = {}
        if client_at:
            newest = from_client.filter(ticket_id__in=list(client_at), created_at__in=set(client_at.values()))
            for row in newest.order_by().values("ticket_id", "created_at", "kind", "text", "media"):
                if client_at.get(row["ticket_id"]) == row["created_at"]:
                    previews[row["ticket_id"]] = _preview(row["kind"], row["text"], row["media"])
        answered = _newest(by_a_person, ids)
        for ticket_id in set(previews) | set(answered):
            _fill(Ticket, ticket_id, previews.get(ticket_id, ""), answered.get(ticket_id))


def _fill(Ticket, ticket_id, preview, answered_at):
    """Each field only while still empty: one update when both are (the usual case), else one each."""
    row = Ticket.objects.filter(pk=ticket_id)
    if preview and answered_at is not None:
        both = row.filter(last_client_preview="", last_human_reply_at__isnull=True)
        if both.update(last_client_preview=preview, last_human_reply_at=answered_at):
            return
    if preview:
        row.filter(last_client_preview="").update(last_client_preview=preview)
    if answered_at is not None:
        row.filter(last_human_reply_at__isnull=True).update(last_human_reply_at=answered_at)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0020_media_per_tenant"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="last_client_preview",
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name="ticket",
            name="last_human_reply_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
