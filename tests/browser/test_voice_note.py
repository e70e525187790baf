"""A voice note in a real browser (Chromium's fake audio capture: a tone from a fake microphone): recorded with the
reply box's 🎤, heard back, sent, and reaching Meta as a voice message in OGG/Opus; a browser that refuses the
microphone says so in words, and nothing is sent."""

import io

import av
import pytest
from playwright.sync_api import expect

from conftest import chromium_path
from iaze.lib import blobs
from tests import factories as f
from tests.browser.conftest import CHROMIUM_ARGS, SCREENSHOTS
from tests.factories import PASSWORD
from tickets.models import MediaFile, Message

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A fake microphone (a beeping tone); permission is still asked, and granted or not per browser context.
VOICE_ARGS = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream"]


@pytest.fixture
def voice_browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=VOICE_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser, live_server, user, *, microphone: bool):
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="pt-BR", permissions=["microphone"] if microphone else []
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live_server.url}/tickets/")
    return page


def test_record_hear_and_send_a_voice_note_and_a_refused_microphone_is_explained(
    live_server, voice_browser, tenant, agent1, fake, settings
):
    settings.WHATSAPP_SEND_INLINE = True
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="voice-meta", api_base_url=fake.url + "/v21.0")
    ticket = f.make_ticket(
        conn,
        client=f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321"),
        text="Pode me mandar um áudio explicando?",
        agent=agent1,
    )

    # No permission to use the microphone: a clear message in the page, nothing recorded or sent.
    page = _page(voice_browser, live_server, agent1, microphone=False)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.get_by_role("button", name="Gravar mensagem de voz").click()
    expect(page.get_by_role("alert").filter(has_text="O navegador não deixou gravar")).to_be_visible()
    expect(page.get_by_role("button", name="Enviar áudio")).to_be_hidden()
    assert not Message.objects.filter(ticket=ticket, direction="out").exists()
    page.context.close()

    page = _page(voice_browser, live_server, agent1, microphone=True)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    page.get_by_role("button", name="Gravar mensagem de voz").click()
    timer = page.locator("[data-voice-timer]")
    expect(timer).to_have_text("0:01", timeout=15_000)  # a second of the fake microphone's tone
    page.screenshot(path=str(SCREENSHOTS / "reply-voice-recording.png"))
    page.get_by_role("button", name="Parar").click()
    preview = page.locator("audio[data-voice-preview]")
    expect(preview).to_be_visible()
    assert preview.evaluate("el => el.src").startswith("blob:")  # heard back before it is sent
    page.get_by_role("button", name="Enviar áudio").click()
    expect(page.get_by_role("button", name="Enviar áudio")).to_be_hidden()
    expect(page.locator("audio:not([data-voice-preview])").first).to_be_attached()  # in the thread

    note = Message.objects.get(ticket=ticket, direction="out")
    assert note.kind == "audio" and note.media["voice"] is True and note.delivery_status == Message.Delivery.SENT
    data = blobs.blob_read(MediaFile.objects.get(pk=note.media_file_id).storage_name)
    with av.open(io.BytesIO(data)) as stored:  # Chromium records WebM: what is stored and sent is OGG/Opus
        assert stored.format.name == "ogg" and stored.streams.audio[0].codec_context.name == "opus"
        assert sum(1 for p in stored.demux() if p.dts is not None) >= 25  # a second or more of 20 ms packets
    (sent,) = fake.sent_media()
    assert sent["type"] == "audio" and sent["voice"] is True and sent["upload_type"] == "audio/ogg"
    page.context.close()
