"""Every request body has a cap, chosen by its route, and a body over it is refused with 413 unread.

A sync gunicorn worker reads a body only as the application reads it, and closes the connection after
the answer: a body refused here costs its headers, not its bytes. Without this, Django's form parsing
(CSRF reads `request.POST` on every POST) spooled a 100 MB anonymous POST to the login page to disk.

The cap of a route is the setting named for its URL name in `REQUEST_BODY_CAPS` (the attachment
routes: `REQUEST_MAX_UPLOAD_BYTES`), else `REQUEST_MAX_BYTES`. A route given `None` there reads and caps
its own body: the WhatsApp webhook, whose `WHATSAPP_WEBHOOK_MAX_BYTES` and 413 stay its view's.

A chunked body (no Content-Length; gunicorn decodes the chunks and ends the stream) is one Django would
otherwise read as empty. It is read here, at most cap + 1 bytes, into a spooled temporary file: past
the cap it is refused; within it, it becomes the request's body, with its length.
"""

from __future__ import annotations

import tempfile
from typing import IO

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.urls import Resolver404, resolve
from django.utils import translation
from django.utils.translation import gettext as _

READ_CHUNK = 64 * 1024
DEFAULT_CAP_SETTING = "REQUEST_MAX_BYTES"


def route_cap(path_info: str) -> int | None:
    """The largest body this path takes, or None when its view caps its own body."""
    try:
        name = resolve(path_info).view_name
    except Resolver404:
        name = ""
    setting = getattr(settings, "REQUEST_BODY_CAPS", {}).get(name, DEFAULT_CAP_SETTING)
    return None if setting is None else int(getattr(settings, setting))


def declared_length(meta) -> int | None:
    try:
        return int(meta.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None  # none declared, or not a number (Django reads such a body as empty)


def too_large(request, cap: int, size: int | None) -> HttpResponse:
    """413 with the reason, in the language the browser asks for (LocaleMiddleware has not run yet)."""
    with translation.override(translation.get_language_from_request(request)):
        if size is None:
            reason = _("O envio passa de %(limit)s, o limite deste endereço.") % {"limit": filesizeformat(cap)}
        else:
            reason = _("O envio tem %(size)s; este endereço aceita até %(limit)s.") % {
                "size": filesizeformat(size),
                "limit": filesizeformat(cap),
            }
    response = HttpResponse(reason, status=413, content_type="text/plain; charset=utf-8")
    response["Content-Length"] = str(len(response.content))
    return response


class _OverCap(Exception):
    pass


def _spool_unsized(request, cap: int) -> IO[bytes] | None:
    """Read a body of no declared length, at most cap + 1 bytes: its spooled copy, or None when empty
    (every GET through gunicorn: an ended, empty stream, left as it is)."""
    source = request.META["wsgi.input"]
    chunk = source.read(min(READ_CHUNK, cap + 1))
    if not chunk:
        return None
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - it outlives this function: closed after the response
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    size = 0
    while chunk:
        size += len(chunk)
        if size > cap:
            spool.close()
            raise _OverCap
        spool.write(chunk)
        chunk = source.read(min(READ_CHUNK, cap + 1 - size))
    spool.seek(0)
    # What WSGIRequest would have built had the length been declared: Django reads the body, its
    # forms and files included, through request._stream, bounded by CONTENT_LENGTH.
    request._stream = LimitedStream(spool, size)
    request.META["CONTENT_LENGTH"] = str(size)
    return spool


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        cap = route_cap(request.path_info)
        if cap is None:
            return self.get_response(request)
        declared = declared_length(request.META)
        if declared is not None and declared > cap:
            return too_large(request, cap, declared)
        spool = None
        if not request.META.get("CONTENT_LENGTH") and request.META.get("wsgi.input_terminated"):
            try:
                spool = _spool_unsized(request, cap)
            except _OverCap:
                return too_large(request, cap, None)
        try:
            return self.get_response(request)
        finally:
            if spool is not None:
                spool.close()
