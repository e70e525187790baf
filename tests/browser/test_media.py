"""Media in a real browser: an inbound photo, a voice note player and a document link in the conversation,
an agent attaching an image that the fake provider receives (upload, then the message), and a photo whose
download failed fetched again with "Tentar de novo"."""

import hashlib

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tests.fake_provider import FakeProvider
from tests.whatsapp.conftest import post_evolution, post_meta
from tests.whatsapp.media_helpers import OGG, evolution_media, jpeg_bytes, media_url, meta_media, png_bytes
from tickets import outbox
from tickets.models import MediaDownload, Message
from whatsapp import media_fetch as downloads
from whatsapp.models import Connection

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_media_in_the_conversation_and_an_agent_sending_an_image(live_server, login, tenant, agent1, client, tmp_path):
    with FakeProvider() as fake, override_settings(WHATSAPP_SEND_INLINE=True):
        meta = f.make_connection(tenant.reseller, tenant.suporte, key="b-meta", api_base_url=fake.url + "/v21.0")
        evo = f.make_connection(
            tenant.reseller,
            tenant.suporte,
            key="b-evo",
            provider=Connection.Provider.EVOLUTION,
            api_base_url=fake.url,
            instance_name="demo",
        )
        wa_id = "5511977776666"
        photo = jpeg_bytes(900, 600)
        body, media_id = meta_media(meta, content=photo, caption="a nota fiscal", wa_id=wa_id)
        fake.add_media(media_id, photo, "image/jpeg")
        assert post_meta(client, meta, body).status_code == 200
        pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + b"0" * 4000
        doc, doc_id = meta_media(
            meta, kind="document", content=pdf, mime="application/pdf", filename="boleto-junho.pdf", wa_id=wa_id
        )
        fake.add_media(doc_id, pdf, "application/pdf")
        assert post_meta(client, meta, doc).status_code == 200
        ticket = Message.objects.filter(connection=meta).first().ticket
        voice = evolution_media(kind="audioMessage", mime="audio/ogg; codecs=opus", content=OGG)
        voice["data"]["message"]["audioMessage"]["ptt"] = True
        assert post_evolution(client, evo, voice).status_code == 200

        page = login(agent1)
        page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
        expect(page.locator(".media-pending").first).to_contain_text("baixando")
        assert downloads.media_downloads_run(ignore_backoff=True)["stored"] == 3

        # The page refreshes by itself: thumbnail linking the full size, a document link.
        image = page.locator(".media-image img")
        expect(image).to_be_visible(timeout=15_000)
        assert page.evaluate("document.querySelector('.media-image img').naturalWidth") > 0
        expect(page.locator(".media-document a")).to_contain_text("boleto-junho.pdf")
        expect(page.locator(".media-document")).to_contain_text("application/pdf")
        expect(page.locator(".msg-in").first).to_contain_text("a nota fiscal")

        # The voice note arrived on another connection: its own ticket, with a player.
        voice_ticket = Message.objects.get(connection=evo).ticket
        page.goto(f"{live_server.url}/tickets/{voice_ticket.pk}/")
        player = page.locator(".media-audio audio[controls]")
        expect(player).to_be_visible()
        page.goto(f"{live_server.url}/tickets/{ticket.pk}/")

        page.locator(".ticket-head").get_by_role("button", name="Assumir").click()  # not a row's
        page.wait_for_url(f"{live_server.url}/tickets/{ticket.pk}/")
        shot = png_bytes(320, 200, (30, 160, 90))
        upload = tmp_path / "comprovante.png"
        upload.write_bytes(shot)
        page.locator('.reply-form input[name="file"]').set_input_files(str(upload))
        expect(page.locator("[data-attach-preview] img")).to_be_visible()
        page.get_by_label("Resposta").fill("Segue o comprovante")
        page.get_by_role("button", name="Responder").click()
        expect(page.locator(".msg-out .media-image img")).to_be_visible(timeout=15_000)
        page.screenshot(path=str(SCREENSHOTS / "conversation-media.png"), full_page=True)

        outbox.send_pending()
        sent = fake.sent_media()
        assert len(sent) == 1 and sent[0]["type"] == "image" and sent[0]["caption"] == "Segue o comprovante"
        assert sent[0]["sha256"] == hashlib.sha256(shot).hexdigest()
        assert Message.objects.get(direction="out").delivery_status == "sent"
        page.context.close()


def test_a_failed_photo_fetched_again_with_tentar_de_novo(live_server, login, tenant, agent1, client, settings):
    settings.MEDIA_DOWNLOAD_MAX_ATTEMPTS = 1  # one worker pass fails it for good
    with FakeProvider() as fake:
        meta = f.make_connection(tenant.reseller, tenant.suporte, key="b-retry", api_base_url=fake.url + "/v21.0")
        photo = jpeg_bytes(640, 480, (180, 60, 30))
        body, media_id = meta_media(meta, content=photo, caption="foto do recibo", wa_id="5511966665555")
        assert post_meta(client, meta, body).status_code == 200
        # The fake does not know the media id yet: Meta's "expired or unknown id", on the only attempt.
        ran = downloads.media_downloads_run(ignore_backoff=True)
        assert ran == {"stored": 0, "retry": 0, "failed": 1, "skipped": 0}
        message = Message.objects.get(connection=meta, direction="in")
        assert MediaDownload.objects.get(message=message).state == "failed"

        page = login(agent1)
        page.goto(f"{live_server.url}/tickets/{message.ticket_id}/")
        failed = page.locator(f'li[data-message="{message.pk}"] .media-failed')
        expect(failed.locator(".media-status")).to_contain_text("indisponível: ")
        expect(failed.locator(".media-status")).to_contain_text("não está mais disponível na Meta")
        expect(failed.locator(".media-hint")).to_have_text(
            "Tentar de novo pode resolver; a Meta guarda os arquivos por 30 dias."
        )
        expect(page.locator(f'li[data-message="{message.pk}"]')).to_contain_text("foto do recibo")

        failed.get_by_role("button", name="Tentar de novo").click()
        # htmx swaps the thread in: the download is queued again, nothing fetched yet.
        row = page.locator(f'li[data-message="{message.pk}"]')
        expect(row.locator(".media-pending .media-status")).to_contain_text("baixando", timeout=15_000)
        expect(row.get_by_role("button", name="Tentar de novo")).to_have_count(0)
        job = MediaDownload.objects.get(message=message)
        assert job.state == "pending" and job.attempts == 0

        fake.add_media(media_id, photo, "image/jpeg")
        assert downloads.media_downloads_run(ignore_backoff=True)["stored"] == 1

        # The thread's live refresh shows the photo, a thumbnail linking the full size.
        url = media_url(message)
        image = row.locator(f'.media-image a[href="{url}"] img[src="{url}?v=thumb"]')
        expect(image).to_be_visible(timeout=20_000)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle(), timeout=20_000
        )
        expect(row.locator(".media-failed, .media-pending")).to_have_count(0)
        page.context.close()
