"""The tenant's display name and colour reach its agents' pages, and only theirs."""

import pytest

from accounts.context_processors import DEFAULT_COLOR

pytestmark = pytest.mark.django_db


def _page(client, user):
    client.force_login(user)
    response = client.get("/tickets/")
    assert response.status_code == 200
    return response.content.decode()


def test_each_tenant_sees_its_own_brand(client, tenant, agent1, outsider):
    config = tenant.reseller.config
    config.display_name, config.primary_color = "Demo Telecom", "#aa3300"
    config.save()
    outra = outsider.reseller.config
    outra.display_name, outra.primary_color = "Outra Net", "#123456"
    outra.save()

    page = _page(client, agent1)
    assert "Demo Telecom" in page and "#aa3300" in page
    assert "Outra Net" not in page and "#123456" not in page
    page = _page(client, outsider.agent)
    assert "Outra Net" in page and "#123456" in page and "Demo Telecom" not in page


def test_a_bad_colour_never_reaches_the_style_attribute(client, tenant, agent1):
    config = tenant.reseller.config
    config.primary_color = "red;}*{"  # written around the form validation
    config.save()
    page = _page(client, agent1)
    assert "red;}" not in page and DEFAULT_COLOR in page


def test_admins_without_a_tenant_get_the_product_brand(client, admin_user):
    page = _page(client, admin_user)
    assert "IAZE" in page and DEFAULT_COLOR in page
