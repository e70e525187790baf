"""The reply box in a real browser: the emoji picker (vendored, its data served by the app) puts an emoji at the
cursor; two files chosen at once go out as two messages, in order, each with the caption typed for it; a quick
reply chosen with `/` sends its file with the text as the caption."""

import os

import pytest
from playwright.sync_api import expect

from tests import factories as f
from tests.browser.conftest import SCREENSHOTS
from tests.whatsapp.media_helpers import png_bytes
from tickets.media import store as media_store
from tickets.models import Message, QuickReply

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pick_an_emoji_then_send_two_files_with_their_captions(live_server, login, tenant, agent1, fake, settings):
    settings.WHATSAPP_SEND_INLINE = True
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta", api_base_url=fake.url + "/v21.0")
    ticket = f.make_ticket(
        conn,
        client=f.make_client(tenant.reseller, name="Carla Mendes", wa_id="5511987654321"),
        text="Pode mandar o boleto e o comprovante?",
        agent=agent1,
    )
    page = login(agent1, viewport={"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")

    # The emoji goes in where the cursor is, not at the end.
    box = page.get_by_label("Resposta", exact=True)
    box.fill("Obrigado!")
    box.evaluate("el => el.setSelectionRange(8, 8)")
    page.get_by_role("button", name="Inserir emoji").click()
    picker = page.locator("emoji-picker")
    expect(picker).to_be_visible()
    smile = picker.locator('button[id="emo-😀"]')
    expect(smile).to_be_visible(timeout=15_000)  # the data set is read from /static/ once, then IndexedDB
    page.screenshot(path=str(SCREENSHOTS / "reply-emoji.png"))
    smile.click()
    expect(box).to_have_value("Obrigado😀!")
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()

    # Two files at once: one caption field each; the first takes the text typed above as its caption.
    box.fill("")
    page.locator('.reply-form input[name="file"]').set_input_files(
        [
            {"name": "boleto.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 " + os.urandom(300)},
            {"name": "comprovante.png", "mimeType": "image/png", "buffer": png_bytes(64, 48)},
        ]
    )
    captions = page.locator("[data-attach-preview] input[name=caption]")
    expect(captions).to_have_count(2)
    captions.nth(0).fill("Segue o boleto 😀")
    captions.nth(1).fill("e o comprovante")
    page.screenshot(path=str(SCREENSHOTS / "reply-two-files.png"))
    page.get_by_role("button", name="Responder").click()
    expect(page.locator("[data-attach-preview] input[name=caption]")).to_have_count(0)  # a fresh reply box

    out = list(Message.objects.filter(ticket=ticket, direction="out").order_by("created_at"))
    assert [(m.kind, m.text, m.media["filename"]) for m in out] == [
        ("document", "Segue o boleto 😀", "boleto.pdf"),
        ("image", "e o comprovante", "comprovante.png"),
    ]
    sends = [c.json for c in fake.calls if c.path.endswith("/messages")]
    assert [(s["type"], s[s["type"]]["caption"]) for s in sends] == [
        ("document", "Segue o boleto 😀"),
        ("image", "e o comprovante"),
    ]
    page.context.close()


def test_a_quick_reply_with_a_file_chosen_with_slash_goes_as_that_file(
    live_server, login, tenant, agent1, fake, settings
):
    settings.WHATSAPP_SEND_INLINE = True
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="demo-meta", api_base_url=fake.url + "/v21.0")
    ticket = f.make_ticket(
        conn,
        client=f.make_client(tenant.reseller, name="Rita", wa_id="5531987654321"),
        text="Qual o PIX?",
        agent=agent1,
    )
    qr = media_store.media_file_store(png_bytes(120, 120), reseller_id=tenant.reseller.pk, claimed_mime="image/png")
    QuickReply.objects.create(
        reseller=tenant.reseller,
        shortcut="/pix",
        text="{{nome}}, segue o QR code do PIX.",
        media_file=qr,
        file_name="pix.png",
        file_type="image/png",
    )
    page = login(agent1)
    page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
    box = page.get_by_label("Resposta", exact=True)
    box.fill("/pi")
    expect(page.locator("#quick-list [role=option]").first).to_contain_text("pix.png")
    box.press("Enter")
    expect(box).to_have_value("Rita, segue o QR code do PIX.")
    expect(page.locator("[data-quick-attached]")).to_be_visible()
    page.get_by_role("button", name="Responder").click()
    expect(page.locator("[data-quick-attached]")).to_be_hidden()  # a fresh reply box
    (message,) = Message.objects.filter(ticket=ticket, direction="out")
    assert (message.kind, message.text, message.media_file_id) == ("image", "Rita, segue o QR code do PIX.", qr.pk)
    (send,) = [c.json for c in fake.calls if c.path.endswith("/messages")]
    assert send["type"] == "image" and send["image"]["caption"] == "Rita, segue o QR code do PIX."
    page.context.close()
