"""An agent's file before it is stored: the type and size the connection's provider takes, and the content
checked against the type it claims (iaze.lib.filetypes)."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from iaze.lib import blobs, filetypes
from providers import get_provider
from tickets.media.store import sniff_raster
from tickets.models import Message


class MediaRefused(ValueError):
    """An agent's file the connection's provider will not take (type or size); the text says why."""


@dataclass(frozen=True)
class Outbound:
    kind: str
    mime_type: str
    filename: str
    size: int


def outbound_check(connection: Any, upload: Any) -> Outbound:
    """What an attached file is and whether the provider takes it, before anything is stored or sent
    (file_check, then the connection's provider's types and limits: provider_check)."""
    mime, filename, size = file_check(upload, accepts=lambda mime: _provider_rule(connection, mime))
    return provider_check(connection, mime_type=mime, filename=filename, size=size)


def _provider_rule(connection: Any, mime_type: str) -> Any:
    rule = get_provider(connection).media_rule(mime_type)
    if rule is None:
        raise MediaRefused(_("O WhatsApp desta conexão não aceita arquivos do tipo %(type)s.") % {"type": mime_type})
    return rule


def file_check(upload: Any, *, accepts: Callable[[str], Any] | None = None) -> tuple[str, str, int]:
    """(type, safe name, size) of an uploaded file, whoever will send it.

    The browser's claimed type is checked against the bytes: an image is whatever Pillow decodes, and
    a claimed image Pillow cannot decode is sent as a plain document (or refused when the provider
    takes no such document). A program (executable bytes, or a name such as `.exe`, `.js`, `.apk`) is
    refused whatever it claims, and a type whose bytes we recognise (PDF, Office, audio, video) must
    have them: a `.exe` renamed `.pdf` never reaches a client (iaze.lib.filetypes)."""
    filename = blobs.safe_filename(getattr(upload, "name", ""))
    size = int(getattr(upload, "size", 0) or 0)
    if size <= 0:
        raise MediaRefused(_("O arquivo está vazio."))
    claimed = blobs.clean_mime(getattr(upload, "content_type", "")) or mimetypes.guess_type(filename)[0] or ""
    upload.seek(0)
    sample = upload.read(8192)
    upload.seek(0)
    raster = sniff_raster(upload)
    upload.seek(0)
    head = sample[: filetypes.HEAD_BYTES]
    if raster:
        mime = raster[0]
    elif not claimed or claimed.startswith("image/") or claimed in ("text/html", "application/xhtml+xml"):
        mime = "application/octet-stream"
    elif (
        filetypes.base_type(claimed) == "application/vnd.ms-excel"
        and filename.lower().endswith(".csv")
        and filetypes.looks_like_text(sample)
    ):
        mime = "text/csv"  # Windows browsers with Excel installed call every .csv an Excel sheet
    else:
        mime = claimed
    if accepts is not None:
        accepts(mime)  # a type the provider refuses is named as such first
    if filetypes.executable_kind(head):
        raise MediaRefused(_("Este arquivo é um programa (executável ou script) e não pode ser enviado."))
    extension = filetypes.executable_extension(filename)
    if extension:
        raise MediaRefused(
            _("Arquivos %(extension)s não podem ser enviados: são programas (executáveis ou scripts).")
            % {"extension": extension}
        )
    if not raster and not filetypes.content_agrees(mime, head):
        raise MediaRefused(
            _("O conteúdo do arquivo não corresponde ao tipo %(type)s; confira o arquivo antes de enviá-lo.")
            % {"type": filetypes.base_type(mime)}
        )
    return mime, filename, size


def provider_check(connection: Any, *, mime_type: str, filename: str, size: int) -> Outbound:
    """Whether the connection's provider takes a file of this type and size (an upload checked by file_check,
    or a file stored before, such as a quick reply's attachment)."""
    rule = _provider_rule(connection, mime_type)
    limit = min(rule.max_bytes, blobs.max_bytes())
    if size > limit:
        raise MediaRefused(
            _("O arquivo tem %(size)s; o limite do WhatsApp para %(kind)s é %(limit)s.")
            % {
                "size": filesizeformat(size),
                "kind": Message.Kind(rule.kind).label,
                "limit": filesizeformat(limit),
            }
        )
    return Outbound(kind=rule.kind, mime_type=mime_type, filename=filename, size=size)
