"""The reply box (docs/workspace.md): several files in one send, quick replies that carry a file, the emoji
picker served by the app itself."""

import json
import os
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from tests import factories as f
from tests.tickets.conftest import url
from tests.whatsapp.media_helpers import jpeg_bytes
from tickets import outbox
from tickets.models import MediaFile, Message, QuickReply, Ticket

pytestmark = pytest.mark.django_db

EMOJI_DATA = "/static/vendor/emoji-picker-element-data/pt/cldr/data.json"


@pytest.fixture
def live(tenant, fake):
    """A Meta connection whose sends go to the fake provider."""
    return f.make_connection(tenant.reseller, tenant.suporte, key="box-meta", api_base_url=fake.url + "/v21.0")


def _pdf(name="boleto.pdf", extra=b""):
    return SimpleUploadedFile(name, b"%PDF-1.4 " + extra + os.urandom(400), content_type="application/pdf")


def _counts():
    return Message.objects.filter(direction="out").count(), MediaFile.objects.count()


def test_two_files_go_as_two_messages_in_order_each_with_its_caption_exactly_once(client, live, agent1, fake):
    ticket = f.make_ticket(live, agent=agent1)
    client.force_login(agent1)
    pdf, photo = b"%PDF-1.4 " + os.urandom(500), jpeg_bytes()

    def post(nonce, captions, text=""):
        files = [
            SimpleUploadedFile("boleto.pdf", pdf, content_type="application/pdf"),
            SimpleUploadedFile("foto.jpg", photo, content_type="image/jpeg"),
        ]
        return client.post(url(ticket, "responder"), {"text": text, "nonce": nonce, "file": files, "caption": captions})

    assert post("m1", ["Segue o boleto", ""]).status_code == 303
    assert post("m1", ["Segue o boleto", ""]).status_code == 303  # a resubmission stores nothing more
    out = list(Message.objects.filter(ticket=ticket, direction="out").order_by("created_at"))
    assert [(m.kind, m.text, m.media["filename"]) for m in out] == [
        ("document", "Segue o boleto", "boleto.pdf"),
        ("image", "", "foto.jpg"),
    ]
    assert out[0].created_at < out[1].created_at and MediaFile.objects.count() == 2
    assert Ticket.objects.get(pk=ticket.pk).first_response_at == out[0].created_at

    assert out[1].media["after"] == str(out[0].pk) and "after" not in out[0].media
    # The first file's upload fails: the second waits for it (untried, its attempt not counted) rather than
    # reaching the client first; the next pass sends both, in order.
    fake.fail_next("500")
    assert outbox.send_pending() == {"sent": 0, "retry": 1, "failed": 0, "skipped": 1}
    assert [c for c in fake.calls if c.path.endswith("/messages")] == []
    assert Message.objects.get(pk=out[1].pk).attempts == 0
    assert outbox.send_pending()["sent"] == 2
    sends = [c.json for c in fake.calls if c.path.endswith("/messages")]
    assert [s["type"] for s in sends] == ["document", "image"]  # in the order they were chosen
    assert sends[0]["document"]["caption"] == "Segue o boleto" and sends[0]["document"]["filename"] == "boleto.pdf"
    assert "caption" not in sends[1]["image"]
    assert outbox.send_pending()["sent"] == 0  # exactly once

    # One file the provider refuses refuses the whole send, naming it: nothing stored, nothing sent.
    before, calls = _counts(), len(fake.calls)
    program = SimpleUploadedFile("nota.exe", b"MZ\x90\x00" + os.urandom(300), content_type="application/pdf")
    response = client.post(
        url(ticket, "responder"), {"nonce": "m2", "file": [_pdf(extra=b"x"), program], "caption": ["a", "b"]}
    )
    assert response.status_code == 400 and "nota.exe" in response.content.decode()
    # The reply's text and a first caption both typed: refused rather than one of them dropped.
    response = post("m3", ["legenda", ""], text="e um texto")
    assert response.status_code == 400 and "legenda de um deles" in response.content.decode()
    assert _counts() == before and len(fake.calls) == calls


def test_several_files_outside_the_window_are_409_and_nothing_is_stored(client, live, agent1, fake):
    ticket = f.make_ticket(live, agent=agent1)
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=timezone.now() - timedelta(hours=24, minutes=1))
    client.force_login(agent1)
    before = _counts()
    response = client.post(
        url(ticket, "responder"),
        {"nonce": "w1", "file": [_pdf(), _pdf("catalogo.pdf")], "caption": ["um", "dois"]},
    )
    assert response.status_code == 409 and "janela de 24 horas" in response.content.decode()
    assert _counts() == before and fake.calls == []


