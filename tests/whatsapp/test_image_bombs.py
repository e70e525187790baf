"""Security round three, item 4: image bombs are never decoded.

A 300 KB PNG declaring tens of thousands of pixels a side cost 620 MB when an agent attached it, and any
WhatsApp user can send the same to the media worker (as an image or as a document). Every image IAZE opens
goes through iaze.lib.images.open_image: width × height is checked from the header against
MEDIA_MAX_IMAGE_PIXELS (40 million) before any pixel is decoded, and an image over it is kept as a plain
document, without a thumbnail. "Never decoded" is measured with Pillow's own allocator statistics (every
decoded image is a new core image) and the Python allocations with tracemalloc."""

import io
import struct
import tracemalloc
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from iaze.lib import blobs, images
from tests import factories as f
from tests.whatsapp.conftest import post_evolution, post_meta
from tests.whatsapp.media_helpers import evolution_media, media_url, meta_media, only_message, png_bytes, run_worker
from tickets.media import store as media
from tickets.models import MediaFile, Message

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")]

# (width, height): over the default budget of 40 million pixels. 7,000² is under Pillow's own error
# threshold (twice its limit); 9,000² is under Pillow's default limit altogether (89 million): before
# the budget, both were decoded whole for their thumbnail. 20,000² is the example.
BOMBS = [(7_000, 7_000), (9_000, 9_000), (20_000, 20_000)]


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit grayscale PNG, all black: a few dozen KB that decode into width × height bytes.
    Written row by row through zlib, so building it costs no more than its compressed size."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
    rows_per_piece = max(1, (1 << 20) // len(row))
    z = zlib.compressobj(9)
    parts, left = [], height
    while left:
        n = min(rows_per_piece, left)
        parts.append(z.compress(row * n))
        left -= n
    parts.append(z.flush())

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


class Measured:
    """Images Pillow decoded (new core images) and the peak of Python allocations inside the block."""

    def __enter__(self):
        self.images_before = Image.core.get_stats()["new_count"]
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        _current, self.peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        self.decoded = Image.core.get_stats()["new_count"] - self.images_before
        return False


def assert_kept_as_a_document(stored: MediaFile, content: bytes):
    assert stored.raster_image is False and stored.thumbnail_name == "" and stored.width is None
    assert stored.mime_type == "application/octet-stream" and stored.size == len(content)
    assert blobs.blob_read(stored.storage_name) == content  # the file itself is kept, byte for byte


@pytest.mark.parametrize("size", BOMBS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_pixel_budget_is_checked_from_the_header(size, monkeypatch):
    bomb = png_bomb(*size)
    assert len(bomb) < 300_000
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # unguarded: a real PNG, with the size it declares
    with Image.open(io.BytesIO(bomb)) as img:
        assert img.size == size and img.format == "PNG"
    monkeypatch.undo()
    with Measured() as m:
        assert media.sniff_raster(io.BytesIO(bomb)) is None
        assert media._thumbnail(io.BytesIO(bomb)) is None
        with pytest.raises(images.ImageOverBudget):
            with images.open_image(io.BytesIO(bomb)):
                pass
    assert m.decoded == 0 and m.peak < 2_000_000
    assert Image.MAX_IMAGE_PIXELS == 40_000_000  # Pillow's own guard follows the setting


def test_the_budget_is_a_setting_and_an_image_within_it_is_still_an_image(settings, tenant):
    settings.MEDIA_MAX_IMAGE_PIXELS = 1_000_000
    at_the_limit, over = png_bytes(1000, 1000), png_bytes(1001, 1000)
    assert media.sniff_raster(io.BytesIO(at_the_limit)) == ("image/png", 1000, 1000)
    with Measured() as m:
        assert media.sniff_raster(io.BytesIO(over)) is None
    assert m.decoded == 0
    stored = media.media_file_store(at_the_limit, reseller_id=tenant.reseller.pk, claimed_mime="image/png")
    assert stored.raster_image and stored.thumbnail_name  # decoded once, for its thumbnail


@pytest.mark.parametrize("size", BOMBS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_an_agents_attachment_is_sent_as_a_document_without_decoding_it(client, fake, evo_live, agent1, size):
    bomb = png_bomb(*size)
    ticket = f.make_ticket(evo_live, agent=agent1)
    client.force_login(agent1)
    upload = SimpleUploadedFile("planta.png", bomb, content_type="image/png")
    with Measured() as m:
        response = client.post(f"/tickets/{ticket.pk}/responder/", {"text": "", "nonce": "bomb", "file": upload})
    assert response.status_code == 303
    message = Message.objects.get(direction="out")
    assert message.kind == "document"
    assert_kept_as_a_document(message.media_file, bomb)
    assert m.decoded == 0 and m.peak < 5_000_000, m.peak


def test_on_meta_the_attachment_is_refused_with_the_reason_and_nothing_kept(client, fake, meta_live, agent1):
    """Meta takes no application/octet-stream document: a clear 400, as for an SVG named .png."""
    ticket = f.make_ticket(meta_live, agent=agent1)
    client.force_login(agent1)
    upload = SimpleUploadedFile("planta.png", png_bomb(9_000, 9_000), content_type="image/png")
    with Measured() as m:
        response = client.post(f"/tickets/{ticket.pk}/responder/", {"text": "", "nonce": "bomb", "file": upload})
    assert response.status_code == 400
    assert "application/octet-stream" in response.content.decode()
    assert not Message.objects.filter(direction="out").exists() and MediaFile.objects.count() == 0
    assert m.decoded == 0


@pytest.mark.parametrize("size", BOMBS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_clients_image_is_stored_as_a_document_by_the_media_worker(client, fake, meta_live, agent1, size):
    bomb = png_bomb(*size)
    body, media_id = meta_media(meta_live, content=bomb, mime="image/png", caption="olha")
    fake.add_media(media_id, bomb, "image/png")
    assert post_meta(client, meta_live, body).status_code == 200
    with Measured() as m:
        assert run_worker()["stored"] == 1
    message = only_message()
    assert_kept_as_a_document(message.media_file, bomb)
    assert m.decoded == 0 and m.peak < 5_000_000, m.peak
    # Shown as a file to download, never as an <img>.
    client.force_login(agent1)
    page = client.get(f"/tickets/{message.ticket_id}/").content.decode()
    assert f'<img src="{media_url(message)}' not in page and f'href="{media_url(message)}"' in page
    served = client.get(media_url(message))
    assert served.status_code == 200 and served["Content-Disposition"].startswith("attachment")
    assert client.get(media_url(message) + "?v=thumb")["Content-Disposition"].startswith("attachment")


def test_the_same_png_sent_as_a_document_through_evolution(client, fake, evo_live):
    bomb = png_bomb(20_000, 20_000)
    body = evolution_media(kind="documentMessage", mime="image/png", content=bomb)
    body["data"]["message"]["documentMessage"]["fileName"] = "planta.png"
    body["instance"] = evo_live.instance_name
    assert post_evolution(client, evo_live, body).status_code == 200
    with Measured() as m:
        assert run_worker()["stored"] == 1
    message = only_message()
    assert message.kind == "document"
    assert_kept_as_a_document(message.media_file, bomb)
    assert m.decoded == 0
