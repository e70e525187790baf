"""Calibration: the least a webhook can do on this stack — check the HMAC, insert two rows.

The issue's ingest target assumes such a bare webhook reaches about half the /healthz
rate; measuring it on the same server tells how much of the gap is the machine (one
durable commit per row) and how much is the full path (journal, parse, route, store).
"""

import hashlib
import hmac
import uuid

from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tickets.models import Message, Ticket
from whatsapp.models import Connection, WebhookEvent

CALIBRATION_CLIENT = "5599999999999"
_ticket_ids: dict[str, uuid.UUID] = {}


@csrf_exempt
@require_POST
def bare_webhook(request, key):
    connection = Connection.objects.only("pk", "app_secret").get(key=key)
    raw = request.body
    expected = "sha256=" + hmac.new(connection.app_secret.encode(), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Hub-Signature-256", "")):
        return JsonResponse({"error": "unauthenticated"}, status=401)
    if key not in _ticket_ids:
        _ticket_ids[key] = (
            Ticket.objects.filter(connection=connection, client__identity=CALIBRATION_CLIENT, status=Ticket.Status.OPEN)
            .values_list("pk", flat=True)
            .get()
        )
    now = timezone.now()
    # Marked ignored so that a journal replay never parses calibration rows.
    WebhookEvent.objects.create(
        connection=connection,
        dedup_key=hashlib.sha256(raw).hexdigest(),
        body=raw,
        received_at=now,
        state=WebhookEvent.State.IGNORED,
    )
    Message.objects.create(
        ticket_id=_ticket_ids[key],
        connection=connection,
        direction=Message.Direction.IN,
        text="calibração",
        provider_message_id=f"wamid.bare.{uuid.uuid4().hex}",
    )
    return JsonResponse({"status": "ok"})
