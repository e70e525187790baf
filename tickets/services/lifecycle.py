"""Assumir and Finalizar: espera → atendendo → finalizado, each one conditional write."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from iaze.lib import clock
from tickets.activity import ticket_change
from tickets.models import Ticket, TicketEvent, UIState
from tickets.rules import auto_messages, localtime, permissions, satisfaction
from tickets.services.automatic import ticket_auto_message_send
from tickets.services.common import NotAllowed, TicketConflict, held_by_other, seconds_between
from tickets.services.rollups import ticket_rollup_sync


def ticket_claim(*, ticket: Ticket, agent: Any) -> Ticket:
    """Espera → atendendo. Exactly one concurrent caller wins; the others get TicketConflict."""
    if not permissions.may_claim(agent, ticket):
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    now = clock.now()
    unclaimed = Q(status=Ticket.Status.OPEN, agent__isnull=True)
    if not permissions.supervises(agent, ticket):
        # The department the permission was checked against: the menu may have moved the ticket meanwhile.
        unclaimed &= Q(department_id=ticket.department_id)
    won = ticket_change(
        ticket,
        where=unclaimed,
        values={"agent": agent, "claimed_at": now, "updated_at": now},
        action=TicketEvent.Action.CLAIMED,
        actor=agent,
        from_state=UIState.ESPERA,
        to_state=UIState.ATENDENDO,
        at=now,
    )
    if won:
        ticket_rollup_sync(ticket.pk)
    fresh = Ticket.objects.select_related("agent").get(pk=ticket.pk)
    if not won:
        raise TicketConflict(fresh, _("Este atendimento já foi assumido ou finalizado."))
    return fresh


def ticket_close(*, ticket: Ticket, by: Any) -> Ticket:
    """Atendendo → finalizado, by the holder or a supervisor of the ticket's reseller."""
    if not by.is_active:
        raise NotAllowed(_("Este atendimento não pertence aos seus departamentos."))
    tz = localtime.tenant_timezone(ticket.reseller_id)
    now = clock.now()
    held = Q(status=Ticket.Status.OPEN, agent__isnull=False)
    if not permissions.supervises(by, ticket):
        held &= Q(agent=by)  # the holder's own ticket, whatever their departments are now
    won = ticket_change(
        ticket,
        where=held,
        values={
            "status": Ticket.Status.CLOSED,
            "closed_at": now,
            "closed_by": by,
            "updated_at": now,
            "resolution_seconds": seconds_between(ticket.created_at, now),
            **localtime.closed_stamps(now, tz),
        },
        action=TicketEvent.Action.CLOSED,
        actor=by,
        from_state=UIState.ATENDENDO,
        to_state=UIState.FINALIZADO,
        at=now,
    )
    if won:
        ticket_rollup_sync(ticket.pk, tz=tz)
    fresh = Ticket.objects.select_related("agent", "reseller").get(pk=ticket.pk)
    if not won:
        if fresh.ui_state == UIState.ATENDENDO and fresh.agent_id != by.pk:
            raise NotAllowed(held_by_other(fresh))
        raise TicketConflict(fresh, _("Só é possível finalizar um atendimento em Atendendo."))
    config = auto_messages.reseller_config(fresh)
    for auto in auto_messages.after_close(config, fresh):
        ticket_auto_message_send(ticket=fresh, auto=auto)
    for auto in satisfaction.after_close(config, fresh, now=now):
        ticket_auto_message_send(ticket=fresh, auto=auto)
    return fresh
