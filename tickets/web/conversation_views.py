"""The conversation tools' views: Transferir, Nota interna, Modelo, Reagir, Etiquetas, the client's name. Thin,
like tickets.web.views.

Each reads the form, calls one service and answers 303 (back to the conversation), 400 with
the page and the reason, 403 (tickets.services.NotAllowed) or 409 (the ticket moved meanwhile).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tickets import services
from tickets.web import views


def _page_with_error(request, pk, *, error: str, field: str, status: int = 400):
    ticket = views._get_ticket(request, pk)
    context = views._detail_context(request, ticket)
    context[field] = error
    return render(request, "tickets/detail.html", context, status=status)


@require_POST
@login_required
def transfer(request, pk):
    ticket = views._get_ticket(request, pk)
    seen = None
    if "seen_department" in request.POST:
        seen = (request.POST.get("seen_agent", ""), request.POST.get("seen_department", ""))
    try:
        services.ticket_transfer(
            ticket=ticket,
            by=request.user,
            agent=request.POST.get("agent", ""),
            department=request.POST.get("department", ""),
            seen=seen,
        )
    except services.TransferRejected as exc:
        return _page_with_error(request, pk, error=str(exc), field="transfer_error")
    except services.TicketConflict as exc:
        return views._conflict(request, exc)
    return views._see_other(ticket)


@require_POST
@login_required
def note(request, pk):
    ticket = views._get_ticket(request, pk)
    try:
        services.ticket_note_add(ticket=ticket, by=request.user, text=request.POST.get("text", ""))
    except services.ReplyRejected as exc:
        return _page_with_error(request, pk, error=str(exc), field="note_error")
    return views._see_other(ticket)


def _nonced_tool(request, pk, service, *, field: str, **fields):
    """Modelo and Reagir: one service call with the agent and the form's nonce; 303, 400 (the page with the
    reason in `field`) or 409."""
    ticket = views._get_ticket(request, pk)
    try:
        service(ticket=ticket, agent=request.user, nonce=request.POST.get("nonce", "")[:64], **fields)
    except services.ReplyRejected as exc:
        return _page_with_error(request, pk, error=str(exc), field=field)
    except services.TicketConflict as exc:
        return views._conflict(request, exc)
    return views._see_other(ticket)


@require_POST
@login_required
def template_send(request, pk):
    return _nonced_tool(
        request,
        pk,
        services.ticket_template_send,
        field="template_error",
        template=request.POST.get("template", ""),
        params=request.POST.getlist("param"),
    )


@require_POST
@login_required
def react(request, pk):
    """The agent's reaction (`emoji`, one emoji; empty takes it back) to the client's message `message`."""
    return _nonced_tool(
        request,
        pk,
        services.ticket_react,
        field="react_error",
        message=request.POST.get("message", ""),
        emoji=request.POST.get("emoji", ""),
    )


@require_POST
@login_required
def tags(request, pk):
    """Add (`on=1`) or remove (`on=0`) the tenant's `tag` on the ticket or on its client (`target`)."""
    ticket = views._get_ticket(request, pk)
    try:
        services.ticket_tag_set(
            ticket=ticket,
            by=request.user,
            tag=request.POST.get("tag", ""),
            on=request.POST.get("on", "1") != "0",
            target=request.POST.get("target", "ticket"),
        )
    except services.TagRejected:
        return _page_with_error(request, pk, error=_("Etiqueta inválida."), field="tag_error")
    return views._see_other(ticket)


@require_POST
@login_required
def client_rename(request, pk):
    """The client's name as the agent sets it; `seen_name` is the name the page showed (409 when it moved)."""
    ticket = views._get_ticket(request, pk)
    try:
        services.ticket_client_rename(
            ticket=ticket,
            by=request.user,
            name=request.POST.get("name", ""),
            seen=request.POST.get("seen_name", ticket.client.name),
        )
    except ValueError:
        return _page_with_error(request, pk, error=_("Informe um nome."), field="rename_error")
    except services.TicketConflict as exc:
        return views._conflict(request, exc)
    return views._see_other(ticket)
