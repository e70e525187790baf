"""The LGPD export is streamed: a client with 30 MB of media is answered with a ZIP written a piece at a
time, never built in memory. Security round three: the whole ZIP was built in a BytesIO during the
request (the media's size twice over, with the copy that answered it)."""

import hashlib
import json
import os
import tracemalloc
import zipfile

import pytest
from django.urls import reverse

from reports import lgpd
from tests import factories as f
from tickets import services
from tickets.media import store as media
from tickets.models import Message, TicketEvent

pytestmark = pytest.mark.django_db

MB = 1024 * 1024
FILE_MB = 10
FILES = 3


def _random_chunks(seed: int):
    """FILE_MB of bytes that do not compress, a MB at a time (never the whole file in memory)."""
    block = hashlib.sha256(str(seed).encode()).digest()
    for i in range(FILE_MB):
        yield os.urandom(MB - 32) + hashlib.sha256(block + bytes([i])).digest()


@pytest.fixture
def heavy_client(tenant, meta_conn):
    client = f.make_client(tenant.reseller, wa_id="5511955550009", name="Joana")
    ticket = f.make_ticket(meta_conn, client=client, text="segue o contrato")
    stored = {}
    for n in range(FILES):
        kept = media.media_file_store(_random_chunks(n), reseller_id=tenant.reseller.pk, claimed_mime="application/pdf")
        msg = services.message_store(
            ticket=ticket,
            msg=services.InboundMessage(
                provider_message_id=f"wamid.doc{n}",
                kind=Message.Kind.DOCUMENT,
                raw_type="document",
                media={"id": f"m{n}", "filename": f"contrato-{n}.pdf"},
            ),
        )
        Message.objects.filter(pk=msg.pk).update(media_file=kept)
        stored[f"files/{msg.pk}-contrato-{n}.pdf"] = kept
    return client, stored


def test_a_client_with_30_mb_of_media_is_streamed_in_bounded_memory(client, reseller_user, heavy_client, tmp_path):
    joana, stored = heavy_client
    media_bytes = sum(s.size for s in stored.values())
    assert media_bytes >= FILES * FILE_MB * MB - FILES * 32
    client.force_login(reseller_user)
    target = tmp_path / "export.zip"

    tracemalloc.start()
    try:
        response = client.post(
            reverse("admin:accounts_client_changelist"),
            {"action": "export_client_data", "_selected_action": [joana.pk]},
        )
        assert response.status_code == 200 and response.streaming
        before_stream = tracemalloc.get_traced_memory()[0]
        pieces = 0
        with target.open("wb") as out:
            for chunk in response.streaming_content:
                out.write(chunk)
                pieces += 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    growth = peak - before_stream
    print(
        f"LGPD export: {media_bytes / MB:.1f} MB of media in {pieces} pieces; Python peak {peak / MB:.2f} MB, "
        f"{growth / MB:.2f} MB of it while streaming"
    )
    # Bounded by a few pieces (CHUNK = 256 KB read, compressed, handed on), whatever the media weighs.
    assert growth < 8 * lgpd.CHUNK, f"streaming took {growth / MB:.1f} MB for {media_bytes / MB:.0f} MB of media"
    assert peak < media_bytes / 4, f"peak {peak / MB:.1f} MB for {media_bytes / MB:.0f} MB of media"
    assert pieces > FILES * FILE_MB  # the answer left in pieces, not as one body
    assert response["Content-Type"] == "application/zip" and "no-store" in response["Cache-Control"]
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="iaze-cliente-5511955550009-') and disposition.endswith('.zip"')

    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(["client.json", *stored])
        for name, kept in stored.items():
            digest = hashlib.sha256()
            with archive.open(name) as fh:
                while chunk := fh.read(MB):
                    digest.update(chunk)
            assert digest.hexdigest() == kept.sha256 and archive.getinfo(name).file_size == kept.size
        data = json.loads(archive.read("client.json"))
    assert data["client"]["name"] == "Joana" and data["counts"]["files"] == FILES
    assert {e["path"] for e in data["files"]} == set(stored)
    assert TicketEvent.objects.filter(action="data_exported", ticket__client=joana).count() == 1


def test_the_export_is_logged_when_it_starts_and_an_unreadable_file_fails_loudly(tenant, meta_conn, agent1):
    """The event is written before the first byte leaves; a file source that cannot be read stops the
    stream with its error (the archive is then incomplete, never quietly short of a file)."""
    joana = f.make_client(tenant.reseller, wa_id="5511955550010", name="Joana")
    f.make_ticket(meta_conn, client=joana)

    def broken():
        raise FileNotFoundError("files/gone")

    @lgpd.register_file_source
    def gone(client, messages):
        yield lgpd.ExportFile(name="gone.pdf", open=broken, source="test")

    try:
        export = lgpd.client_export_start(client=joana, by=agent1)
        assert TicketEvent.objects.filter(action="data_exported", ticket__client=joana).count() == 1
        chunks = export.chunks()
        first = next(chunks)
        assert first.startswith(b"PK\x03\x04")  # client.json's local header: the ZIP started
        with pytest.raises(FileNotFoundError):
            list(chunks)
    finally:
        lgpd._FILE_SOURCES.remove(gone)
