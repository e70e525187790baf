"""/api/v1/contacts/: the contact pages' selectors and writer through the API (contract §7 "Contacts")."""

import json

import pytest

from accounts.models import Client, ClientChange, ContactField
from tests import factories as f
from tests.api.conftest import api_for
from tests.support.webhooks import meta_text, post_meta

pytestmark = pytest.mark.django_db

CONTACTS = "/api/v1/contacts/"
SUMMARY_KEYS = {"id", "name", "number", "email", "document", "updated_at"}
DETAIL_KEYS = SUMMARY_KEYS | {"profile_name", "notes", "custom_fields", "tags", "created_at"}


def _one(contact) -> str:
    return f"{CONTACTS}{contact.pk}/"


def test_the_list_is_the_tenants_contacts_newest_first_searched_and_paged(agent3, tenant, outsider):
    made = [f.make_client(tenant.reseller, name=f"Cliente {word}") for word in ("Ana", "Bruno", "Carla", "Davi")]
    ours = f.make_client(tenant.reseller, wa_id="5511977776666", name="Zeca Pagodinho")
    theirs = f.make_client(outsider.reseller, name="Zeca De Fora")
    api = api_for(agent3)  # Financeiro: contacts are the tenant's, whichever department served them
    seen, response = [], api.get(CONTACTS, {"limit": 2})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        assert all(set(row) == SUMMARY_KEYS for row in body["results"])
        seen += [row["id"] for row in body["results"]]
        if body["next"] is None:
            break
        assert body["next"].startswith("http://testserver/api/v1/contacts/?")
        response = api.get(body["next"])
    assert seen == [str(c.pk) for c in reversed([*made, ours])]
    # The /contatos/ search: a word of the name, 4+ digits of the number; never another tenant's.
    assert [r["id"] for r in api.get(CONTACTS, {"q": "zeca"}).json()["results"]] == [str(ours.pk)]
    assert [r["id"] for r in api.get(CONTACTS, {"q": "7776666"}).json()["results"]] == [str(ours.pk)]
    found = api.get(CONTACTS, {"q": "(11) 97777-6666"}).json()["results"]
    assert [r["id"] for r in found] == [str(ours.pk)] and found[0]["number"] == "5511977776666"
    assert api.get(_one(theirs)).status_code == 404
    assert api.patch(_one(theirs), {"name": "Meu"}).status_code == 404
    assert Client.objects.get(pk=theirs.pk).name == "Zeca De Fora"
    assert api_for(outsider.agent).get(_one(ours)).json()["code"] == "not_found"
    bad = api.get(CONTACTS, {"cursor": "lixo"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
    assert api.get(CONTACTS, {"busca": "zeca"}).json()["code"] == "unknown_field"


def test_adding_normalizes_and_the_same_number_in_any_form_is_409_naming_the_contact(agent1, tenant):
    ContactField.objects.create(reseller=tenant.reseller, key="plano", label="Plano")
    api = api_for(agent1)
    response = api.post(
        CONTACTS,
        {
            "name": "  Maria   Silva ",
            "number": "+55 (11) 98765-4321",
            "email": "Maria@Exemplo.com.br",
            "document": "529.982.247-25",
            "notes": "cliente antiga",
            "custom_fields": {"plano": "Ouro"},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == DETAIL_KEYS
    assert (body["name"], body["number"], body["email"], body["document"]) == (
        "Maria Silva",
        "5511987654321",
        "maria@exemplo.com.br",
        "52998224725",
    )
    assert body["custom_fields"] == {"plano": "Ouro"} and body["created_at"].endswith("Z")
    contact = Client.objects.get()
    assert contact.name_set_by_agent and ClientChange.objects.get(client=contact, field="created").by == agent1
    assert api.get(_one(contact)).json() == body
    for typed in ("5511987654321", "11987654321", "(11) 8765-4321", "551187654321", "+55 11 8765 4321"):
        conflict = api.post(CONTACTS, {"name": "Outra Pessoa", "number": typed})
        assert conflict.status_code == 409, typed
        answer = conflict.json()
        assert answer["code"] == "contact_exists" and "Maria Silva" in answer["detail"]
        assert answer["contact"] == {"id": str(contact.pk), "name": "Maria Silva", "number": "5511987654321"}
    # A client stored without the ninth digit (a WhatsApp wa_id) is the same phone too.
    legacy = f.make_client(tenant.reseller, wa_id="553187654321", name="Cliente Antigo")
    conflict = api.post(CONTACTS, {"name": "Nova", "number": "(31) 98765-4321"})
    assert conflict.status_code == 409 and conflict.json()["contact"]["id"] == str(legacy.pk)
    assert Client.objects.count() == 2


def test_bad_bodies_are_400_with_the_reason_in_portuguese_and_store_nothing(agent1):
    api = api_for(agent1)
    cases = [
        ("{nao e json", "parse_error", "JSON"),
        (json.dumps({"name": "Ana", "number": "11987654321", "telefone": "x"}), "unknown_field", "telefone"),
        (json.dumps({"name": "Ana", "number": "11987654321", "custom_fields": {"nada": "x"}}), "unknown_field", ""),
        (json.dumps({"number": "11987654321"}), "required", "name"),
        (json.dumps({"name": "A" * 201, "number": "11987654321"}), "max_length", "name"),
        (json.dumps({"name": "Ana", "number": "11987654321", "notes": "x" * 5001}), "max_length", "notes"),
        (json.dumps({"name": "Ana", "number": 11987654321}), "invalid", "number"),
        (json.dumps({"name": "Ana", "number": "98765-4321"}), "invalid", "Informe o DDD"),
        (json.dumps({"name": "Ana", "number": "11987654321", "document": "529.982.247-24"}), "invalid", "CPF inválido"),
        (json.dumps({"name": "Ana", "number": "11987654321", "email": "ana@"}), "invalid", "E-mail inválido"),
        (json.dumps({"name": "   ", "number": "11987654321"}), "blank", "name"),
        (json.dumps(["Ana"]), "invalid", ""),
    ]
    for raw, code, says in cases:
        response = api.post(CONTACTS, raw=raw)
        assert response.status_code == 400, raw
        body = response.json()
        assert body["code"] == code and says in body["detail"], (raw, body)
    assert not Client.objects.exists()
    english = api.post(CONTACTS, {"name": "Ana", "number": "98765-4321"}, headers={"Accept-Language": "en"})
    assert "Enter the area code" in english.json()["detail"]


def test_editing_keeps_a_history_and_the_profile_name_never_overwrites_it(client, agent2, meta_conn, tenant):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511955550001", name="Perfil Zap"))
    contact = Client.objects.get()
    other = f.make_client(tenant.reseller, wa_id="5511988880000", name="Outro")
    api = api_for(agent2)
    response = api.patch(_one(contact), {"name": "João da Silva", "number": "+55 11 95555-0001", "notes": "VIP"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["notes"], body["profile_name"]) == ("João da Silva", "VIP", "Perfil Zap")
    contact.refresh_from_db()
    assert contact.previous_names == ["Perfil Zap"] and contact.name_set_by_agent
    changes = {c.field: (c.old, c.new, c.by_id) for c in ClientChange.objects.filter(client=contact)}
    assert changes["name"] == ("Perfil Zap", "João da Silva", agent2.pk) and changes["notes"][1] == "VIP"
    assert "phone" not in changes  # the same number in another form changes nothing
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511955550001", name="Outro Perfil"))
    after = api.get(_one(contact)).json()
    assert (after["name"], after["profile_name"]) == ("João da Silva", "Outro Perfil")
    # Another contact's number (here without its ninth digit) is 409; bad values are 400; nothing changes.
    taken = api.patch(_one(contact), {"number": "551188880000"})
    assert taken.status_code == 409 and taken.json()["contact"]["id"] == str(other.pk)
    assert api.patch(_one(contact), {"email": "x@"}).json()["code"] == "invalid"
    assert api.patch(_one(contact), {"name": ""}).status_code == 400
    assert api.patch(_one(contact), {"nome": "x"}).json()["code"] == "unknown_field"
    assert api.patch(_one(contact), raw="{").status_code == 400
    contact.refresh_from_db()
    assert (contact.name, contact.phone, contact.email) == ("João da Silva", "5511955550001", "")
    assert api.post(_one(contact), {"name": "x"}).status_code == 405
