"""Notas internas: stored with the thread, shown apart and escaped, in any state; never sent by any path."""

import pytest
from django.core.management import call_command

from providers import SendError, get_provider
from tests import factories as f
from tests.support.webhooks import meta_text, post_meta
from tests.tickets.conftest import url
from tickets import outbox, services
from tickets.models import Message, TicketEvent
from whatsapp import journal
from whatsapp.models import WebhookEvent


@pytest.mark.parametrize("name", ["um", "espera", "fim"])
def test_a_note_in_any_state(client, world, name):
    ticket = world.t[name]
    client.force_login(world.agent1)
    response = client.post(url(ticket, "nota"), {"text": "Cliente pediu retorno amanhã"})
    assert response.status_code == 303 and response["Location"] == url(ticket)
    note = Message.objects.get(ticket=ticket, direction="note")
    assert note.sender_agent == world.agent1 and note.delivery_status == "" and note.text.startswith("Cliente")
    assert TicketEvent.objects.filter(ticket=ticket, action="note").count() == 1


def test_an_empty_note_is_400(client, world):
    client.force_login(world.agent1)
    response = client.post(url(world.t["um"], "nota"), {"text": "   \n "})
    assert response.status_code == 400 and "A nota está vazia" in response.content.decode()
    assert not Message.objects.filter(direction="note").exists()


def test_a_long_note_with_html_is_stored_whole_and_shown_escaped(client, world):
    text = "<script>alert('x')</script><b>negrito</b> " + "a" * 20_000
    client.force_login(world.agent1)
    assert client.post(url(world.t["um"], "nota"), {"text": text}).status_code == 303
    assert Message.objects.get(direction="note").text == text.strip()
    html = client.get(url(world.t["um"])).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;b&gt;negrito&lt;/b&gt;" in html
    assert 'class="msg msg-note"' in html and "Nota interna" in html and "Agente 1" in html


def test_notes_leave_the_queue_preview_alone(world):
    ticket = world.t["um"]
    services.ticket_note_add(ticket=ticket, by=world.agent1, text="segredo interno")
    ticket.refresh_from_db()
    assert "segredo" not in ticket.last_message_preview


def test_outsiders_cannot_note(client, world):
    client.force_login(world.outsider.agent)
    assert client.post(url(world.t["um"], "nota"), {"text": "x"}).status_code == 404
    client.force_login(world.agent3)  # another department: the ticket does not exist for them
    assert client.post(url(world.t["um"], "nota"), {"text": "x"}).status_code == 404
    assert not Message.objects.filter(direction="note").exists()


def test_no_sending_path_ever_sends_a_note(settings, tenant, agent1, fake, client):
    """Every way the outbox sends (fast path, worker pass, retries, a direct deliver, the command,
    a webhook replay) and the adapters themselves: the note never reaches the provider."""
    settings.WHATSAPP_SEND_INLINE = True
    conn = f.make_connection(tenant.reseller, tenant.suporte, key="note-meta", api_base_url=fake.url + "/v21.0")
    ticket = f.make_ticket(conn, agent=agent1, client=f.make_client(tenant.reseller, wa_id="5511970000001"))
    secret = "NOTA-SECRETA-123"
    note = services.ticket_note_add(ticket=ticket, by=agent1, text=secret)
    fake.fail_next("500")  # the reply below goes through a retry too
    reply = services.ticket_reply(ticket=ticket, agent=agent1, text="resposta ao cliente")

    assert outbox.message_claim(note.pk, ignore_backoff=True) is None
    assert outbox.message_deliver(note.pk, ignore_backoff=True) == "skipped"
    outbox.send_soon(note)
    outbox.send_pending(ignore_backoff=True)
    outbox.send_pending(ignore_backoff=False)
    call_command("send_outbox", verbosity=0)
    # A forced retry state on the note itself changes nothing: the outbox selects only outbound rows.
    Message.objects.filter(pk=note.pk).update(delivery_status="queued", next_attempt_at=None)
    assert outbox.send_pending(ignore_backoff=True)["sent"] == 0
    assert outbox.message_deliver(note.pk, ignore_backoff=True) == "skipped"
    # The provider's webhook for the same client, stored and replayed: inbound never touches notes.
    post_meta(client, conn, meta_text(conn, wa_id="5511970000001", text="oi de novo"))
    journal.webhook_events_replay(WebhookEvent.objects.all())
    call_command("replay_webhooks", verbosity=0)
    # And the adapters refuse a note outright, before any HTTP call.
    evo = f.make_connection(tenant.reseller, tenant.suporte, provider="evolution", api_base_url=fake.url)
    for provider in (get_provider(conn), get_provider(evo)):
        with pytest.raises(SendError) as refused:
            provider.send_outbound(to="5511970000001", direction="note", text=secret)
        assert refused.value.code == "not_outbound" and not refused.value.retryable

    reply.refresh_from_db()
    assert reply.delivery_status == "sent"  # the paths above do send real replies
    assert all(secret not in str(call.json) for call in fake.calls)
    assert "resposta ao cliente" in fake.texts()
    note.refresh_from_db()
    assert note.provider_message_id == "" and note.sent_at is None and note.attempts == 0
