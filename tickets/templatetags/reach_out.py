"""`{% reach_out_form contact %}`: the Novo atendimento and Agendar forms of a contact, for any page that shows
one (the contact's page, a finalizado ticket's page) through templates/contacts/_reach_out.html.

The forms' choices depend on the user (their connections, departments, the contact's open tickets they may
see), so the tag reads them itself (tickets.reads.reach_out) instead of asking every page's view to."""

from __future__ import annotations

import uuid

from django import template

from tickets.reads import reach_out
from tickets.rules import localtime

register = template.Library()


@register.inclusion_tag("tickets/_reach_out_forms.html", takes_context=True)
def reach_out_form(context, contact, values=None, error="", which=""):
    request = context.get("request")
    if contact is None or request is None or not request.user.is_authenticated:
        return {"reach": None}
    values = values or {}
    reach = reach_out.reach_out_for(request.user, contact)
    params = list(values.get("params") or [])
    slots = [(n, params[n - 1] if n <= len(params) else "") for n in range(1, reach.max_params + 1)]
    return {
        "reach": reach,
        "contact": contact,
        "values": values,
        "slots": slots,
        "error": error,
        "which": which,
        "csrf_token": context.get("csrf_token"),
        "nonce": uuid.uuid4().hex,
        "tz_name": localtime.tenant_timezone(contact.reseller_id).key,
    }
