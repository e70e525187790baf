"""The n8n recipe (docs/recipes/n8n-bot.md) replayed against IAZE: the test is the flow.

It reads the committed workflow (docs/recipes/n8n-bot.json) and does what its nodes say, over the same HTTP
calls: IAZE POSTs `message.received` to a local receiver (the Webhook node), the signature is checked over the
raw bytes (the Code node), the ticket's status is compared as the IF node compares it, and the HTTP Request
node's URL, headers and body are posted with an integration token. So a change to the API's paths, the
event's shape or the bot's rules breaks this test, not only the recipe.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import resolve

from iaze.lib import clock
from tests.api.conftest import Api, api_for
from tests.support.webhooks import post_meta_text
from tests.webhooks.receiver import Call, Receiver
from tickets.models import Message, Ticket, UIState
from webhooks import services as hooks
from webhooks.delivery import webhooks_pass

pytestmark = pytest.mark.django_db

WORKFLOW = Path(settings.BASE_DIR) / "docs" / "recipes" / "n8n-bot.json"
SECRET = "whsec_segredo-da-receita-123456"
WA_ID = "5511977770007"


def _nodes() -> dict[str, dict]:
    flow = json.loads(WORKFLOW.read_text())
    nodes = {n["type"]: n for n in flow["nodes"]}
    assert len(nodes) == len(flow["nodes"]) == 4
    chain = [n["name"] for n in flow["nodes"]]
    # Webhook → Code → IF (true branch only) → HTTP Request: the flow stops on the false branch.
    assert flow["connections"] == {
        chain[0]: {"main": [[{"node": chain[1], "type": "main", "index": 0}]]},
        chain[1]: {"main": [[{"node": chain[2], "type": "main", "index": 0}]]},
        chain[2]: {"main": [[{"node": chain[3], "type": "main", "index": 0}], []]},
    }
    return nodes


def _value(expression: str, event: dict):
    """An n8n expression of the form `={{ $json.a.b }}` read from the event (the only form the flow uses)."""
    path = re.fullmatch(r"=\{\{ \$json\.([\w.]+) \}\}", expression)
    assert path, expression
    value = event
    for key in path.group(1).split("."):
        value = value[key]
    return value


class Flow:
    """The workflow's four nodes, executed as n8n would on one delivery."""

    def __init__(self, nodes: dict[str, dict], token: str):
        self.webhook = nodes["n8n-nodes-base.webhook"]["parameters"]
        self.code = nodes["n8n-nodes-base.code"]["parameters"]
        self.condition = nodes["n8n-nodes-base.if"]["parameters"]["conditions"]
        self.http = nodes["n8n-nodes-base.httpRequest"]["parameters"]
        self.api = Api(token)

    def verified(self, call) -> dict:
        """The Code node: HMAC-SHA256 of the raw body, keyed with the webhook's secret, or nothing."""
        expected = "sha256=" + hmac.new(SECRET.encode(), call.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(call.headers["X-IAZE-Signature"], expected)
        return json.loads(call.body)

    def passes(self, event: dict) -> bool:
        """The IF node: every condition (combinator "and") on the event."""
        assert self.condition["combinator"] == "and"
        return all(_value(c["leftValue"], event) == c["rightValue"] for c in self.condition["conditions"])

    def reply(self, event: dict):
        """The HTTP Request node: its URL's path with the ticket's id, its headers, its literal JSON body."""
        url = re.sub(
            r"\{\{ (\$json\.[\w.]+) \}\}", lambda m: str(_value("={{ " + m.group(1) + " }}", event)), self.http["url"]
        )
        path = "/" + url.lstrip("=").split("://", 1)[1].split("/", 1)[1]
        headers = {h["name"]: _value(h["value"], event) for h in self.http["headerParameters"]["parameters"]}
        return self.api.post(path, json.loads(self.http["jsonBody"]), headers=headers)

    def run(self, call):
        """One execution: None when the flow stops at the IF, else the HTTP Request node's answer."""
        event = self.verified(call)
        return self.reply(event) if self.passes(event) else None


def test_the_committed_workflow_uses_the_documented_api(tenant):
    nodes = _nodes()
    hook = nodes["n8n-nodes-base.webhook"]
    assert hook["typeVersion"] >= 2 and hook["parameters"]["httpMethod"] == "POST"
    assert hook["parameters"]["options"]["rawBody"] is True  # the signature is over the raw bytes
    code = nodes["n8n-nodes-base.code"]["parameters"]["jsCode"]
    for needed in ("x-iaze-signature", "createHmac('sha256'", "'sha256=' +", "timingSafeEqual", "getBinaryDataBuffer"):
        assert needed in code, needed
    conditions = nodes["n8n-nodes-base.if"]["parameters"]["conditions"]["conditions"]
    assert [(c["leftValue"], c["rightValue"]) for c in conditions] == [
        ("={{ $json.type }}", "message.received"),
        ("={{ $json.data.ticket.status }}", "espera"),
    ]
    http = nodes["n8n-nodes-base.httpRequest"]
    params = http["parameters"]
    assert params["method"] == "POST" and params["specifyBody"] == "json"
    assert params["genericAuthType"] == "httpHeaderAuth" and "httpHeaderAuth" in http["credentials"]
    assert params["options"]["response"]["response"]["neverError"] is True  # a 409 ends the run, not an error
    # The URL is the API's messages endpoint, as routed today.
    path = "/" + params["url"].split("://", 1)[1].split("/", 1)[1]
    match = resolve(path.replace("{{ $json.data.ticket.id }}", "00000000-0000-0000-0000-000000000000"))
    assert match.view_name == "api:ticket_messages"
    assert set(json.loads(params["jsonBody"])) == {"text"}
    # The docs link the recipe, and the recipe the JSON.
    docs = Path(settings.BASE_DIR) / "docs"
    assert "recipes/n8n-bot.md" in (docs / "api.md").read_text()
    assert "n8n-bot.json" in (docs / "recipes" / "n8n-bot.md").read_text()


def test_the_flow_answers_in_espera_and_stops_once_an_agent_claims(client, tenant, meta_conn, agent1, bot):
    _api, bot_user = bot
    now = int(clock.now().timestamp())  # the client writes now: the 24-hour window is open
    with Receiver() as rx:
        hooks.webhook_create(
            reseller=tenant.reseller, url=rx.url("/webhook/iaze-bot"), events=["message.received"], secret=SECRET
        )
        flow = Flow(_nodes(), bot[0].secret)

        # A client writes (a real Meta payload through the webhook view); the worker delivers the event.
        post_meta_text(client, meta_conn, wa_id=WA_ID, text="Quero a segunda via do boleto", ts=now)
        assert webhooks_pass(limit=None)["delivered"] == 1
        first = flow.verified(rx.calls[-1])
        assert first["type"] == "message.received" and first["data"]["ticket"]["status"] == "espera"
        ticket = Ticket.objects.get(pk=first["data"]["ticket"]["id"])

        answered = flow.run(rx.calls[-1])
        assert answered.status_code == 201, answered.content
        assert answered.json()["agent"]["id"] == str(bot_user.pk) and answered.json()["status"] == "queued"
        assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ESPERA  # still for an agent to claim
        # n8n retrying the same execution (same Idempotency-Key: the client's message id) stores one reply.
        assert flow.run(rx.calls[-1]).status_code == 201
        assert Message.objects.filter(ticket=ticket, sender_agent=bot_user).count() == 1
        # Only the event's own bytes pass the Code node.
        delivered = rx.calls[-1]
        forged = Call(delivered.path, delivered.headers, delivered.body.replace(b"espera", b"xspera"))
        with pytest.raises(AssertionError):
            flow.verified(forged)

        # The client writes again; the event says espera, but an agent claims before the flow answers.
        post_meta_text(client, meta_conn, wa_id=WA_ID, text="Alguém aí?", ts=now + 1)
        assert webhooks_pass(limit=None)["delivered"] == 1
        second = flow.verified(rx.calls[-1])
        assert second["data"]["ticket"]["id"] == str(ticket.pk) and flow.passes(second)
        assert api_for(agent1).post(f"/api/v1/tickets/{ticket.pk}/claim/").status_code == 200
        refused = flow.run(rx.calls[-1])
        assert refused.status_code == 409 and refused.json()["holder"]["id"] == str(agent1.pk)
        assert Message.objects.filter(ticket=ticket, sender_agent=bot_user).count() == 1  # nothing stored

        # From then on the events say atendendo: the IF stops the flow before any call.
        post_meta_text(client, meta_conn, wa_id=WA_ID, text="Obrigado", ts=now + 2)
        assert webhooks_pass(limit=None)["delivered"] == 1
        third = flow.verified(rx.calls[-1])
        assert third["data"]["ticket"]["status"] == "atendendo" and flow.run(rx.calls[-1]) is None
    assert Message.objects.filter(ticket=ticket, sender_agent=bot_user).count() == 1
    assert Ticket.objects.get(pk=ticket.pk).agent_id == agent1.pk