def test_a_quick_reply_with_a_file_is_uploaded_in_the_admin_and_sent_as_a_document_with_its_caption(
    client, live, tenant, agent1, reseller_user, outsider, fake
):
    client.force_login(reseller_user)
    form = {"shortcut": "/catalogo", "text": "Olá {{nome}}, segue o catálogo.", "active": "on"}
    refused = client.post("/admin/tickets/quickreply/add/", {**form, "attachment": _exe()})
    assert refused.status_code == 200 and "programa" in refused.content.decode()
    assert not QuickReply.objects.filter(shortcut="/catalogo").exists()
    created = client.post("/admin/tickets/quickreply/add/", {**form, "attachment": _pdf("catálogo 2026.pdf")})
    assert created.status_code == 302
    quick = QuickReply.objects.get(shortcut="/catalogo")
    assert quick.media_file.reseller_id == tenant.reseller.pk
    assert (quick.file_name, quick.file_type) == ("catálogo 2026.pdf", "application/pdf")

    client.force_login(agent1)
    client_ = f.make_client(tenant.reseller, name="Carla", wa_id="5531987654321")
    ticket = f.make_ticket(live, client=client_, agent=agent1)
    page = client.get(url(ticket)).content.decode()
    assert f'data-quick-id="{quick.pk}"' in page and 'data-file-name="catálogo 2026.pdf"' in page
    # The no-JS select: the chosen quick reply's file goes with the text.
    page = client.get(url(ticket) + f"?resposta={quick.pk}").content.decode()
    assert f'name="quick_reply" value="{quick.pk}"' in page and ">Olá Carla, segue o catálogo.</textarea>" in page

    # Another tenant's quick reply is refused before anything is stored.
    theirs = QuickReply.objects.create(reseller=outsider.reseller, shortcut="/x", text="x")
    response = client.post(url(ticket, "responder"), {"text": "x", "nonce": "q0", "quick_reply": str(theirs.pk)})
    assert response.status_code == 400 and Message.objects.filter(direction="out").count() == 0

    # With other files chosen as well: refused, rather than one of them left out.
    both = {"text": "x", "nonce": "q0", "quick_reply": str(quick.pk), "file": [_pdf()]}
    response = client.post(url(ticket, "responder"), both)
    assert response.status_code == 400 and "envie-a sozinha" in response.content.decode()
    assert Message.objects.filter(direction="out").count() == 0

    response = client.post(
        url(ticket, "responder"), {"text": "Olá Carla, segue o catálogo!", "nonce": "q1", "quick_reply": str(quick.pk)}
    )
    assert response.status_code == 303
    (message,) = Message.objects.filter(ticket=ticket, direction="out")
    assert message.kind == "document" and message.media_file_id == quick.media_file_id
    assert message.text == "Olá Carla, segue o catálogo!"
    assert outbox.send_pending()["sent"] == 1
    send = fake.calls[-1].json
    assert send["type"] == "document" and send["to"] == "5531987654321"
    assert send["document"]["caption"] == "Olá Carla, segue o catálogo!"
    assert send["document"]["filename"] == "catálogo 2026.pdf"


def _exe():
    return SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + os.urandom(200), content_type="application/octet-stream")


@override_settings(WHITENOISE_USE_FINDERS=True, WHITENOISE_AUTOREFRESH=True)
def test_the_emoji_picker_is_served_by_the_app_and_the_reply_box_loads_it(live, agent1):
    browser = Client()  # a new handler: WhiteNoise reads the settings above when it starts
    picker = browser.get("/static/vendor/emoji-picker-element/picker.js")
    assert picker.status_code == 200 and picker["Content-Type"].startswith("text/javascript")
    assert b"customElements.define" in b"".join(picker.streaming_content)
    data = browser.get(EMOJI_DATA)
    assert data.status_code == 200 and data["Content-Type"].startswith("application/json")
    emoji = json.loads(b"".join(data.streaming_content))
    assert any(e["emoji"] == "😀" and "rosto risonho" in e["annotation"] for e in emoji)
    for path in ("/static/js/emoji.js", "/static/vendor/emoji-picker-element/i18n/pt_BR.js"):
        response = browser.get(path)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")

    ticket = f.make_ticket(live, agent=agent1)
    browser.force_login(agent1)
    response = browser.get(url(ticket))
    page = response.content.decode()
    assert '<script type="module" src="/static/js/emoji.js"></script>' in page
    assert f'data-emoji-source="{EMOJI_DATA}"' in page and "data-emoji-toggle" in page
    # No CDN, no inline script: the policy stays scripts from the app only.
    assert "script-src 'self'" in response["Content-Security-Policy"] and "cdn" not in page.lower()
