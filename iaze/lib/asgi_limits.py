"""Under ASGI (uvicorn workers, WEB_WORKER=asgi), the limits the sync gunicorn worker gave before Django ran.

gunicorn's own request-line and header limits (gunicorn.conf.py) apply only to its sync workers: a
uvicorn worker parses requests itself. And Django's ASGI handler reads a whole request body into a
temporary file before any middleware runs, so iaze.lib.request_size alone would refuse a 100 MB body
only once it had been received. This wraps the ASGI application:

- a request line longer than WEB_LIMIT_REQUEST_LINE is 400, more than WEB_LIMIT_REQUEST_FIELDS headers
  or one longer than WEB_LIMIT_REQUEST_FIELD_SIZE is 431, as under gunicorn;
- a declared Content-Length over the route's cap (iaze.lib.request_size.route_cap) is 413 with not a
  byte read; a body of no declared length is read at most cap + 1 bytes (into a spooled file, as the
  sync path does) and refused past the cap, else handed on as it came.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest

from iaze.lib.request_size import READ_CHUNK, route_cap, too_large


def _limit(name: str, default: int) -> int:
    # The same variables and defaults as gunicorn.conf.py reads for the sync workers.
    return int(os.environ.get(name) or default)


class ASGILimits:
    def __init__(self, app):
        self.app = app
        self.line = _limit("WEB_LIMIT_REQUEST_LINE", 4094)
        self.fields = _limit("WEB_LIMIT_REQUEST_FIELDS", 64)
        self.field_size = _limit("WEB_LIMIT_REQUEST_FIELD_SIZE", 8190)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = scope.get("headers") or []
        line = len(scope["method"]) + len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 11
        if line > self.line:
            return await _plain(send, 400, b"Request Line is too large")
        if len(headers) > self.fields or any(len(k) + len(v) + 2 > self.field_size for k, v in headers):
            return await _plain(send, 431, b"Request Header Fields Too Large")
        cap = route_cap(scope["path"])
        if cap is None:
            return await self.app(scope, receive, send)
        length = _header(headers, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = None
            if declared is not None and declared > cap:
                return await _refuse(scope, send, cap, declared)
            return await self.app(scope, receive, send)
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        spool, over = await _spool(receive, cap)
        if over:
            spool.close()
            return await _refuse(scope, send, cap, None)
        try:
            return await self.app(scope, _replay(spool, receive), send)
        finally:
            spool.close()


def _header(headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _plain(send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope, send, cap: int, size: int | None) -> None:
    """413 with the sync path's reason, in the browser's language."""
    response = too_large(ASGIRequest(scope, io.BytesIO()), cap, size)
    await _plain(send, 413, response.content)


async def _spool(receive, cap: int) -> tuple[Any, bool]:
    """Read a body of no declared length, at most cap + 1 bytes: (its spooled copy, whether over cap)."""
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - closed by the caller after the response
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return spool, True
        spool.write(chunk)
        if not message.get("more_body", False):
            break
    spool.seek(0)
    return spool, False


def _replay(spool, receive):
    """The spooled body as ASGI messages, then the real channel (a disconnect while answering)."""
    done = False

    async def replayed():
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(READ_CHUNK)
        more = bool(chunk) and spool.tell() < _size(spool)
        done = not more
        return {"type": "http.request", "body": chunk, "more_body": more}

    return replayed


def _size(spool) -> int:
    here = spool.tell()
    spool.seek(0, os.SEEK_END)
    end = spool.tell()
    spool.seek(here)
    return end
