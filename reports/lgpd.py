"""A client's data on request (LGPD, Brazil's data-protection law, art. 18 II and art. 19: the right of
access, a copy of the personal data being processed).

What the export holds (docs/reports.md#a-clients-data-on-request-lgpd): what the client gave and what was
said to them. `client.json` has the client's profile and tags, and every ticket of theirs with its
dates, states and tags, the messages received from them and sent to them, and its events; under
`files/`, every file some *file source* holds about the client (the media of those messages).

What it leaves out: the team's internal notes (messages with direction `note`, and the `note` events
that point at them). A note is never sent to the client: it is the business's working record, not
communication with the client, and it may hold other people's data or an agent's opinion; art. 19 II
has the access respect commercial secrets. `client.json` says they are left out
(`"excluded": ["internal_notes"]`); they stay in the ticket's history, where the team can read them
should the business decide that one must be disclosed.

The ZIP is streamed: `client_export_start(...).chunks()` yields it a piece at a time, so memory stays
about one CHUNK whatever the client's media weighs. Nothing is deleted or changed; the export is logged
as a `data_exported` event on each of the client's tickets (through tickets.services) and in the log,
when it starts.

File sources plug in: a callable `source(client, messages) -> iterable of ExportFile` registered with
`register_file_source` (or named by dotted path in the setting `IAZE_CLIENT_EXPORT_FILE_SOURCES`).
`stored_media` below is registered here: the stored files of the client's media messages.
"""

from __future__ import annotations

import io
import logging
import mimetypes
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import Client, ClientTag, Tag
from iaze.lib import blobs, clock
from tickets import services as ticket_services
from tickets.media import store as media
from tickets.models import MediaFile, Message, Ticket, TicketEvent, TicketTag

log = logging.getLogger(__name__)
# 2: internal notes left out, tags added, the ticket's `last_change` left out, `excluded` says so.
FORMAT = "iaze-client-export/2"
# What was said between the business and the client; notes are the team's own (module docstring).
EXPORTED_DIRECTIONS = (Message.Direction.IN, Message.Direction.OUT)
EXCLUDED_EVENTS = (TicketEvent.Action.NOTE,)
# The piece of a file read, compressed and handed on at a time.
CHUNK = 256 * 1024


@dataclass(frozen=True)
class ExportFile:
    """One file for the ZIP: its name under files/, and how to open it (binary) when it is written."""

    name: str
    open: Callable[[], IO[bytes]]
    source: str = ""
    message_id: str = ""
    # Its size when known; unknown, the entry is written as ZIP64 (it might pass 4 GB).
    size: int | None = None


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
        file_type = media.message_file_type(message, stored, check_bytes=False)
        fallback = stored.sha256[:16] + (mimetypes.guess_extension(file_type) or "")
        yield ExportFile(
            name=f"{message.pk}-{blobs.safe_filename(original, fallback=fallback)}",
            open=partial(blobs.blob_open, stored.storage_name),
            source="media",
            message_id=str(message.pk),
            size=stored.size,
        )


register_file_source(stored_media)


