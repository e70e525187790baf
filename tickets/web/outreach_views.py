"""Reaching a contact: Novo atendimento (`/contatos/<uuid>/conversar/`), Nova conversa to a typed number
(`/contatos/conversar/`), Agendar (`/contatos/<uuid>/agendar/`) and the list of scheduled messages
(`/agendamentos/`, `/agendamentos/<uuid>/cancelar/`). Thin, like tickets.web.views: read the form, call one
service, answer.

A contact of another tenant is a 404 (tickets.reads.reach_out.contact_get_for). A refused request answers 400 (or
409) with the form again, the reason above it and what was typed kept.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import services
from tickets.reads import presenters, reach_out, selectors
from tickets.rules.permissions import is_supervisor

SCHEDULED_PAGE_SIZE = 50


def _form_values(request) -> dict:
    post = request.POST
    return {
        "connection": post.get("connection", ""),
        "department": post.get("department", ""),
        "text": post.get("text", ""),
        "template": post.get("template", ""),
        "params": post.getlist("param"),
        "send_at": post.get("send_at", ""),
        "number": post.get("number", ""),
        "name": post.get("name", ""),
    }


def _refused(request, contact, *, error: str, which: str, status: int):
    """The contact's reach-out forms again, with the reason and what was typed."""
    context = {"contact": contact, "reach_error": error, "reach_which": which, "reach_values": _form_values(request)}
    return render(request, "tickets/reach_out_page.html", context, status=status)


def _see_other(to: str, *args):
    response = redirect(to, *args)
    response.status_code = 303
    return response


@require_POST
@login_required
def conversation_start(request, pk):
    contact = reach_out.contact_get_for(request.user, pk)
    try:
        ticket = services.conversation_start(
            user=request.user,
            client=contact,
            connection=request.POST.get("connection", ""),
            department=request.POST.get("department", ""),
            text=request.POST.get("text", ""),
            template=request.POST.get("template", ""),
            params=request.POST.getlist("param"),
        )
    except services.AlreadyOpen as exc:
        # The contact's open ticket on that connection: the user goes there when they may see it.
        if exc.ticket is not None and selectors.ticket_queryset_for(request.user).filter(pk=exc.ticket.pk).exists():
            return _see_other("tickets:detail", exc.ticket.pk)
        return _refused(request, contact, error=str(exc), which="start", status=409)
    except services.ReachOutConflict as exc:
        return _refused(request, contact, error=str(exc), which="start", status=409)
    except services.ReachOutRejected as exc:
        return _refused(request, contact, error=str(exc), which="start", status=400)
    return _see_other("tickets:detail", ticket.pk)


def _new_page(request, *, error: str = "", status: int = 200):
    """Nova conversa's page: the number, an optional name, and the fields Novo atendimento has."""
    values = _form_values(request) if request.method == "POST" else {}
    reach = reach_out.reach_out_blank(request.user, request.user.reseller_id)
    params = list(values.get("params") or [])
    context = {
        "reach": reach,
        "values": values,
        "which": "new",
        "error": error,
        "slots": [(n, params[n - 1] if n <= len(params) else "") for n in range(1, reach.max_params + 1)],
    }
    return render(request, "tickets/new_conversation.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def conversation_new(request):
    """Nova conversa: the tenant's contact with the typed number (in any form), or a new one, and the
    conversation started as Novo atendimento starts it (the same service, the same answers)."""
    if request.method == "GET":
        return _new_page(request)
    try:
        ticket = services.conversation_start_number(
            user=request.user,
            number=request.POST.get("number", ""),
            name=request.POST.get("name", ""),
            connection=request.POST.get("connection", ""),
            department=request.POST.get("department", ""),
            text=request.POST.get("text", ""),
            template=request.POST.get("template", ""),
            params=request.POST.getlist("param"),
        )
    except services.AlreadyOpen as exc:
        if exc.ticket is not None and selectors.ticket_queryset_for(request.user).filter(pk=exc.ticket.pk).exists():
            return _see_other("tickets:detail", exc.ticket.pk)
        return _new_page(request, error=str(exc), status=409)
    except services.ReachOutConflict as exc:
        return _new_page(request, error=str(exc), status=409)
    except services.ReachOutRejected as exc:
        return _new_page(request, error=str(exc), status=400)
    return _see_other("tickets:detail", ticket.pk)


@require_POST
@login_required
def schedule_create(request, pk):
    contact = reach_out.contact_get_for(request.user, pk)
    try:
        services.schedule_create(
            user=request.user,
            client=contact,
            connection=request.POST.get("connection", ""),
            department=request.POST.get("department", ""),
            send_at=request.POST.get("send_at", ""),
            text=request.POST.get("text", ""),
            template=request.POST.get("template", ""),
            params=request.POST.getlist("param"),
            nonce=request.POST.get("nonce", ""),
        )
    except services.ReachOutRejected as exc:
        return _refused(request, contact, error=str(exc), which="schedule", status=400)
    return _see_other("scheduled_list")


def _list_page(request, *, error: str = "", status: int = 200):
    qs = reach_out.scheduled_queryset_for(request.user).select_related("client", "created_by", "template")
    page = Paginator(qs.order_by("-send_at", "-pk"), SCHEDULED_PAGE_SIZE).get_page(request.GET.get("page"))
    presenters.present_scheduled(page.object_list)
    # A supervisor sees the tenant's: each row says who scheduled it.
    context = {"page": page, "rows": page.object_list, "error": error, "show_author": is_supervisor(request.user)}
    return render(request, "tickets/scheduled_list.html", context, status=status)


@require_GET
@login_required
def scheduled_list(request):
    return _list_page(request)


@require_POST
@login_required
def schedule_cancel(request, pk):
    scheduled = reach_out.scheduled_get_for(request.user, pk)
    try:
        services.schedule_cancel(user=request.user, scheduled=scheduled)
    except services.ScheduleConflict as exc:
        return _list_page(request, error=str(exc), status=409)
    return _see_other("scheduled_list")
