"""Nothing can be deleted through the admin, by anyone: no action, no page, no inline checkbox."""

import pytest
from django.apps import apps
from django.contrib import admin

from tests.admin.test_matrix import MODELS, _url

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("who", ["admin_user", "reseller_user"])
def test_delete_action_is_absent_from_every_changelist(client, world, who):
    client.force_login(world.users[who])
    for label in MODELS:
        response = client.get(_url(label, "changelist"))
        print("CODE", label, response.status_code)
        action_form = response.context["action_form"]
        choices = [name for name, _ in action_form.fields["action"].choices] if action_form else []
        assert "delete_selected" not in choices, label
        assert b'value="delete_selected"' not in response.content, label


@pytest.mark.parametrize("who", ["admin_user", "reseller_user"])
def test_posting_the_delete_action_deletes_nothing(client, world, who):
    client.force_login(world.users[who])
    for label, obj in world.demo.rows().items():
        model = apps.get_model(label)
        before = model.objects.count()
        offers_actions = client.get(_url(label, "changelist")).context["action_form"] is not None
        response = client.post(
            _url(label, "changelist"),
            {"action": "delete_selected", "_selected_action": [str(obj.pk)], "post": "yes", "index": 0},
        )
        # Django answers an unknown action with a redirect back to the list ("No action selected") where the
        # list offers actions to this user, and with the list itself where it offers none: never a confirmation.
        assert response.status_code == (302 if offers_actions else 200), label
        assert b"Are you sure" not in response.content and b"Tem certeza" not in response.content
        assert model.objects.count() == before and model.objects.filter(pk=obj.pk).exists(), label


@pytest.mark.parametrize("who", ["admin_user", "reseller_user"])
def test_delete_page_refused_for_get_and_post(client, world, who):
    client.force_login(world.users[who])
    for label, obj in world.demo.rows().items():
        model = apps.get_model(label)
        assert client.get(_url(label, "delete", obj)).status_code == 403, label
        assert client.post(_url(label, "delete", obj), {"post": "yes"}).status_code == 403, label
        assert model.objects.filter(pk=obj.pk).exists(), label


def test_no_model_admin_or_inline_grants_delete(world, rf):
    request = rf.get("/admin/")
    for who in ("admin_user", "reseller_user"):
        request.user = world.users[who]
        for model, model_admin in admin.site._registry.items():
            assert model_admin.has_delete_permission(request) is False, model
            for inline in model_admin.get_inline_instances(request):
                assert inline.has_delete_permission(request) is False, (model, inline)
                assert inline.can_delete is False, (model, inline)


def test_delete_link_absent_from_change_pages(client, world):
    client.force_login(world.users["admin_user"])
    for label, obj in world.demo.rows().items():
        response = client.get(_url(label, "change", obj))
        assert response.status_code == 200
        assert _url(label, "delete", obj).encode() not in response.content, label
