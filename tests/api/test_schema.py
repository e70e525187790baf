"""The OpenAPI document validates, the docs page lists it without external assets, and the answers the API
really gives match the shapes the document declares."""

import copy

import jsonschema
import pytest
from drf_spectacular.validation import validate_schema

from tests import factories as f
from tests.api.conftest import Api, api_for, url
from tickets import services
from tickets.models import MessageTemplate

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(db):
    response = Api().get("/api/v1/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_the_schema_validates_and_names_every_ticket_endpoint(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert set(paths) >= {
        "/api/v1/tickets/",
        "/api/v1/tickets/{id}/",
        "/api/v1/tickets/{id}/messages/",
        "/api/v1/tickets/{id}/notes/",
        "/api/v1/tickets/{id}/claim/",
        "/api/v1/tickets/{id}/close/",
        "/api/v1/tickets/{id}/transfer/",
        "/api/v1/contacts/",
        "/api/v1/contacts/{id}/",
        "/api/v1/conversations/",
    }
    assert set(paths["/api/v1/contacts/"]) >= {"get", "post"} and set(paths["/api/v1/contacts/{id}/"]) >= {
        "get",
        "patch",
    }
    assert {"201", "400", "409"} <= set(paths["/api/v1/conversations/"]["post"]["responses"])
    assert set(paths["/api/v1/tickets/{id}/messages/"]) >= {"get", "post"}
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    listing = paths["/api/v1/tickets/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "department", "agent", "updated_after"}
    assert {"200", "400", "401"} <= set(listing["responses"])
    assert {"200", "403", "409"} <= set(paths["/api/v1/tickets/{id}/claim/"]["post"]["responses"])


def test_the_docs_page_lists_the_endpoints_and_links_the_schema(client, db):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/api/v1/schema/"' in page
    assert "POST /api/v1/tickets/{id}/claim/" in page and "GET /api/v1/tickets/" in page
    assert "https://" not in page and "http://" not in page  # nothing fetched from elsewhere


def _json_schema(node):
    """OpenAPI 3.0's `nullable` as JSON Schema: {"anyOf": [schema, {"type": "null"}]}."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _json_schema(v) for k, v in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def _check(schema, component, instance):
    document = _json_schema(copy.deepcopy(schema))
    target = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    jsonschema.validate(instance, target, format_checker=jsonschema.FormatChecker())


def test_the_answers_match_the_declared_shapes(schema, meta_conn, agent1, agent2):
    template = MessageTemplate.objects.create(
        connection=meta_conn, name="oi", language="pt_BR", category="UTILITY", body="Olá!"
    )
    ticket = f.make_ticket(meta_conn, agent=agent1)
    services.ticket_note_add(ticket=ticket, by=agent1, text="nota")
    f.make_ticket(meta_conn)
    api = api_for(agent1)
    _check(schema, "TicketPage", api.get(url(), {"limit": 1}).json())
    _check(schema, "Ticket", api.get(url(ticket)).json())
    _check(schema, "MessagePage", api.get(url(ticket, "messages")).json())
    _check(schema, "MessageOut", api.post(url(ticket, "messages"), {"text": "oi"}).json())
    _check(schema, "Error", api.post(url(ticket, "messages"), {"texto": "oi"}).json())
    _check(schema, "Error", api_for(agent2).post(url(ticket, "claim")).json())
    _check(schema, "Error", Api().get(url()).json())
    contact = api.post("/api/v1/contacts/", {"name": "Ana", "number": "11987654321", "custom_fields": {}})
    _check(schema, "Contact", contact.json())
    _check(schema, "ContactPage", api.get("/api/v1/contacts/", {"limit": 1}).json())
    _check(schema, "Error", api.post("/api/v1/contacts/", {"name": "Outra", "number": "5511987654321"}).json())
    started = api.post("/api/v1/conversations/", {"contact": contact.json()["id"], "template": str(template.pk)})
    assert started.status_code == 201, started.content
    _check(schema, "Ticket", started.json())
    _check(schema, "Error", api.post("/api/v1/conversations/", {"number": "11987654321", "text": "oi"}).json())
    with pytest.raises(jsonschema.ValidationError):  # and the check can fail
        _check(schema, "Ticket", {**api.get(url(ticket)).json(), "status": "aberto"})
