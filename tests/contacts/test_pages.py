"""/contatos/ (contract §7 "Contacts"): list, search, add, edit, history, tenancy and the contact's tickets."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Client, ClientChange, ClientTag, ContactField, Tag
from tests import factories as f
from tests.support.webhooks import meta_text, post_meta

pytestmark = pytest.mark.django_db

NEW = "/contatos/novo/"


def _add(client, **fields):
    data = {"name": "Maria Silva", "number": "+55 (11) 98765-4321", **fields}
    return client.post(NEW, data)


def _contact_url(contact) -> str:
    return f"/contatos/{contact.pk}/"


def _page(client, path="/contatos/", **params):
    response = client.get(path, params)
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_is_sent_to_login(client):
    response = client.get("/contatos/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_adding_a_contact_stores_digits_with_country_code_and_redirects_to_its_page(client, agent1):
    client.force_login(agent1)
    response = _add(client, email="Maria@Exemplo.com.br", document="529.982.247-25", notes="cliente antiga")
    assert response.status_code == 303
    contact = Client.objects.get()
    assert response["Location"] == _contact_url(contact)
    assert (contact.phone, contact.identity, contact.wa_id) == ("5511987654321", "5511987654321", "")
    assert (contact.email, contact.document, contact.notes) == ("maria@exemplo.com.br", "52998224725", "cliente antiga")
    assert contact.name_set_by_agent  # a person named it: the WhatsApp profile name never replaces it
    page = _page(client, _contact_url(contact))
    assert "+55 11 98765-4321" in page and "529.982.247-25" in page and "maria@exemplo.com.br" in page
    assert ClientChange.objects.get(client=contact).field == "created"


@pytest.mark.parametrize("typed", ["11987654321", "5511987654321", "(11) 8765-4321", "551187654321"])
def test_the_same_number_in_another_form_is_409_naming_and_linking_the_contact(client, agent1, typed):
    client.force_login(agent1)
    assert _add(client).status_code == 303
    existing = Client.objects.get()
    response = _add(client, name="Outra Pessoa", number=typed)
    assert response.status_code == 409
    body = response.content.decode()
    assert "Maria Silva" in body and f'href="{_contact_url(existing)}"' in body
    assert Client.objects.count() == 1


def test_a_legacy_client_stored_without_the_ninth_digit_is_the_same_number(client, agent1, tenant):
    old = f.make_client(tenant.reseller, wa_id="553187654321", name="Cliente Antigo")
    client.force_login(agent1)
    response = _add(client, number="(31) 98765-4321")
    assert response.status_code == 409
    assert _contact_url(old) in response.content.decode()


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("document", "529.982.247-24", "CPF inválido"),
        ("document", "11.222.333/0001-82", "CNPJ inválido"),
        ("document", "12.ABC.345/01DE-36", "CNPJ inválido"),
        ("email", "maria@", "E-mail inválido"),
        ("number", "98765-4321", "Informe o DDD"),
        ("number", "(11) 1234-5678", "começa com 2 a 9"),
        ("name", "   ", "Informe o nome"),
    ],
)
def test_bad_input_is_400_with_the_reason_and_stores_nothing(client, agent1, field, value, reason):
    client.force_login(agent1)
    response = _add(client, **{field: value})
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Client.objects.exists()


def test_the_alphanumeric_cnpj_is_accepted(client, agent1):
    client.force_login(agent1)
    assert _add(client, document="12.ABC.345/01DE-35").status_code == 303
    assert Client.objects.get().document == "12ABC34501DE35"


def test_the_list_is_the_tenants_clients_newest_first_and_never_another_tenants(client, agent3, tenant, outsider):
    # agent3 (Financeiro) sees every contact of the tenant, whichever department served it.
    first = f.make_client(tenant.reseller, name="Primeiro Cliente")
    second = f.make_client(tenant.reseller, name="Segundo Cliente")
    theirs = f.make_client(outsider.reseller, name="Cliente Da Outra")
    client.force_login(agent3)
    page = _page(client)
    assert _contact_url(first) in page and _contact_url(second) in page
    assert page.index("Segundo Cliente") < page.index("Primeiro Cliente")
    assert _contact_url(theirs) not in page and "Cliente Da Outra" not in page


def test_the_next_page_is_a_plain_link(client, agent1, tenant):
    for i in range(30):
        f.make_client(tenant.reseller, name=f"Pessoa {i:02d}")
    client.force_login(agent1)
    page = _page(client)
    assert page.count('href="/contatos/') - page.count('href="/contatos/novo/') >= 25
    cursor = re.search(r'href="\?cursor=([^"]+)" rel="next"', page).group(1).replace("&amp;", "&")
    rest = client.get("/contatos/?cursor=" + cursor).content.decode()
    shown = set(re.findall(r'data-contact="([0-9a-f-]{36})"', page))
    more = set(re.findall(r'data-contact="([0-9a-f-]{36})"', rest))
    assert len(shown) == 25 and len(more) == 5 and not shown & more


@pytest.mark.parametrize(
    "query",
    [
        "joana",
        "JOÃNA",
        "pereira",
        "8765",
        "98765-4321",
        "31 8765-4321",
        "+55 31 98765-4321",
        "joana.p@exemplo.com",
        "exemplo",
        "529.982.247-25",
        "52998224725",
        "12.ABC.345",
        "12abc34501de35",
    ],
)
def test_search_by_name_words_number_digits_email_and_document(client, agent1, tenant, query):
    client.force_login(agent1)
    assert (
        _add(
            client, name="Joana Pereira", number="31987654321", email="joana.p@exemplo.com", document="529.982.247-25"
        ).status_code
        == 303
    )
    other = Client.objects.get()
    assert _add(client, name="Carlos Souza", number="21912345678", document="12.ABC.345/01DE-35").status_code == 303
    cnpj = Client.objects.exclude(pk=other.pk).get()
    page = _page(client, q=query)
    expected = cnpj if "abc" in query.lower() else other
    unexpected = other if expected is cnpj else cnpj
    assert _contact_url(expected) in page
    assert _contact_url(unexpected) not in page


def test_search_finds_a_legacy_number_stored_without_the_ninth_digit(client, agent1, tenant):
    old = f.make_client(tenant.reseller, wa_id="553187654321", name="Cliente Antigo")
    client.force_login(agent1)
    assert _contact_url(old) in _page(client, q="(31) 98765-4321")
    assert _contact_url(old) in _page(client, q="5531987654321")


def test_search_never_shows_another_tenants_contact(client, agent1, tenant, outsider):
    theirs = f.make_client(outsider.reseller, wa_id="5511977776666", name="Maria Outra")
    client.force_login(agent1)
    assert _contact_url(theirs) not in _page(client, q="maria")
    assert _contact_url(theirs) not in _page(client, q="77776666")


def test_another_tenants_contact_is_404_and_cannot_be_edited(client, agent1, reseller_user, outsider):
    theirs = f.make_client(outsider.reseller, name="Da Outra")
    for user in (agent1, reseller_user):
        client.force_login(user)
        assert client.get(_contact_url(theirs)).status_code == 404
        assert client.post(_contact_url(theirs), {"name": "Invadido"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.name == "Da Outra"


def test_editing_keeps_a_history_and_the_profile_name_never_overwrites_it(client, agent1, meta_conn, tenant):
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511955550001", name="Perfil Zap"))
    contact = Client.objects.get()
    client.force_login(agent1)
    response = client.post(
        _contact_url(contact),
        {
            "name": "João da Silva",
            "number": "+55 11 95555-0001",
            "email": "joao@x.com.br",
            "document": "",
            "notes": "VIP",
        },
    )
    assert response.status_code == 303
    contact.refresh_from_db()
    assert (contact.name, contact.email, contact.notes) == ("João da Silva", "joao@x.com.br", "VIP")
    assert contact.previous_names == ["Perfil Zap"] and contact.name_set_by_agent
    changes = {c.field: (c.old, c.new, c.by_id) for c in ClientChange.objects.filter(client=contact)}
    assert changes["name"] == ("Perfil Zap", "João da Silva", agent1.pk)
    assert changes["email"] == ("", "joao@x.com.br", agent1.pk)
    assert "phone" not in changes  # the same number typed in another form changes nothing
    page = _page(client, _contact_url(contact))
    assert "Histórico de alterações" in page and "Perfil Zap" in page
    # The client writes again with another profile name: the name a person set stays.
    client.logout()
    post_meta(client, meta_conn, meta_text(meta_conn, wa_id="5511955550001", name="Outro Perfil"))
    contact.refresh_from_db()
    assert (contact.name, contact.profile_name) == ("João da Silva", "Outro Perfil")


def test_editing_to_another_contacts_number_is_409_and_changes_nothing(client, agent1, tenant):
    a = f.make_client(tenant.reseller, wa_id="5511911110000", name="A")
    b = f.make_client(tenant.reseller, wa_id="5511922220000", name="B")
    client.force_login(agent1)
    response = client.post(_contact_url(b), {"name": "B2", "number": "(11) 91111-0000"})
    assert response.status_code == 409
    assert _contact_url(a) in response.content.decode()
    b.refresh_from_db()
    assert (b.name, b.phone) == ("B", "5511922220000")


def test_a_bad_edit_is_400_and_changes_nothing(client, agent1, tenant):
    c = f.make_client(tenant.reseller, name="Sem Mudança")
    client.force_login(agent1)
    response = client.post(_contact_url(c), {"name": "Novo", "document": "123.456.789-00"})
    assert response.status_code == 400
    assert "CPF inválido" in response.content.decode()
    c.refresh_from_db()
    assert c.name == "Sem Mudança" and not ClientChange.objects.filter(client=c).exists()


def test_custom_fields_are_checked_by_kind_and_stored_normalized(client, agent1, tenant):
    ContactField.objects.create(
        reseller=tenant.reseller, key="plano", label="Plano", kind="choice", choices=["Bronze", "Prata", "Ouro"]
    )
    ContactField.objects.create(reseller=tenant.reseller, key="limite", label="Limite", kind="number")
    ContactField.objects.create(reseller=tenant.reseller, key="vencimento", label="Vencimento", kind="date")
    ContactField.objects.create(reseller=tenant.reseller, key="codigo", label="Código", kind="text")
    client.force_login(agent1)
    bad = _add(client, cf_plano="Platina", cf_limite="muito", cf_vencimento="31/02/2026")
    assert bad.status_code == 400
    body = bad.content.decode()
    assert (
        "Plano: não é uma das opções" in body
        and "Limite: não é um número" in body
        and "Vencimento: não é uma data" in body
    )
    assert not Client.objects.exists()
    good = _add(client, cf_plano="ouro", cf_limite="1.234,50", cf_vencimento="31/03/2026", cf_codigo="A-1")
    assert good.status_code == 303
    contact = Client.objects.get()
    assert contact.custom_fields == {"plano": "Ouro", "limite": "1234.5", "vencimento": "2026-03-31", "codigo": "A-1"}
    page = _page(client, _contact_url(contact))
    assert "1.234,5" in page and "31/03/2026" in page
    assert client.post(_contact_url(contact), {"cf_limite": ""}).status_code == 303
    contact.refresh_from_db()
    assert "limite" not in contact.custom_fields
    assert ClientChange.objects.get(client=contact, field="custom:limite").old == "1234.5"


def test_tags_are_set_from_the_contact_page(client, agent1, tenant):
    vip = Tag.objects.create(reseller=tenant.reseller, name="VIP")
    c = f.make_client(tenant.reseller, name="Com Etiqueta")
    client.force_login(agent1)
    assert client.post(_contact_url(c), {"tags_present": "1", "tags": [str(vip.pk)]}).status_code == 303
    assert ClientTag.objects.get(client=c, tag=vip).active
    assert client.post(_contact_url(c), {"tags_present": "1"}).status_code == 303
    assert not ClientTag.objects.get(client=c, tag=vip).active
    assert ClientChange.objects.filter(client=c, field="tags").count() == 2


def test_the_contact_page_lists_only_the_tickets_the_user_may_see(client, tenant, agent1, agent3, meta_conn):
    c = f.make_client(tenant.reseller, name="Cliente Com Atendimento")
    ticket = f.make_ticket(meta_conn, client=c)  # in Suporte
    client.force_login(agent1)
    page = _page(client, _contact_url(c))
    assert f'href="/tickets/{ticket.pk}/"' in page
    assert f'href="{_contact_url(c)}"' in _page(client, f"/tickets/{ticket.pk}/")  # the client panel links it
    client.force_login(agent3)  # Financeiro: sees the contact, not the Suporte ticket
    page = _page(client, _contact_url(c))
    assert "Cliente Com Atendimento" in page and f"/tickets/{ticket.pk}/" not in page


def test_the_contact_page_keeps_the_reach_out_slot():
    from django.template.loader import get_template

    source = get_template("contacts/detail.html").template.source
    assert '{% include "contacts/_reach_out.html" %}' in source
    assert get_template("contacts/_reach_out.html").render({}).strip() == ""


def test_the_contacts_link_is_in_the_navigation(client, agent1):
    client.force_login(agent1)
    assert 'href="/contatos/"' in _page(client, "/tickets/")


def test_reasons_are_translated(client, agent1):
    client.force_login(agent1)
    response = client.post(NEW, {"name": "Ana", "number": "98765-4321"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Enter the area code" in response.content.decode()
    response = client.post(NEW, {"name": "Ana", "number": "11987654321", "document": "111"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "A CPF has 11 digits and a CNPJ 14." in response.content.decode()


def test_the_list_and_its_search_cost_the_same_queries_for_3_or_30_contacts(client, agent1, reseller_user, tenant):
    """No N+1: a page of 3 contacts and a page of 25 (of 30), with numbers, e-mails and documents, plain and
    searched, as an agent and a supervisor."""
    made = iter(range(1000))

    def add(n):
        for _ in range(n):
            i = next(made)
            contact = f.make_client(tenant.reseller, name=f"Cliente Lista {i}", wa_id=f"55119{i:08d}")
            Client.objects.filter(pk=contact.pk).update(email=f"c{i}@exemplo.com", document="52998224725")

    def counts():
        out = {}
        for who in (agent1, reseller_user):
            client.force_login(who)
            for params in ({}, {"q": "cliente lista"}, {"q": "5511"}):
                with CaptureQueriesContext(connection) as ctx:
                    page = _page(client, **params)
                out[(who.email, str(params))] = (len(ctx.captured_queries), page.count("<tr data-contact="))
        return out

    add(3)
    few = counts()
    add(27)
    many = counts()
    assert {k: q for k, (q, _rows) in many.items()} == {k: q for k, (q, _rows) in few.items()}
    assert {rows for _q, rows in few.values()} == {3} and {rows for _q, rows in many.values()} == {25}
