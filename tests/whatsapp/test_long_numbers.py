"""Security round three, items 5 and 6: numbers too long to be numbers are bad input, never a failure.

Python's int() refuses strings of more than 4,300 digits (and datetime refuses most of what it accepts):
a `Range` header with thousands of digits was a 500 on the media view, and a 5,000-digit menu answer or an
out-of-range provider timestamp made processing fail after the webhook's 200 (the event stayed
unprocessed, the client's message was never stored). Webhook bodies here are the real sample shapes."""

import itertools

import pytest

from providers.base import from_unix
from tests.whatsapp.conftest import evo_sample, meta_status, meta_text, post_evolution, post_meta
from tests.whatsapp.media_helpers import OGG, evolution_media, media_url, only_message, run_worker
from tickets.models import Message, Ticket, TicketEvent
from tickets.rules.menu import DepartmentMenu, MenuOption, choice
from whatsapp.models import WebhookEvent

pytestmark = pytest.mark.django_db

HUGE = "9" * 5000
_ids = itertools.count(1)


# --- item 5: Range -----------------------------------------------------------------------------------


@pytest.fixture
def stored_audio(client, fake, evo_live, agent1):
    body = evolution_media(kind="audioMessage", mime="audio/ogg; codecs=opus", content=OGG)
    assert post_evolution(client, evo_live, body).status_code == 200
    assert run_worker()["stored"] == 1
    client.force_login(agent1)
    return only_message()


@pytest.mark.parametrize(
    "header, status, first, last",
    [
        (f"bytes={HUGE}-", 416, None, None),  # starts past the end of any file
        (f"bytes={HUGE}-{HUGE}", 416, None, None),
        (f"bytes=0-{HUGE}", 206, 0, len(OGG) - 1),  # ends past the end: up to the last byte
        (f"bytes=-{HUGE}", 206, 0, len(OGG) - 1),  # the last N bytes, N more than there are
        (f"bytes={'0' * 5000}5-{'0' * 5000}9", 206, 5, 9),  # leading zeros are still 5 and 9
        (f"bytes=1-{'0' * 4999}", 416, None, None),  # ends before it starts
    ],
    ids=["start", "both", "end", "suffix", "zeros", "end-zero"],
)
def test_a_range_with_thousands_of_digits_is_an_answer_not_a_500(client, stored_audio, header, status, first, last):
    response = client.get(media_url(stored_audio), HTTP_RANGE=header)
    assert response.status_code == status
    if status == 416:
        assert response["Content-Range"] == f"bytes */{len(OGG)}"
    else:
        assert response["Content-Range"] == f"bytes {first}-{last}/{len(OGG)}"
        assert b"".join(response.streaming_content) == OGG[first : last + 1]


# --- item 6: menu answers ------------------------------------------------------------------------------


@pytest.fixture
def menu_conn(evo_conn, tenant):
    evo_conn.menu_enabled = True
    evo_conn.menu_intro = "Escolha o setor:"
    evo_conn.menu_department_ids = [str(tenant.suporte.pk), str(tenant.financeiro.pk)]
    evo_conn.save()
    return evo_conn


def _say(client, conn, text, *, ts=1746132673):
    body = evo_sample("evolution_messages_upsert_text.json", message_id=f"3EB0LONG{next(_ids):010d}")
    body["data"]["key"]["remoteJid"] = "5511988887777@s.whatsapp.net"
    body["data"]["messageTimestamp"] = ts
    body["data"]["message"]["conversation"] = text
    body["instance"] = conn.instance_name
    response = post_evolution(client, conn, body)
    assert response.status_code == 200, response.content
    return body


@pytest.mark.parametrize(
    "answer", [HUGE, "0" * 4999 + "20", "1" * 7, f" {HUGE}. "], ids=["5000-nines", "zeros-20", "7-digits", "spaced"]
)
def test_a_menu_answer_of_thousands_of_digits_is_an_invalid_choice(client, menu_conn, tenant, answer):
    _say(client, menu_conn, "oi")
    _say(client, menu_conn, answer)
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {"processed"}
    ticket = Ticket.objects.get()
    stored = Message.objects.filter(ticket=ticket, direction="in").order_by("created_at")
    assert [m.text for m in stored] == ["oi", answer]
    # Not a choice: the ticket stays in the default department and the menu is offered again.
    assert ticket.department == tenant.suporte and ticket.menu_done_at is None and ticket.menu_prompts_sent == 2
    assert not TicketEvent.objects.filter(action=TicketEvent.Action.MENU_ROUTED).exists()
    _say(client, menu_conn, "002")  # a real answer still routes
    assert Ticket.objects.get().department == tenant.financeiro


def test_choice_with_many_digits():
    menu = DepartmentMenu(intro="", options=(MenuOption(1, "a", "Suporte"), MenuOption(2, "b", "Financeiro")))
    assert choice(menu, kind="text", text=HUGE) is None
    assert choice(menu, kind="text", text="0" * 5000 + "1").name == "Suporte"
    assert choice(menu, kind="text", text="1" + "0" * 5000) is None


# --- item 6: provider timestamps ------------------------------------------------------------------------

BAD_TIMESTAMPS = ["99999999999999999999", "-5", "0", HUGE, "1e300", "4102444801"]


def _short(value) -> str:
    return str(value) if len(str(value)) < 30 else f"{len(str(value))}-chars"


@pytest.mark.parametrize("ts", BAD_TIMESTAMPS, ids=_short)
def test_a_meta_message_with_an_impossible_timestamp_is_stored(client, meta_conn, ts):
    body = meta_text(meta_conn, text="hora errada")
    body["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = ts
    assert post_meta(client, meta_conn, body).status_code == 200
    event = WebhookEvent.objects.get()
    assert event.state == "processed", event.error
    message = Message.objects.get(direction="in")
    assert message.text == "hora errada" and message.provider_timestamp is None  # ignored, not invented
    assert Ticket.objects.get().last_inbound_at is not None


@pytest.mark.parametrize(
    "ts",
    [99999999999999999999, -1, 10**400, 1e300, {"low": 99999999999999999999, "high": 0}, "99999999999999999999"],
    ids=["20-digits", "negative", "400-digits", "float", "baileys-long", "string"],
)
def test_an_evolution_message_with_an_impossible_timestamp_is_stored(client, evo_conn, ts):
    _say(client, evo_conn, "hora errada", ts=ts)
    event = WebhookEvent.objects.get()
    assert event.state == "processed", event.error
    message = Message.objects.get(direction="in")
    assert message.text == "hora errada" and message.provider_timestamp is None


@pytest.mark.parametrize("ts", BAD_TIMESTAMPS, ids=_short)
def test_a_receipt_with_an_impossible_timestamp_is_processed(client, meta_conn, ts):
    body = meta_status(meta_conn, "wamid.NOSUCHMESSAGE", "delivered")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["timestamp"] = ts
    assert post_meta(client, meta_conn, body).status_code == 200
    assert WebhookEvent.objects.get().state in ("processed", "pending", "ignored")  # never failed


@pytest.mark.parametrize(
    "value",
    ["99999999999999999999", "-5", -5, 0, HUGE, 10**400, float("inf"), float("nan"), 1e300, "x", None, 4102444801],
    ids=_short,
)
def test_from_unix_ignores_what_is_not_a_moment(value):
    assert from_unix(value) is None


def test_from_unix_still_reads_real_moments():
    assert from_unix("1749416383").isoformat() == "2025-06-08T20:59:43+00:00"
    assert from_unix(1749416383000) == from_unix(1749416383) == from_unix({"low": 1749416383})
