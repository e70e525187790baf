"""Who sees which tickets: the one place where ticket visibility is decided.

Every workspace view and admin page fetches tickets through these functions,
so a ticket of another tenant or department simply does not exist for the user (404).
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import Ticket


def ticket_queryset_for(user) -> QuerySet[Ticket]:
    """All tickets the user may open: admins everything, a reseller its tenant,
    an agent the tickets of its own departments (in any state)."""
    if not user.is_authenticated or not user.is_active:
        return Ticket.objects.none()
    if user.is_admin:
        return Ticket.objects.all()
    if user.reseller_id is None:
        return Ticket.objects.none()
    qs = Ticket.objects.filter(reseller_id=user.reseller_id)
    if user.is_supervisor_of(user.reseller_id):
        return qs
    dept_ids = list(user.departments.values_list("pk", flat=True))
    # An agent also keeps seeing tickets it holds or held, even after a department change.
    return qs.filter(Q(department_id__in=dept_ids) | Q(agent=user))


def ticket_get_for(user, pk) -> Ticket:
    try:
        return ticket_queryset_for(user).select_related(
            "client", "department", "agent", "connection", "reseller"
        ).get(pk=pk)
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404("Atendimento não encontrado.") from None
