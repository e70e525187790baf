"""Contacts as CSV files: reading an upload (any of the forms spreadsheets write) and writing the export.

Reading: UTF-8 with or without BOM, else Windows-1252 (Excel pt-BR's plain "CSV"); `;`, `,` or tab
separated, told from the header line; an Excel `sep=;` first line is honoured and not counted. Lines are
numbered as a spreadsheet shows them: the header is line 1 and a quoted cell holding line breaks stays one
line; a leading apostrophe before `=`, `+`, `-` or `@` (the export's, below) is dropped.
Writing: `;` separated, UTF-8 with BOM, so Excel pt-BR opens it as columns with its accents.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator

from django.utils.translation import gettext as _

from accounts.contact_import import ImportRejected

# The accepted lines are stored with the import job: one MongoDB document holds at most 16 MB.
MAX_BYTES = 8 * 1024 * 1024
DELIMITERS = (";", ",", "\t")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def decode(raw: bytes) -> str:
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError:
        # A few bytes Windows-1252 leaves undefined: Latin-1 reads every byte.
        return raw.decode("latin-1")


def _delimiter(first_line: str) -> str:
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for c in first_line:
        if c == '"':
            quoted = not quoted
        elif not quoted and c in counts:
            counts[c] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def read(raw: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """(header, rows as (line number, cells)); ImportRejected for an empty or headerless file."""
    if len(raw) > MAX_BYTES:
        raise ImportRejected(_("O arquivo passa de %(mb)d MB: divida-o em partes.") % {"mb": MAX_BYTES // 2**20})
    text = decode(raw).replace("\x00", "")
    if not text.strip():
        raise ImportRejected(_("O arquivo está vazio."))
    first, _sep, rest = text.partition("\n")
    delimiter = None
    if first.strip().lower().startswith("sep=") and len(first.strip()) == 5:
        delimiter, text = first.strip()[4], rest  # Excel's own hint, not a line of the sheet
        first = text.partition("\n")[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or _delimiter(first))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ImportRejected(_("O arquivo não tem cabeçalho.")) from None
    if not any(h.strip() for h in header):
        raise ImportRejected(_("A primeira linha (o cabeçalho) está vazia."))

    def rows() -> Iterator[tuple[int, list[str]]]:
        line = 1
        while True:
            line += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportRejected(
                    _("O arquivo não pôde ser lido na linha %(line)d: %(error)s") % {"line": line, "error": exc}
                ) from None
            yield line, [_uncell(c) for c in cells]

    return [h.strip() for h in header], rows()


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula is text to a spreadsheet only with a leading apostrophe.
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _uncell(text: str) -> str:
    """Undo the export's apostrophe before a formula-like cell, so an exported file imports back as it was."""
    return text[1:] if text.startswith("'") and text[1:2] in FORMULA_PREFIXES and text[1:2] else text


class _Line:
    def write(self, value: str) -> str:
        return value


def lines(header: list[str], rows: Iterable[list]) -> Iterator[str]:
    writer = csv.writer(_Line(), delimiter=";", lineterminator="\r\n")
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow([_cell(v) for v in row])
