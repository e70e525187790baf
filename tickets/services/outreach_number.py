"""Nova conversa from a typed number (the contact list's form, POST /api/v1/conversations/ with `number`).

The number is read as the contact pages read it (accounts.phones: any common form, 55 assumed, a Brazilian
mobile with or without its ninth digit is one phone) and matched to the tenant's contact holding it in any
form; a number that is nobody's yet becomes a contact through the contact pages' own writer
(accounts.contacts.contact_create). The conversation itself is tickets.services.outreach's, exactly as for
a contact's page. Every check that can refuse (the number, the connection, the department, the content, and
free text to a number that never wrote on a Meta connection) runs before the contact is added: a refused
request adds nothing.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.utils.translation import gettext as _

from accounts import contacts, phones
from accounts.models import Client
from tickets.models import Ticket
from tickets.reads import reach_out
from tickets.services.outreach import ReachOutConflict, ReachOutRejected, _choose, _content, _start, _window_refusal


def _tenant_of(user: Any, connection: Any) -> Any:
    """The tenant the number is looked up in: the user's; an installation admin's is the chosen connection's."""
    if user.reseller_id is not None or not (user.is_admin and user.is_active):
        return user.reseller_id
    value = str(connection or "").strip()
    if not value:
        raise ReachOutRejected(_("Escolha a conexão."))
    try:
        pk = uuid.UUID(value)
    except ValueError:
        raise ReachOutRejected(_("Conexão inválida.")) from None
    found = reach_out.connection_model().objects.filter(pk=pk).values_list("reseller_id", flat=True).first()
    if found is None:
        raise ReachOutRejected(_("Conexão inválida."))
    return found


def number_contact(reseller_id: Any, number: str) -> tuple[str, Client | None]:
    """(the number's stored form, the tenant's contact holding it or None); ReachOutRejected with the reason
    when it is not a number."""
    try:
        digits = phones.normalize(str(number or ""))
    except phones.PhoneRejected as exc:
        raise ReachOutRejected(contacts.reason_of(exc)) from None
    return digits, contacts.number_owner(reseller_id, digits)


def conversation_start_number(
    *,
    user: Any,
    number: str,
    name: str = "",
    connection: Any = "",
    department: Any = "",
    text: str = "",
    template: Any = "",
    params: Any = (),
) -> Ticket:
    """conversation_start for the tenant's contact with this number, added first when there is none (named
    `name`, or left to take the client's WhatsApp profile name). Raises what conversation_start raises, and
    ReachOutRejected for a number (or a name) that cannot be a contact's."""
    reseller_id = _tenant_of(user, connection)
    if reseller_id is None or not reach_out.acts_for_tenant(user, reseller_id):
        raise ReachOutRejected(_("Usuário sem revenda."))
    digits, client = number_contact(reseller_id, number)
    chosen, dept = _choose(user, reseller_id, connection, department)
    content = _content(chosen, text=text, template=template, params=params)
    if client is None:
        if content.template is None and (refusal := _window_refusal(chosen, None)):
            raise ReachOutConflict(refusal)
        try:
            client = contacts.contact_create(
                reseller_id=reseller_id, by=user, data={"name": name, "number": digits}, unnamed=True
            )
        except contacts.ContactRejected as exc:
            raise ReachOutRejected("; ".join(exc.errors.values())) from None
        except contacts.ContactExists as exc:
            client = exc.contact  # added a moment ago (another person, or the client's first message)
    return _start(user=user, client=client, chosen=chosen, dept=dept, content=content)
