"""Media in a real browser: an inbound photo, a voice note player and a document link in the conversation,
and an agent attaching an image that the fake provider receives (upload, then the message)."""

import hashlib

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from tests import factories as f
from tests.fake_provider import FakeProvider
from tests.whatsapp.conftest import post_evolution, post_meta
from tests.whatsapp.media_helpers import OGG, evolution_media, jpeg_bytes, meta_media, png_bytes
from tickets import outbox
from tickets.models import Message
from whatsapp import downloads
from whatsapp.models import Connection

from .conftest import SCREENSHOTS

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
        page.locator('.reply-form input[type="file"]').set_input_files(str(upload))
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
