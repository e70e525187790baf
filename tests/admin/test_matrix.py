"""The permission matrix: every admin URL of every registered model, as each named user.

Each answer is asserted exactly (200/302/403/404), and every list a user can open
is checked for the other tenant's rows. Workspace URLs are walked too.
"""

import pytest
from django.contrib import admin
from django.urls import reverse

from tickets.models import Message, Ticket

pytestmark = pytest.mark.django_db

MODELS = [
    "accounts.reseller",
    "accounts.department",
    "accounts.user",
    "accounts.client",
    "whatsapp.connection",
    "tickets.ticket",
    "tickets.message",
    "tickets.ticketevent",
    "whatsapp.webhookevent",
    "tickets.quickreply",
    "tickets.messagetemplate",
    "whatsapp.recoveryrun",
    "accounts.tag",
    "accounts.contactfield",
    "accounts.apitoken",
    "webhooks.webhook",
    "webhooks.webhookdelivery",
]
# Which models may be added through the admin, by an installation admin / by a tenant manager.
ADDABLE_BY_ADMIN = {
    "webhooks.webhook",
    "accounts.apitoken",
    "accounts.tag",
    "accounts.contactfield",
    "accounts.reseller",
    "accounts.department",
    "accounts.user",
    "whatsapp.connection",
    "tickets.quickreply",
    "tickets.messagetemplate",
    "whatsapp.recoveryrun",
}
ADDABLE_BY_MANAGER = {
    "webhooks.webhook",
    "accounts.apitoken",
    "accounts.tag",
    "accounts.contactfield",
    "accounts.department",
    "accounts.user",
    "whatsapp.connection",
    "tickets.quickreply",
    "tickets.messagetemplate",
    "whatsapp.recoveryrun",
}
MANAGERS = {"reseller_user": "demo", "outsider_reseller": "outra"}


def test_every_project_model_is_registered_and_walked():
    registered = {
        m._meta.label_lower
        for m in admin.site._registry
        if m._meta.app_label in ("accounts", "tickets", "whatsapp", "webhooks")
    }
    assert registered == set(MODELS)


def _url(label, view, obj=None):
    app, model = label.split(".")
    name = f"admin:{app}_{model}_{view}"
    return reverse(name, args=[obj.pk]) if obj is not None else reverse(name)


def _expected(who, label, view, side):
    """The exact answer for user `who` on `view` of `label` (for a row of tenant `side`)."""
    if who not in MANAGERS and who != "admin_user":
        return 302  # anonymous and agents: to the admin login
    if view == "changelist":
        return 200
    if view == "add":
        allowed = ADDABLE_BY_ADMIN if who == "admin_user" else ADDABLE_BY_MANAGER
        return 200 if label in allowed else 403
    if who in MANAGERS and MANAGERS[who] != side:
        return 404  # another tenant's row does not exist for a manager
    return 403 if view == "delete" else 200


def _client_for(client, user):
    client.logout()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    "who",
    ["anonymous", "agent1", "agent2", "agent3", "reseller_user", "admin_user", "outsider_agent", "outsider_reseller"],
)
def test_admin_matrix(client, world, who):
    client = _client_for(client, world.users[who])
    sides = {"demo": world.demo, "outra": world.outra}
    wrong = []

    def check(url, expected):
        response = client.get(url)
        if response.status_code != expected:
            wrong.append(f"{url}: {response.status_code} != {expected}")
        elif expected == 302 and not response["Location"].startswith("/admin/login/"):
            wrong.append(f"{url}: redirects to {response['Location']}")
        return response

    for url in ("/admin/", "/admin/accounts/", "/admin/tickets/", "/admin/whatsapp/", "/admin/webhooks/"):
        check(url, 302 if _expected(who, "", "changelist", None) == 302 else 200)

    for label in MODELS:
        check(_url(label, "add"), _expected(who, label, "add", None))
        listing = check(_url(label, "changelist"), _expected(who, label, "changelist", None))
        for side_name, side in sides.items():
            obj = side.rows()[label]
            for view in ("change", "delete", "history"):
                check(_url(label, view, obj), _expected(who, label, view, side_name))
            if label == "accounts.user":
                check(
                    reverse("admin:auth_user_password_change", args=[obj.pk]),
                    _expected(who, label, "password", side_name),
                )
            if listing.status_code == 200:
                visible = (who == "admin_user") or MANAGERS[who] == side_name
                shown = str(obj.pk) in listing.content.decode()
                if shown != visible:
                    wrong.append(f"{label} changelist as {who}: row of {side_name} shown={shown}")
    assert wrong == []


