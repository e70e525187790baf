"""Cache-Control (iaze.lib.cache_control): a logged-in user's pages are `private, no-cache`, exports
`private, no-store`. Security review: authenticated pages and the CSV/ZIP exports carried no Cache-Control,
so a shared proxy or the browser's disk cache could keep conversations."""

import pytest
from django.urls import reverse

from tests import factories as f

pytestmark = pytest.mark.django_db

RANGE = "?periodo=custom&inicio=2026-03-02&fim=2026-03-04"


def test_a_logged_in_users_pages_are_private_no_cache(client, agent1, meta_conn):
    ticket = f.make_ticket(meta_conn, agent=agent1)
    client.force_login(agent1)
    for url in ("/tickets/", f"/tickets/{ticket.pk}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-cache", url


def test_an_explicit_header_is_kept(client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("admin:index"))  # the admin's own never_cache
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]


def test_anonymous_answers_are_left_alone(client):
    response = client.get("/tickets/")
    assert response.status_code == 302 and not response.has_header("Cache-Control")


@pytest.mark.parametrize("url", ["/relatorios/export.csv", "/relatorios/atendimentos.csv"])
def test_report_exports_are_no_store(client, reseller_user, url):
    client.force_login(reseller_user)
    response = client.get(url + RANGE)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Cache-Control"] == "private, no-store"


def test_the_lgpd_export_is_no_store(client, reseller_user, tenant):
    maria = f.make_client(tenant.reseller, wa_id="5511955550001", name="Maria")
    client.force_login(reseller_user)
    url = reverse("admin:accounts_client_changelist")
    response = client.post(url, {"action": "export_client_data", "_selected_action": [maria.pk]})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
