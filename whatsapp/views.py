"""The provider webhook: authenticate, journal, answer. Processing errors never become a 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import tempfile

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from iaze.lib import blobs
from providers import get_provider
from whatsapp import health, journal
from whatsapp.models import Connection

log = logging.getLogger(__name__)


class BodyTooLarge(Exception):
    pass


def _read_body(request) -> tuple[bytes, tuple[str, str, int] | None]:
    """Read the raw stream ourselves: request.body would apply DATA_UPLOAD_MAX_MEMORY_SIZE (1 MB).

    A body past WHATSAPP_WEBHOOK_INLINE_BODY_BYTES goes to a temporary file as it arrives, hashed on
    the way (Evolution with base64 media sends tens of MB); returns (bytes, (path, sha256, size) | None).
    Over WHATSAPP_WEBHOOK_MAX_BYTES: BodyTooLarge, and nothing is kept."""
    limit = settings.WHATSAPP_WEBHOOK_MAX_BYTES
    inline = journal.inline_body_limit()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    stream = request
    if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
        # A chunked body (no Content-Length): Django would read it as empty; the server (gunicorn) has
        # decoded the chunks and ends the stream itself, so it is read from there, with the same limit.
        stream = request.META["wsgi.input"]
    chunks: list[bytes] = []
    size, digest, spool, path = 0, hashlib.sha256(), None, ""
    try:
        while True:
            chunk = stream.read(min(256 * 1024, limit + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            digest.update(chunk)
            if spool is None and size > inline:
                fd, path = tempfile.mkstemp(prefix="webhook-", dir=blobs.temp_dir())
                spool = os.fdopen(fd, "wb")
                spool.writelines(chunks)
                chunks = []
            if spool is not None:
                spool.write(chunk)
            else:
                chunks.append(chunk)
        if spool is None:
            return b"".join(chunks), None
        spool.flush()
        os.fsync(spool.fileno())
        spool.close()
        spool = None
        with open(path, "rb") as fh:
            raw = fh.read()
        return raw, (path, digest.hexdigest(), size)
    except BaseException:
        if spool is not None:
            spool.close()
        if path:
            blobs.discard_temp(path)
        raise


_NOT_PARSED = object()
_NOT_JSON = object()


def _parse(raw: bytes):
    """The decoded body, or _NOT_JSON for anything json cannot decode: invalid UTF-8, bad syntax,
    or nesting deep enough to exhaust the parser's recursion (100,000 `[`)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError, MemoryError, TypeError):
        return _NOT_JSON


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
        raw, spooled = _read_body(request)
    except BodyTooLarge:
        return JsonResponse({"error": "body too large"}, status=413)
    try:
        provider = get_provider(connection)
        # The raw bytes are authenticated before anything parses them (a signed body is checked as sent).
        authenticated = provider.authenticate(raw_body=raw, headers=request.headers, payload=None)
        payload = _NOT_PARSED
        # A credential inside the body (Evolution's envelope `apikey`) is first looked for in the raw
        # bytes: a body without the right one is refused before a document is built from it (8 MB of
        # `{}` parse into hundreds of MB). Only then is the body parsed and the decoded envelope checked.
        if not authenticated and provider.credential_in_body and provider.credential_in_raw_body(raw):
            payload = _parse(raw)
            if payload is not _NOT_JSON:
                authenticated = provider.authenticate(raw_body=raw, headers=request.headers, payload=payload)
        if not authenticated:
            return JsonResponse({"error": "unauthenticated"}, status=401)
        if payload is _NOT_PARSED:
            payload = _parse(raw)
        if payload is _NOT_JSON:
            return JsonResponse({"error": "body is not JSON"}, status=400)
        health.webhook_seen(connection)
        event, created = journal.webhook_event_store(
            connection=connection, raw_body=raw, headers=request.headers, spooled=spooled
        )
        spooled = None  # the journal owns the file now
    finally:
        if spooled:
            blobs.discard_temp(spooled[0])
    del raw
    # A duplicate of an event that never finished (crash, concurrent first copy) is processed again:
    # processing is idempotent, so this only ever completes work.
    if created or event.state in (event.State.PENDING, event.State.FAILED):
        journal.webhook_event_process(event, connection, payload=payload)
    return JsonResponse({"status": "ok", "duplicate": not created})