@pytest.mark.parametrize("who", ["reseller_user", "outsider_reseller"])
def test_manager_cannot_open_an_installation_admin(client, world, who):
    client.force_login(world.users[who])
    admin_user = world.users["admin_user"]
    assert client.get(_url("accounts.user", "change", admin_user)).status_code == 404
    assert client.get(reverse("admin:auth_user_password_change", args=[admin_user.pk])).status_code == 404


# --- the workspace -------------------------------------------------------------------------


def _workspace_expected(who, path_kind, side):
    if path_kind in ("claim", "close", "reply", "transfer", "note", "template"):
        return 405  # GET on a state-changing path, logged in or not
    if who == "anonymous":
        return 302
    if path_kind == "queue":
        return 200
    # detail: admin everything; a reseller its tenant; an agent its departments (the tickets are in Suporte).
    home = {
        "admin_user": None,
        "reseller_user": "demo",
        "agent1": "demo",
        "agent2": "demo",
        "outsider_agent": "outra",
        "outsider_reseller": "outra",
        "agent3": "none",
    }[who]
    return 200 if home is None or home == side else 404


ACTION_PATHS = (
    ("claim", "assumir/"),
    ("close", "finalizar/"),
    ("reply", "responder/"),
    ("transfer", "transferir/"),
    ("note", "nota/"),
    ("template", "modelo/"),
)


@pytest.mark.parametrize(
    "who",
    ["anonymous", "agent1", "agent2", "agent3", "reseller_user", "admin_user", "outsider_agent", "outsider_reseller"],
)
def test_workspace_matrix(client, world, who):
    client = _client_for(client, world.users[who])
    wrong = []
    for status in ("espera", "atendendo", "finalizado"):
        response = client.get(f"/tickets/?status={status}")
        expected = _workspace_expected(who, "queue", None)
        if response.status_code != expected:
            wrong.append(f"queue {status}: {response.status_code} != {expected}")
        if response.status_code == 200 and status == "espera":
            page = response.content.decode()
            for side_name, side in (("demo", world.demo), ("outra", world.outra)):
                visible = _workspace_expected(who, "detail", side_name) == 200
                if (str(side.ticket.pk) in page) != visible:
                    wrong.append(f"queue as {who}: ticket of {side_name} shown={not visible}")
    for side_name, side in (("demo", world.demo), ("outra", world.outra)):
        for kind, path in (("detail", ""), *ACTION_PATHS):
            response = client.get(f"/tickets/{side.ticket.pk}/{path}")
            expected = _workspace_expected(who, kind, side_name)
            if response.status_code != expected:
                wrong.append(f"{kind} {side_name}: {response.status_code} != {expected}")
            if expected == 302 and not response["Location"].startswith("/accounts/login/"):
                wrong.append(f"{kind} {side_name}: redirects to {response['Location']}")
        # A ticket the user cannot see cannot be acted on either: 404 (302 to login when anonymous), unchanged.
        if _workspace_expected(who, "detail", side_name) in (302, 404):
            before = Ticket.objects.filter(pk=side.ticket.pk).values().get()
            for kind, path in ACTION_PATHS:
                body = {"text": "invasão", "nonce": "x", "department": str(side.department.pk)}
                body.update(template=str(side.message_template.pk), param="invasão", agent=str(side.user.pk))
                response = client.post(f"/tickets/{side.ticket.pk}/{path}", body)
                expected = 302 if who == "anonymous" else 404
                if response.status_code != expected:
                    wrong.append(f"POST {kind} {side_name}: {response.status_code} != {expected}")
            if Ticket.objects.filter(pk=side.ticket.pk).values().get() != before:
                wrong.append(f"ticket of {side_name} changed by {who}")
            if Message.objects.filter(text="invasão").exists():
                wrong.append(f"{who} replied on a ticket of {side_name}")
    assert wrong == []


def test_staff_flag_alone_does_not_open_the_admin(client, world):
    """Access follows the role: an agent wrongly flagged is_staff still only gets the login page."""
    agent = world.users["agent1"]
    agent.is_staff = True
    agent.save(update_fields=["is_staff"])
    client.force_login(agent)
    for url in ("/admin/", _url("tickets.ticket", "changelist"), _url("accounts.user", "change", agent)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
