"""Voice notes recorded in the browser (docs/workspace.md): a WebM/Opus recording is put in OGG without
re-encoding, stored like any outbound file, and sent so that WhatsApp plays it as a voice note (Meta: audio
with `"voice": true`; Evolution: sendWhatsAppAudio), exactly once, within the provider's limit and the window."""

import hashlib
import io
import math
import struct
from datetime import timedelta

import av
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from iaze.lib import blobs
from tests import factories as f
from tests.tickets.conftest import url
from tickets import outbox
from tickets.media import voice
from tickets.models import MediaFile, Message, Ticket

pytestmark = pytest.mark.django_db

RATE = 48000
FRAME = 960  # 20 ms at 48 kHz: one Opus packet


def webm_opus(seconds: float = 0.6) -> bytes:
    """A short 440 Hz tone encoded with libopus in WebM: what Chromium's MediaRecorder records."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        stream = container.add_stream("libopus", rate=RATE, layout="mono")
        for start in range(0, int(RATE * seconds), FRAME):
            tone = (int(9000 * math.sin(2 * math.pi * 440 * (start + i) / RATE)) for i in range(FRAME))
            frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
            frame.planes[0].update(struct.pack(f"<{FRAME}h", *tone))
            frame.sample_rate, frame.pts = RATE, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def opus_packets(data: bytes) -> tuple[str, str, list[bytes]]:
    """(container, codec, the Opus packets' bytes) as FFmpeg reads them."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        packets = [bytes(p) for p in container.demux(stream) if p.dts is not None]
        return container.format.name, stream.codec_context.name, packets


def _recording(data: bytes, name="audio.webm", mime="audio/webm"):
    return SimpleUploadedFile(name, data, content_type=mime)


def _counts():
    return Message.objects.filter(direction="out").count(), MediaFile.objects.count()


@pytest.fixture
def meta(tenant, fake):
    return f.make_connection(tenant.reseller, tenant.suporte, key="voice-meta", api_base_url=fake.url + "/v21.0")


@pytest.fixture
def evolution(tenant, fake):
    return f.make_connection(
        tenant.reseller, tenant.suporte, provider="evolution", key="voice-evo", api_base_url=fake.url
    )


def test_a_webm_recording_goes_to_meta_as_a_voice_note_in_ogg_with_the_same_opus_packets_exactly_once(
    client, meta, agent1, fake
):
    recorded = webm_opus()
    container, codec, packets = opus_packets(recorded)
    assert (container, codec) == ("matroska,webm", "opus") and len(packets) >= 30

    # The conversion itself: the very packets, byte for byte, in an OGG container (no re-encoding).
    ogg = voice.voice_ogg(recorded)
    assert ogg.startswith(b"OggS") and opus_packets(ogg) == ("ogg", "opus", packets)
    assert voice.voice_ogg(ogg) == ogg  # a browser's OGG/Opus recording is kept as it is

    ticket = f.make_ticket(meta, agent=agent1)
    client.force_login(agent1)
    for _ in range(2):  # a double click: one voice note stored, one sent
        response = client.post(url(ticket, "responder"), {"nonce": "v1", "voice": _recording(recorded)})
        assert response.status_code == 303
    note = Message.objects.get(ticket=ticket, direction="out")
    assert note.kind == "audio" and note.text == "" and note.media["voice"] is True
    assert note.media["mime_type"] == voice.OGG_OPUS and note.media["filename"] == "audio.ogg"
    stored = MediaFile.objects.get(pk=note.media_file_id)
    assert blobs.blob_read(stored.storage_name) == ogg  # stored like any outbound file: the OGG, not the WebM
    assert Ticket.objects.get(pk=ticket.pk).first_response_at == note.created_at

    outbox.send_pending()
    assert outbox.send_pending()["sent"] == 0  # exactly once
    sends = [c.json for c in fake.calls if c.path.endswith("/messages")]
    assert len(sends) == 1 and sends[0]["type"] == "audio"
    assert sends[0]["audio"] == {"id": sends[0]["audio"]["id"], "voice": True}
    (sent,) = fake.sent_media()
    assert sent["voice"] is True and sent["upload_type"] == "audio/ogg" and sent["mime_type"] == "audio/ogg"
    assert sent["sha256"] == hashlib.sha256(ogg).hexdigest() and sent["size"] == len(ogg)
    assert Message.objects.get(pk=note.pk).delivery_status == Message.Delivery.SENT


def test_evolution_gets_the_voice_note_through_send_whatsapp_audio_quoting_the_client(client, evolution, agent1, fake):
    recorded = webm_opus(0.3)
    ticket = f.make_ticket(evolution, agent=agent1)
    asked = Message.objects.get(ticket=ticket, direction="in")
    client.force_login(agent1)
    voice_note = {"nonce": "e1", "voice": _recording(recorded), "reply_to": str(asked.pk)}
    assert client.post(url(ticket, "responder"), voice_note).status_code == 303
    assert outbox.send_pending()["sent"] == 1
    (call,) = [c for c in fake.calls if c.provider == "evolution"]
    assert call.path.endswith("/message/sendWhatsAppAudio/demo") and set(call.json) == {"number", "audio", "quoted"}
    assert call.json["quoted"]["key"]["id"] == asked.provider_message_id
    (sent,) = fake.sent_media()
    ogg = voice.voice_ogg(recorded)
    assert sent["voice"] is True and sent["sha256"] == hashlib.sha256(ogg).hexdigest()
    note = Message.objects.get(ticket=ticket, direction="out")
    assert note.provider_message_id.startswith("3EB0FAKE") and note.delivery_status == Message.Delivery.SENT
    assert note.reply_to_id == asked.pk

    # Quoting a message of another ticket: 400, nothing stored.
    other = f.make_ticket(evolution, agent=agent1)
    stranger = Message.objects.get(ticket=other, direction="in")
    wrong = {"nonce": "e2", "voice": _recording(recorded), "reply_to": str(stranger.pk)}
    assert client.post(url(ticket, "responder"), wrong).status_code == 400
    assert Message.objects.filter(direction="out").count() == 1


def test_a_recording_over_the_limit_outside_the_window_or_not_opus_is_refused_with_nothing_stored(
    client, meta, agent1, fake
):
    ticket = f.make_ticket(meta, agent=agent1)
    client.force_login(agent1)
    before = _counts()

    # Over Meta's 16 MB audio limit: refused on the declared size, before the bytes are read or stored.
    big = _recording(voice.WEBM_MAGIC + b"\x00" * (16 * 1024 * 1024))
    response = client.post(url(ticket, "responder"), {"nonce": "b1", "voice": big})
    page = response.content.decode()
    assert response.status_code == 400 and "Mensagem de voz não enviada" in page and "16,0" in page

    # Not a recording (a PDF named audio.webm), or a voice note with text typed beside it: 400.
    pdf = _recording(b"%PDF-1.4 " + b"x" * 300)
    assert client.post(url(ticket, "responder"), {"nonce": "b2", "voice": pdf}).status_code == 400
    both = {"nonce": "b3", "text": "oi", "voice": _recording(webm_opus(0.1))}
    assert client.post(url(ticket, "responder"), both).status_code == 400

    # Outside the 24-hour window: 409, like a reply.
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=timezone.now() - timedelta(hours=24, minutes=1))
    response = client.post(url(ticket, "responder"), {"nonce": "b4", "voice": _recording(webm_opus(0.1))})
    assert response.status_code == 409 and "janela de 24 horas" in response.content.decode()
    assert _counts() == before and fake.calls == []