def _fields(obj: Any, *, leave_out: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every stored column of a row, by field name (foreign keys as their id)."""
    return {f.attname: f.value_from_object(obj) for f in obj._meta.concrete_fields if f.attname not in leave_out}


def _tag_names(links: Any) -> list[str]:
    """The names of the active tags of these links (ClientTag or TicketTag rows), sorted."""
    ids = [link.tag_id for link in links.filter(active=True)]
    return sorted(Tag.objects.filter(pk__in=ids).values_list("name", flat=True)) if ids else []


def client_data(client: Client) -> tuple[dict[str, Any], list[Message]]:
    """What the export holds about the client, as JSON-ready data, and its messages (for file sources).

    The client's profile and tags; each ticket's columns (but `last_change`, a copy of its latest record,
    which may be a note's), tags, the messages received from and sent to the client, and its events.
    Internal notes (Message.Direction.NOTE) and their events are left out: see module docstring."""
    tickets = []
    all_messages: list[Message] = []
    for ticket in Ticket.objects.filter(client=client).order_by("created_at"):
        messages = list(Message.objects.filter(ticket=ticket, direction__in=EXPORTED_DIRECTIONS).order_by("created_at"))
        all_messages.extend(messages)
        events = TicketEvent.objects.filter(ticket=ticket).exclude(action__in=EXCLUDED_EVENTS).order_by("at")
        tickets.append(
            {
                **_fields(ticket, leave_out=("last_change",)),
                "tags": _tag_names(TicketTag.objects.filter(ticket=ticket)),
                "messages": [_fields(m) for m in messages],
                "events": [_fields(e) for e in events],
            }
        )
    profile = {**_fields(client), "tags": _tag_names(ClientTag.objects.filter(client=client))}
    return {"client": profile, "tickets": tickets}, all_messages


@dataclass
class ClientExport:
    """One client's export, its data read and its download logged: `chunks()` writes the ZIP."""

    name: str
    counts: dict[str, int]
    document: dict[str, Any]
    files: list[ExportFile]

    def chunks(self) -> Iterator[bytes]:
        """The ZIP, a piece at a time: at most about one CHUNK of it is held in memory at once.

        Written to a stream that cannot seek, zipfile puts each entry's sizes and CRC after its data
        (a data descriptor) and the central directory at the end, as every unzip tool expects."""
        pipe = _Pipe()
        stamp = timezone.localtime(self.document["exported_at"]).timetuple()[:6]
        with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            with archive.open("client.json", "w") as dst:
                for piece in _json_pieces(self.document):
                    dst.write(piece)
                    if pipe.pending >= CHUNK:
                        yield pipe.take()
            if pipe.pending:
                yield pipe.take()
            for f in self.files:
                entry = zipfile.ZipInfo(f"files/{f.name}", date_time=stamp)
                entry.compress_type = zipfile.ZIP_DEFLATED
                if f.size is not None:
                    entry.file_size = f.size
                with f.open() as src, archive.open(entry, "w", force_zip64=f.size is None) as dst:
                    while chunk := src.read(CHUNK):
                        dst.write(chunk)
                        if pipe.pending:
                            yield pipe.take()
                if pipe.pending:
                    yield pipe.take()
        yield pipe.take()


class _Pipe(io.RawIOBase):
    """Where zipfile writes: what it wrote is taken out by the generator. Not seekable, on purpose."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self.pending = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        part = bytes(data)
        self._parts.append(part)
        self.pending += len(part)
        return len(part)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        self.pending = 0
        return out


def _json_pieces(document: dict[str, Any]) -> Iterator[bytes]:
    """client.json encoded a piece at a time (about 64 KB each), never as one string."""
    buffer: list[str] = []
    size = 0
    encoder = DjangoJSONEncoder(ensure_ascii=False, indent=2)
    for piece in encoder.iterencode(document):
        buffer.append(piece)
        size += len(piece)
        if size >= 64 * 1024:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    yield "".join(buffer).encode()


def client_export_start(*, client: Client, by: Any = None) -> ClientExport:
    """Read what the export holds and log the export (before any byte of it leaves: a download cut
    short has still shown part of the client's data). Nothing else is changed."""
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
        "excluded": ["internal_notes"],
        **data,
        "files": [{"path": f"files/{f.name}", "source": f.source, "message_id": f.message_id} for f in files],
    }
    name = export_name(client)
    events = ticket_services.client_data_export_log(client=client, by=by, export_name=name, counts=counts)
    log.info("client data exported: client %s by %s: %s (%d ticket events)", client.pk, by or "command", counts, events)
    return ClientExport(name=name, counts=counts, document=document, files=files)


def client_export(*, client: Client, out: IO[bytes], by: Any = None) -> dict[str, int]:
    """Write the client's ZIP to `out` (a binary file). Returns the counts written into it."""
    export = client_export_start(client=client, by=by)
    for chunk in export.chunks():
        out.write(chunk)
    return export.counts


def export_name(client: Client) -> str:
    safe = re.sub(r"[^\w.-]", "_", client.identity)[:64]
    return f"iaze-cliente-{safe}-{clock.now().strftime('%Y%m%dT%H%M%S')}.zip"
