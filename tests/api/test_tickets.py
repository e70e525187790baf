"""The ticket endpoints: the same selectors and services as the pages, the contract's shapes, bad input."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as f
from tests.api.conftest import Api, api_for, url
from tickets import services
from tickets.models import Message, Ticket, TicketEvent, UIState

pytestmark = pytest.mark.django_db

TICKET_KEYS = {"id", "status", "client", "department", "agent", "connection", "created_at", "updated_at"}
MESSAGE_KEYS = {"id", "direction", "kind", "text", "status", "created_at", "media_url"}


@pytest.fixture
def three(meta_conn, fin_conn, agent1):
    """One ticket per state in Suporte, and one in espera in Financeiro."""
    return {
        "espera": f.make_ticket(meta_conn, text="Quero saber do pedido"),
        "atendendo": f.make_ticket(meta_conn, agent=agent1),
        "finalizado": f.make_ticket(meta_conn, agent=agent1, closed_by=agent1),
        "financeiro": f.make_ticket(fin_conn, text="Segunda via"),
    }


def _ids(response):
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["results"]]


def test_a_ticket_has_the_contract_shape(three, agent1, reseller_user):
    body = api_for(reseller_user).get(url(three["atendendo"])).json()
    assert TICKET_KEYS <= set(body)
    assert body["status"] == "atendendo" and body["connection"] == "demo-meta"
    assert body["agent"] == {"id": str(agent1.pk), "name": "Agente 1"}
    assert set(body["client"]) == {"id", "name", "number"} and body["client"]["number"].startswith("55")
    assert body["department"]["name"] == "Suporte"
    assert body["created_at"].endswith("Z") and body["updated_at"].endswith("Z")
    espera = api_for(reseller_user).get(url(three["espera"])).json()
    assert espera["status"] == "espera" and espera["agent"] is None


def test_the_list_follows_visibility_and_filters(three, agent1, reseller_user, tenant):
    everything = set(_ids(api_for(reseller_user).get(url())))
    assert everything == {str(t.pk) for t in three.values()}
    # agent1 works Suporte: Financeiro's ticket is not theirs to see.
    assert set(_ids(api_for(agent1).get(url()))) == {str(three[k].pk) for k in ("espera", "atendendo", "finalizado")}
    boss = api_for(reseller_user)
    for state in ("espera", "atendendo", "finalizado"):
        found = boss.get(url(), {"status": state}).json()["results"]
        assert {t["status"] for t in found} == {state}
    assert _ids(boss.get(url(), {"department": str(tenant.financeiro.pk)})) == [str(three["financeiro"].pk)]
    held = set(_ids(boss.get(url(), {"agent": str(agent1.pk)})))
    assert held == {str(three["atendendo"].pk), str(three["finalizado"].pk)}


def test_paging_walks_every_ticket_once_newest_activity_first(meta_conn, reseller_user, agent1):
    made = [f.make_ticket(meta_conn, text=f"mensagem {i}") for i in range(4)]
    made += [f.make_ticket(meta_conn, text=f"atendendo {i}", agent=agent1) for i in range(2)]
    made += [f.make_ticket(meta_conn, text="fim", agent=agent1, closed_by=agent1)]
    made = [Ticket.objects.get(pk=t.pk) for t in made]  # as stored (a claim or close is activity too)
    api = api_for(reseller_user)
    seen, response = [], api.get(url(), {"limit": 3})
    while True:
        body = response.json()
        seen += [t["id"] for t in body["results"]]
        if body["next"] is None:
            break
        assert body["next"].startswith("http://testserver/api/v1/tickets/?")
        response = api.get(body["next"])
    assert seen == [str(t.pk) for t in sorted(made, key=lambda t: (t.last_message_at, t.pk), reverse=True)]


def test_updated_after_lists_changes_oldest_first_and_resumes(meta_conn, agent1, reseller_user):
    old = f.make_ticket(meta_conn)
    api = api_for(reseller_user)
    mark = api.get(url(old)).json()["updated_at"]
    later = [f.make_ticket(meta_conn) for _ in range(3)]
    services.ticket_claim(ticket=old, agent=agent1)  # changes again: now the newest change
    seen, response = [], api.get(url(), {"updated_after": mark, "limit": 2})
    while True:
        body = response.json()
        seen += [t["id"] for t in body["results"]]
        stamps = [t["updated_at"] for t in body["results"]]
        assert stamps == sorted(stamps)
        if body["next"] is None:
            break
        response = api.get(body["next"])
    assert seen == [*(str(t.pk) for t in later), str(old.pk)]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "aberto"}, "status"),
        ({"department": "nao-e-uuid"}, "department"),
        ({"updated_after": "ontem"}, "updated_after"),
        ({"limit": "1000"}, "limit"),
        ({"stauts": "espera"}, "stauts"),
        ({"cursor": "lixo"}, "cursor"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_field(three, reseller_user, params, field):
    response = api_for(reseller_user).get(url(), params)
    assert response.status_code == 400
    body = response.json()
    assert set(body["fields"]) == {field} and body["detail"].startswith(field)


def test_a_cursor_of_the_other_order_is_refused(meta_conn, reseller_user):
    for _ in range(3):
        f.make_ticket(meta_conn)
    api = api_for(reseller_user)
    nxt = api.get(url(), {"limit": 1}).json()["next"]
    cursor = nxt.split("cursor=")[1]
    response = api.get(url(), {"cursor": cursor, "updated_after": "2000-01-01T00:00:00Z"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"


def test_messages_oldest_first_with_notes_and_paging(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1, text="primeira")
    services.ticket_note_add(ticket=ticket, by=agent1, text="nota interna")
    services.ticket_reply(ticket=ticket, agent=agent1, text="resposta")
    api = api_for(agent1)
    body = api.get(url(ticket, "messages")).json()
    assert [m["text"] for m in body["results"]] == ["primeira", "nota interna", "resposta"]
    first, note, reply = body["results"]
    assert MESSAGE_KEYS <= set(first)
    assert (first["direction"], first["kind"], first["status"]) == ("in", "text", "received")
    assert (note["kind"], note["status"]) == ("note", "internal")
    assert (reply["direction"], reply["status"]) == ("out", "queued") and reply["media_url"] is None
    page = api.get(url(ticket, "messages"), {"limit": 2}).json()
    assert [m["text"] for m in page["results"]] == ["primeira", "nota interna"]
    rest = api.get(page["next"]).json()
    assert [m["text"] for m in rest["results"]] == ["resposta"] and rest["next"] is None
    other = f.make_ticket(meta_conn)
    foreign = Message.objects.filter(ticket=other).first()
    assert api.get(url(ticket, "messages"), {"after": str(foreign.pk)}).status_code == 400


def test_a_reply_goes_to_the_outbox_as_on_the_page(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    response = api_for(agent1).post(url(ticket, "messages"), {"text": "Olá! Já verifico."})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["direction"], body["status"], body["text"]) == ("out", "queued", "Olá! Já verifico.")
    message = Message.objects.get(pk=body["id"])
    assert message.delivery_status == Message.Delivery.QUEUED and message.sender_agent == agent1
    assert TicketEvent.objects.filter(ticket=ticket, action=TicketEvent.Action.REPLIED).count() == 1


def test_a_reply_in_espera_or_on_someone_elses_ticket_is_409(meta_conn, agent1, agent2):
    espera = f.make_ticket(meta_conn)
    held = f.make_ticket(meta_conn, agent=agent1)
    response = api_for(agent1).post(url(espera, "messages"), {"text": "oi"})
    assert response.status_code == 409 and response.json()["status"] == "espera"
    response = api_for(agent2).post(url(held, "messages"), {"text": "oi"})
    assert response.status_code == 409
    body = response.json()
    assert body["holder"]["email"] == "agente1@demo.local" and "Agente 1" in body["detail"]
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


@pytest.mark.parametrize(
    "raw, code",
    [
        ("{not json", "parse_error"),
        ('{"text": "oi", "texto": "x"}', "unknown_field"),
        ('{"text": "oi", "signature": true}', "unknown_field"),
        ('["oi"]', "invalid"),
        ('{"text": 12}', "invalid"),
        ("{}", "required"),
        ('{"text": "   "}', "invalid"),
        ('{"text": "oi", "reply_to": "nao-e-uuid"}', "invalid"),
    ],
)
def test_bad_bodies_are_400_with_the_reason_and_store_nothing(meta_conn, agent1, raw, code):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    response = api_for(agent1).post(url(ticket, "messages"), raw=raw)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and body["detail"]
    assert not Message.objects.filter(direction=Message.Direction.OUT).exists()


def test_a_text_over_the_whatsapp_limit_is_400_naming_it(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    api = api_for(agent1)
    response = api.post(url(ticket, "messages"), {"text": "a" * 4097})
    assert response.status_code == 400
    assert "4097" in response.json()["detail"] and "4096" in response.json()["detail"]
    huge = api.post(url(ticket, "messages"), {"text": "a" * 70_000})
    assert huge.status_code == 400 and huge.json()["code"] == "max_length"
    assert api.post(url(ticket, "messages"), {"text": "a" * 4096}).status_code == 201


def test_a_non_json_body_is_refused(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    response = api_for(agent1).client.post(
        url(ticket, "messages"),
        {"text": "oi"},
        headers={"Authorization": api_for(agent1)._headers({})["Authorization"]},
    )
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


def test_reply_to_must_be_a_message_of_the_ticket(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    other = f.make_ticket(meta_conn)
    api = api_for(agent1)
    foreign = Message.objects.filter(ticket=other).first()
    response = api.post(url(ticket, "messages"), {"text": "oi", "reply_to": str(foreign.pk)})
    assert response.status_code == 400 and set(response.json()["fields"]) == {"reply_to"}
    own = Message.objects.filter(ticket=ticket).first()
    assert api.post(url(ticket, "messages"), {"text": "oi", "reply_to": str(own.pk)}).status_code == 201


def test_an_idempotency_key_stores_one_message(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    api = api_for(agent1)
    first = api.post(url(ticket, "messages"), {"text": "boleto"}, headers={"Idempotency-Key": "pedido-42"})
    again = api.post(url(ticket, "messages"), {"text": "boleto"}, headers={"Idempotency-Key": "pedido-42"})
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.filter(ticket=ticket, direction=Message.Direction.OUT).count() == 1
    long_key = api.post(url(ticket, "messages"), {"text": "x"}, headers={"Idempotency-Key": "k" * 61})
    assert long_key.status_code == 400


def test_notes(meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn, agent=agent1, closed_by=agent1)  # any state, finalizado too
    response = api_for(agent2).post(url(ticket, "notes"), {"text": "cliente pediu retorno"})
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["direction"]) == ("note", "out")
    assert api_for(agent2).post(url(ticket, "notes"), {"text": ""}).status_code == 400
    assert api_for(agent2).post(url(ticket, "notes"), {"text": "x" * 50_001}).status_code == 400


def test_claim_close_and_the_409_naming_the_holder(meta_conn, agent1, agent2):
    ticket = f.make_ticket(meta_conn)
    won = api_for(agent1).post(url(ticket, "claim"))
    assert won.status_code == 200 and won.json()["status"] == "atendendo"
    assert won.json()["agent"]["id"] == str(agent1.pk)
    lost = api_for(agent2).post(url(ticket, "claim"))
    assert lost.status_code == 409
    body = lost.json()
    assert body["code"] == "conflict" and body["holder"]["id"] == str(agent1.pk)
    assert "Agente 1" in body["detail"] and "agente1@demo.local" in body["detail"]
    refused = api_for(agent2).post(url(ticket, "close"))
    assert refused.status_code == 403 and "Agente 1" in refused.json()["detail"]
    closed = api_for(agent1).post(url(ticket, "close"))
    assert closed.status_code == 200 and closed.json()["status"] == "finalizado"
    assert api_for(agent1).post(url(ticket, "close")).status_code == 409
    assert api_for(agent1).post(url(ticket, "claim"), {"force": True}).status_code == 400


def test_transfer(meta_conn, agent1, agent2, tenant):
    espera = f.make_ticket(meta_conn)
    api = api_for(agent1)
    moved = api.post(url(espera, "transfer"), {"department": str(tenant.financeiro.pk)})
    assert moved.status_code == 200 and moved.json()["department"]["name"] == "Financeiro"
    assert moved.json()["status"] == "espera"
    held = f.make_ticket(meta_conn, agent=agent1)
    to_agent = api.post(url(held, "transfer"), {"agent": str(agent2.pk)})
    assert to_agent.status_code == 200 and to_agent.json()["agent"]["id"] == str(agent2.pk)
    bad = api_for(agent2).post(url(held, "transfer"), {"department": str(tenant.financeiro.pk)})
    assert bad.status_code == 400 and "Espera" in bad.json()["detail"]
    unknown = api_for(agent2).post(url(held, "transfer"), {"agent": "6f0c7d1e-0000-4000-8000-000000000000"})
    assert unknown.status_code == 400
    assert Ticket.objects.get(pk=held.pk).agent == agent2


def test_wrong_methods_and_paths_answer_json(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn)
    api = api_for(agent1)
    get_claim = api.get(url(ticket, "claim"))
    assert get_claim.status_code == 405 and get_claim.json()["code"] == "method_not_allowed"
    assert Ticket.objects.get(pk=ticket.pk).ui_state == UIState.ESPERA
    nowhere = api.get("/api/v1/nada/")
    assert nowhere.status_code == 404 and nowhere.json()["code"] == "not_found"
    slashless = api.get(f"/api/v1/tickets/{ticket.pk}")
    assert slashless.status_code == 404 and "/" in slashless.json()["detail"]
    assert Api().get("/api/v1/nada/").status_code == 404
    posted = Api().post("/api/v1/nada/", {"x": 1})  # no CSRF cookie needed to be told so
    assert posted.status_code == 404 and posted.json()["code"] == "not_found"


def test_answers_are_json_utf8(meta_conn, agent1):
    ticket = f.make_ticket(meta_conn, text="Olá, atenção")
    response = api_for(agent1).get(url(ticket, "messages"))
    assert response["Content-Type"] == "application/json"
    assert "Olá, atenção" in response.content.decode()
    assert json.loads(response.content)["results"][0]["text"] == "Olá, atenção"


def test_the_list_costs_the_same_queries_for_3_or_30_tickets(meta_conn, fin_conn, agent1, agent2, reseller_user):
    """No N+1: a page of 4 tickets and a page of 25 (of 30) of every state, department and agent are read in
    the same number of queries, for an agent and a supervisor, plain, filtered and as the change feed. Every
    list has rows in both (MongoDB reads a page's related rows in one query per relation, none for no rows)."""
    made = iter(range(1000))

    def add(n):
        for _ in range(n):
            i = next(made)
            conn, agent = [(meta_conn, None), (meta_conn, agent1), (fin_conn, None), (meta_conn, agent2)][i % 4]
            closed = agent1 if i % 8 == 1 else None
            f.make_ticket(conn, agent=agent, closed_by=closed, text=f"pergunta {i}")

    queries = [{}, {"status": "espera"}, {"status": "atendendo"}, {"updated_after": "2000-01-01T00:00:00Z"}]
    apis = {who: api_for(who) for who in (agent1, reseller_user)}

    def counts():
        out = {}
        for who, api in apis.items():
            for params in queries:
                api.get(url(), params)  # warm: what a token's first request writes is not the list's cost
                with CaptureQueriesContext(connection) as ctx:
                    response = api.get(url(), params)
                assert response.status_code == 200, response.content
                out[(who.email, str(params))] = (len(ctx.captured_queries), len(response.json()["results"]))
        return out

    add(4)
    few = counts()
    add(26)
    many = counts()
    assert all(n for _q, n in few.values()), few
    assert {k: q for k, (q, _n) in many.items()} == {k: q for k, (q, _n) in few.items()}
    assert many[(reseller_user.email, "{}")][1] == 25 and few[(reseller_user.email, "{}")][1] == 4
