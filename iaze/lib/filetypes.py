"""What a file's first bytes say it is, against what its name and claimed type say (an agent's attachment).

A browser's claimed type is only the file name's extension: `nota.exe` renamed `nota.pdf` arrives as
`application/pdf`. Before a file goes to a client:

- executable bytes (Windows `MZ`, ELF, Mach-O, a `#!` script) are refused whatever the file claims;
- a name with an executable extension (`.exe`, `.bat`, `.js`, `.apk`…) is refused whatever its bytes;
- for the types whose bytes we can recognise (PDF, Office, zip, Ogg, MP4/3GP, MP3, AAC, AMR, WAV, WebM,
  FLAC) the bytes must agree with the claim. Any other type (text, CSV, a generic document) is not judged
  here. Images are told apart by Pillow (tickets.media.store.sniff_raster), not here.

Pure functions on bytes and names; the caller turns the codes into the agent's message.
"""

from __future__ import annotations

import os
from collections.abc import Callable

# How many bytes of the start of a file the checks read.
HEAD_BYTES = 64

EXECUTABLE_EXTENSIONS = frozenset(
    {".exe", ".bat", ".cmd", ".com", ".scr", ".msi", ".js", ".vbs", ".ps1", ".sh", ".jar", ".apk"}
)

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (.doc, .xls, .ppt): a Compound File
ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with entries, an empty zip (OOXML and OpenDocument are zips)
# Mach-O (32/64-bit, either byte order) and fat binaries (the same magic as a Java class file: a program too).
MACH_O = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
MP4_BOXES = (b"ftyp",)
QUICKTIME_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def executable_kind(head: bytes) -> str:
    """The kind of program the bytes are ("windows", "elf", "macos", "script"), or "" when none."""
    if head.startswith(b"MZ"):
        return "windows"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head[:4] in MACH_O:
        return "macos"
    if head.startswith(b"#!") and not head.startswith(b"#!AMR"):  # AMR audio starts "#!AMR\n"
        return "script"
    return ""


def executable_extension(filename: str) -> str:
    """The executable extension the name ends with (".exe"), or "". Trailing dots and spaces, which
    Windows drops, do not hide it (`nota.exe.` is `nota.exe`)."""
    ext = os.path.splitext(filename.strip().rstrip(". "))[1].lower()
    return ext if ext in EXECUTABLE_EXTENSIONS else ""


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def _box_at_4(*boxes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[4:8] in boxes


def _mpeg_audio(head: bytes) -> bool:
    """MP3: an ID3 tag, or an MPEG audio frame sync (11 bits set)."""
    return head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _aac(head: bytes) -> bool:
    """AAC: ADTS frames (12-bit sync, layer 0), ADIF, an ID3 tag before ADTS, or an MP4 container (.m4a)."""
    adts = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
    return adts or head.startswith((b"ADIF", b"ID3")) or head[4:8] == b"ftyp"


def _wav(head: bytes) -> bool:
    return head.startswith(b"RIFF") and head[8:12] == b"WAVE"


_OOXML = "application/vnd.openxmlformats-officedocument."
_OPENDOCUMENT = "application/vnd.oasis.opendocument."

# Claimed type → does the start of the file agree.
SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": _starts(b"%PDF-"),
    "application/msword": _starts(OLE2),
    "application/vnd.ms-excel": _starts(OLE2),
    "application/vnd.ms-powerpoint": _starts(OLE2),
    "application/zip": _starts(*ZIP),
    "application/x-zip-compressed": _starts(*ZIP),
    "application/ogg": _starts(b"OggS"),
    "audio/ogg": _starts(b"OggS"),
    "audio/opus": _starts(b"OggS"),
    "video/ogg": _starts(b"OggS"),
    "audio/mpeg": _mpeg_audio,
    "audio/mp3": _mpeg_audio,
    "audio/aac": _aac,
    "audio/x-aac": _aac,
    "audio/amr": _starts(b"#!AMR\n"),
    "audio/amr-wb": _starts(b"#!AMR-WB\n"),
    "audio/mp4": _box_at_4(*MP4_BOXES),
    "audio/m4a": _box_at_4(*MP4_BOXES),
    "audio/x-m4a": _box_at_4(*MP4_BOXES),
    "audio/3gpp": _box_at_4(*MP4_BOXES),
    "video/mp4": _box_at_4(*MP4_BOXES),
    "video/3gpp": _box_at_4(*MP4_BOXES),
    "video/3gpp2": _box_at_4(*MP4_BOXES),
    "video/quicktime": _box_at_4(*QUICKTIME_BOXES),
    "audio/wav": _wav,
    "audio/wave": _wav,
    "audio/x-wav": _wav,
    "audio/webm": _starts(b"\x1a\x45\xdf\xa3"),
    "video/webm": _starts(b"\x1a\x45\xdf\xa3"),
    "audio/flac": _starts(b"fLaC"),
    "audio/x-flac": _starts(b"fLaC"),
}


def base_type(mime: str) -> str:
    return (mime or "").split(";", 1)[0].strip().lower()


def recognised(mime: str) -> bool:
    """Whether the bytes of this type are checked at all."""
    mime = base_type(mime)
    return mime in SIGNATURES or mime.startswith((_OOXML, _OPENDOCUMENT))


def content_agrees(mime: str, head: bytes) -> bool:
    """False when the type is one we recognise and the bytes are not of it; True otherwise."""
    mime = base_type(mime)
    if mime.startswith((_OOXML, _OPENDOCUMENT)):
        return head.startswith(ZIP)
    check = SIGNATURES.get(mime)
    return check is None or check(head)


def looks_like_text(sample: bytes) -> bool:
    """No NUL byte in the sample: a CSV or a plain text file (UTF-8 or Latin-1), not a binary one."""
    return bool(sample) and b"\x00" not in sample
