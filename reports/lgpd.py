"""A client's data on request (LGPD, Brazil's data-protection law, art. 18: the right to a copy).

`client_export` writes one ZIP: `client.json` (the profile, every ticket with its messages and events)
and, under `files/`, every file some *file source* holds about the client. Nothing is deleted or
changed; the export is logged as a `data_exported` event on each of the client's tickets (through
tickets.services) and in the log.

File sources plug in: a callable `source(client, messages) -> iterable of ExportFile` registered with
`register_file_source` (or named by dotted path in the setting `IAZE_CLIENT_EXPORT_FILE_SOURCES`).
`stored_media` below is registered here: the stored files of the client's media messages.
"""

from __future__ import annotations

import io
import json
import logging
import mimetypes
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.module_loading import import_string

from accounts.models import Client
from iaze.lib import clock
from tickets import media
from tickets import services as ticket_services
from tickets.models import MediaFile, Message, Ticket, TicketEvent

log = logging.getLogger(__name__)
FORMAT = "iaze-client-export/1"


@dataclass(frozen=True)
class ExportFile:
    """One file for the ZIP: its name under files/, and how to open it (binary) when it is written."""

    name: str
    open: Callable[[], IO[bytes]]
    source: str = ""
    message_id: str = ""


FileSource = Callable[[Client, list[Message]], Iterable[ExportFile]]
_FILE_SOURCES: list[FileSource] = []


def register_file_source(source: FileSource) -> FileSource:
    """Add a source of files to every client export (usable as a decorator). Registering twice is a no-op."""
    if source not in _FILE_SOURCES:
        _FILE_SOURCES.append(source)
    return source


def file_sources() -> list[FileSource]:
    named = [import_string(path) for path in getattr(settings, "IAZE_CLIENT_EXPORT_FILE_SOURCES", ())]
    return [*_FILE_SOURCES, *(s for s in named if s not in _FILE_SOURCES)]


def stored_media(client: Client, messages: list[Message]) -> Iterable[ExportFile]:
    """The stored file of each of the client's media messages, received and sent (one per message, named
    `<message id>-<original name>`, so the same photo sent twice is in the ZIP under both messages)."""
    by_id = {f.pk: f for f in MediaFile.objects.filter(pk__in={m.media_file_id for m in messages if m.media_file_id})}
    for message in messages:
        stored = by_id.get(message.media_file_id)
        if stored is None:
            continue
        original = (message.media or {}).get("filename") or ""
        fallback = stored.sha256[:16] + (mimetypes.guess_extension(stored.mime_type) or "")
        yield ExportFile(
            name=f"{message.pk}-{media.safe_filename(original, fallback=fallback)}",
            open=partial(media.blob_open, stored.storage_name),
            source="media",
            message_id=str(message.pk),
        )


register_file_source(stored_media)


def _fields(obj: Any) -> dict[str, Any]:
    """Every stored column of a row, by field name (foreign keys as their id)."""
    return {f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields}


def client_data(client: Client) -> tuple[dict[str, Any], list[Message]]:
    """Everything IAZE holds about the client, as JSON-ready data, and the messages (for file sources)."""
    tickets = []
    all_messages: list[Message] = []
    for ticket in Ticket.objects.filter(client=client).order_by("created_at"):
        messages = list(Message.objects.filter(ticket=ticket).order_by("created_at"))
        all_messages.extend(messages)
        events = TicketEvent.objects.filter(ticket=ticket).order_by("at")
        tickets.append(
            {**_fields(ticket), "messages": [_fields(m) for m in messages], "events": [_fields(e) for e in events]}
        )
    return {"client": _fields(client), "tickets": tickets}, all_messages


def client_export(*, client: Client, out: IO[bytes], by: Any = None) -> dict[str, int]:
    """Write the client's ZIP to `out` (a binary file). Returns the counts written into it."""
    data, messages = client_data(client)
    files: list[ExportFile] = [f for source in file_sources() for f in source(client, messages)]
    counts = {
        "tickets": len(data["tickets"]),
        "messages": len(messages),
        "events": sum(len(t["events"]) for t in data["tickets"]),
        "files": len(files),
    }
    document = {
        "format": FORMAT,
        "exported_at": clock.now(),
        "exported_by": getattr(by, "email", "") or "",
        "counts": counts,
        **data,
        "files": [{"path": f"files/{f.name}", "source": f.source, "message_id": f.message_id} for f in files],
    }
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("client.json", json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2))
        for f in files:
            with f.open() as src, archive.open(f"files/{f.name}", "w") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
    name = export_name(client)
    events = ticket_services.client_data_export_log(client=client, by=by, export_name=name, counts=counts)
    log.info("client data exported: client %s by %s: %s (%d ticket events)", client.pk, by or "command", counts, events)
    return counts


def export_name(client: Client) -> str:
    safe = re.sub(r"[^\w.-]", "_", client.identity)[:64]
    return f"iaze-cliente-{safe}-{clock.now().strftime('%Y%m%dT%H%M%S')}.zip"


def client_export_bytes(*, client: Client, by: Any = None) -> bytes:
    buffer = io.BytesIO()
    client_export(client=client, out=buffer, by=by)
    return buffer.getvalue()
