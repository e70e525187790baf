"""Serving a stored file: exact bytes, the message's own type, never sniffed, downloaded unless safe to show.

Only the conversation's authorised view (tickets.web.views.media_file) calls this: there is no public
media URL and no guessable path. The type is the message's (tickets.media.store.message_file_type), never
another message's that stored the same bytes first. Raster images Pillow decoded, audio and video are
shown inline; everything else (SVG, HTML, PDFs, anything a provider or uploader called an image but is
not) is sent as an attachment with a cleaned file name, and any type but the checked ones and plain text
as application/octet-stream. Single `Range` requests are answered with 206,
so audio and video players can seek.
"""

from __future__ import annotations

import mimetypes
import re

from django.http import HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.http import content_disposition_header

from iaze.lib import blobs
from tickets.media import store as media
from tickets.models import Message

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def _stream(name: str, start: int, length: int):
    with blobs.blob_open(name) as fh:
        fh.seek(start)
        left = length
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


# More digits than any file size has: such a position is past the end of every file.
_MAX_DIGITS = 18


def _position(digits: str) -> int:
    """A byte position as given, without building a huge int: "000…05" is 5, and 5,000 digits (which
    int() refuses past 4,300) is simply past the end, 10**18."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_DIGITS else 10**_MAX_DIGITS


def _byte_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """(start, end) of a single satisfiable range; None without a usable header; False when unsatisfiable."""
    match = _RANGE.match((header or "").strip())
    if not match or not (match.group(1) or match.group(2)):
        return None
    first, last = match.groups()
    if first:
        start = _position(first)
        end = min(_position(last), size - 1) if last else size - 1
    else:  # the last N bytes
        start, end = max(0, size - _position(last)), size - 1
    if start >= size or start > end:
        return False
    return start, end


def download_name(message: Message, mime_type: str) -> str:
    name = (message.media or {}).get("filename") or ""
    if name:
        return blobs.safe_filename(name)
    extension = mimetypes.guess_extension(mime_type.split(";", 1)[0].strip()) or ""
    return f"{message.get_kind_display().lower()}-{str(message.pk)[:8]}{extension}"


def media_response(request, message: Message, *, variant: str = "") -> HttpResponseBase:
    stored = message.media_file
    assert stored is not None
    if variant == "thumb" and stored.thumbnail_name:
        name, sha = stored.thumbnail_name, stored.thumbnail_sha256
        mime = "image/png" if blobs.blob_read(name)[:4] == b"\x89PNG" else "image/jpeg"
        inline, size = True, None
    else:
        name, sha, size = stored.storage_name, stored.sha256, stored.size
        file_type = media.message_file_type(message, stored, check_bytes=True)
        served = media.served_as(stored, file_type)
        mime, inline = served.content_type, served.inline
    if size is None:
        with blobs.blob_open(name) as fh:
            fh.seek(0, 2)
            size = fh.tell()
    etag = f'"{sha}"'
    response: HttpResponseBase
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        wanted = _byte_range(request.headers.get("Range", ""), size)
        if wanted is False:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
        elif isinstance(wanted, tuple):
            start, end = wanted
            response = StreamingHttpResponse(_stream(name, start, end - start + 1), status=206, content_type=mime)
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
            response["Content-Length"] = str(end - start + 1)
        else:
            response = StreamingHttpResponse(_stream(name, 0, size), content_type=mime)
            response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    # Even opened directly, a stored file can run nothing and load nothing.
    response["Content-Security-Policy"] = "default-src 'none'; media-src 'self'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=86400"
    response["Content-Disposition"] = content_disposition_header(not inline, download_name(message, mime)) or ""
    return response
