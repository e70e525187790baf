"""The demo simulator posts a real, authenticated body to a running server over HTTP."""

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Client
from tickets.models import Message, Ticket


@pytest.mark.django_db(transaction=True)
def test_simulate_inbound_meta_and_evolution(live_server, meta_conn, evo_conn, capsys):
    call_command(
        "simulate_inbound",
        "--connection",
        "demo-meta",
        "--from",
        "5511999990001",
        "--name",
        "Maria",
        "--text",
        "Olá",
        "--url",
        live_server.url,
    )
    call_command(
        "simulate_inbound",
        "--connection",
        "demo-evolution",
        "--from",
        "5511999990002",
        "--name",
        "João",
        "--text",
        "Bom dia ☀️",
        "--url",
        live_server.url,
    )
    assert "-> 200" in capsys.readouterr().out
    assert sorted(Message.objects.values_list("text", flat=True)) == ["Bom dia ☀️", "Olá"]
    assert Ticket.objects.in_state("espera").count() == 2
    assert Client.objects.get(wa_id="5511999990001").name == "Maria"


@pytest.mark.django_db
def test_simulate_inbound_unknown_connection():
    with pytest.raises(CommandError):
        call_command("simulate_inbound", "--connection", "nope", "--url", "http://127.0.0.1:9")
