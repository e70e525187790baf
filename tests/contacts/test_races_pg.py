"""Real races on a real database server: one phone, typed by people and written by WhatsApp at once."""

import pytest

from accounts import contacts
from accounts.models import Client
from accounts.services import client_upsert
from providers.types import Sender
from tests.support.races import race

pytestmark = [pytest.mark.realserver, pytest.mark.django_db(transaction=True)]


def test_people_adding_and_the_client_writing_in_both_forms_make_one_contact(tenant, agent1):
    """16 threads: half add the contact by hand ((31) 98765-4321), half receive the client's first message
    with WhatsApp's wa_id, with and without the ninth digit. One client; every person but one gets 409
    naming it (or a 409 for a number that was taken by the message a moment before)."""
    forms = ["553187654321", "5531987654321"]

    def work(i):
        if i % 2:
            sender = Sender(wa_id=forms[i // 2 % 2], phone=forms[i // 2 % 2], name=f"perfil {i}")
            return ("upsert", client_upsert(reseller_id=tenant.reseller.pk, sender=sender).pk)
        try:
            made = contacts.contact_create(
                reseller_id=tenant.reseller.pk, by=agent1, data={"name": f"Pessoa {i}", "number": "(31) 98765-4321"}
            )
            return ("created", made.pk)
        except contacts.ContactExists as exc:
            return ("exists", exc.contact.pk)

    results = race(16, work)
    assert not [r for r in results if isinstance(r, BaseException)], results
    only = Client.objects.get()
    assert {pk for _what, pk in results} == {only.pk}
    assert sum(1 for what, _pk in results if what == "created") <= 1
    assert only.identity == "5531987654321"
