"""The admin's user forms never tell a tenant manager which e-mails other tenants use.

Security review: adding a user with an e-mail of another tenant answered "Já existe um usuário com este
e-mail.", so a reseller could probe any address. E-mails stay unique across the installation (they are
the login), but a tenant manager gets one neutral answer whether the e-mail is taken in another tenant
or in their own; the installation admin, who sees every tenant, keeps the precise one."""

import re

import pytest
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

ADD = reverse("admin:accounts_user_add")
NEUTRAL = "Não foi possível usar este e-mail. Informe outro."
PRECISE = "Já existe um usuário com este e-mail."


def _add_data(email):
    return {
        "email": email,
        "usable_password": "true",
        "password1": "uma-senha-boa-987",
        "password2": "uma-senha-boa-987",
        "name": "Nova Agente",
        "role": "agent",
    }


def _page(response, email):
    """The page without what differs by nature: the typed e-mail and the per-response CSRF token."""
    html = response.content.decode().replace(email, "EMAIL")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)


def test_reseller_gets_the_same_answer_for_an_e_mail_of_another_tenant_and_of_its_own(
    client, reseller_user, agent1, outsider
):
    client.force_login(reseller_user)
    users_before = User.objects.count()
    answers = {}
    for label, email in (("own", agent1.email), ("other", outsider.agent.email.upper()), ("free", "livre@demo.local")):
        response = client.post(ADD, _add_data(email))
        answers[label] = response
    assert answers["free"].status_code == 302  # the form itself works (and creates that one user)
    own, other = answers["own"], answers["other"]
    assert own.status_code == other.status_code == 200
    own_errors = own.context["adminform"].form.errors.as_data()["email"]
    other_errors = other.context["adminform"].form.errors.as_data()["email"]
    assert [e.messages for e in own_errors] == [e.messages for e in other_errors] == [[NEUTRAL]]
    assert [e.code for e in own_errors] == [e.code for e in other_errors]
    assert _page(own, agent1.email) == _page(other, outsider.agent.email.upper())
    page = other.content.decode()
    assert PRECISE not in page and outsider.reseller.name not in page
    assert User.objects.count() == users_before + 1


def test_reseller_changing_an_e_mail_gets_the_neutral_answer_too(client, reseller_user, agent1, agent2, outsider):
    client.force_login(reseller_user)
    change = reverse("admin:accounts_user_change", args=[agent2.pk])
    data = {"name": agent2.name, "role": "agent", "departments": [str(d.pk) for d in agent2.departments.all()]}
    data["is_active"] = "on"
    texts = []
    for email in (agent1.email, outsider.agent.email):
        response = client.post(change, {**data, "email": email})
        assert response.status_code == 200
        texts.append(response.context["adminform"].form.errors["email"])
    assert texts[0] == texts[1] == [NEUTRAL]
    agent2.refresh_from_db()
    assert agent2.email == "agente2@demo.local"


def test_installation_admin_keeps_the_precise_answer(client, admin_user, tenant, outsider):
    client.force_login(admin_user)
    response = client.post(ADD, {**_add_data(outsider.agent.email), "reseller": str(tenant.reseller.pk)})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [PRECISE]
