"""The provider webhook: authenticate, journal, answer. Processing errors never become a 5xx."""

from __future__ import annotations

import hmac
import json
import logging

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import health, journal
from .models import Connection
from .providers import get_provider

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


def _read_body(request) -> bytes:
    """Read the raw stream ourselves: request.body would apply DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)."""
    limit = settings.WHATSAPP_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    while True:
        chunk = request.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
    return b"".join(chunks)


def _handshake(request, connection: Connection) -> HttpResponse:
    token = request.GET.get("hub.verify_token", "")
    expected = connection.verify_token
    if (
        request.GET.get("hub.mode") == "subscribe"
        and expected
        and hmac.compare_digest(token.encode(), expected.encode())
    ):
        return HttpResponse(request.GET.get("hub.challenge", ""), content_type="text/plain")
    return HttpResponseForbidden("verification failed", content_type="text/plain")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def webhook(request, key: str):
    connection = get_object_or_404(Connection, key=key, active=True)
    if request.method == "GET":
        return _handshake(request, connection)
    try:
        raw = _read_body(request)
    except BodyTooLarge:
        return JsonResponse({"error": "body too large"}, status=413)
    try:
        payload = json.loads(raw)
    except ValueError:  # includes invalid UTF-8
        payload = None
        not_json = True
    else:
        not_json = False
    if not get_provider(connection).authenticate(raw_body=raw, headers=request.headers, payload=payload):
        return JsonResponse({"error": "unauthenticated"}, status=401)
    if not_json:
        return JsonResponse({"error": "body is not JSON"}, status=400)
    health.webhook_seen(connection)
    event, created = journal.webhook_event_store(connection=connection, raw_body=raw, headers=request.headers)
    # A duplicate of an event that never finished (crash, concurrent first copy) is processed again:
    # processing is idempotent, so this only ever completes work.
    if created or event.state in (event.State.PENDING, event.State.FAILED):
        journal.webhook_event_process(event, connection)
    return JsonResponse({"status": "ok", "duplicate": not created})
