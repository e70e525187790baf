"""The agent workspace: queue, conversation, and the three actions.

Views stay thin: they read the request, fetch through the selectors (which already
decide visibility, so a foreign ticket is a 404), call one service and answer.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from iaze.lib import clock

from . import conversation, permissions, presenters, selectors, services, tagging
from .forms import QueueFilterForm, ReplyForm
from .models import UIState
from .serving import media_response


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _visible(request):
    """The user's departments and visible tickets, read once per request and shared by every selector."""
    if not hasattr(request, "_iaze_visible"):
        # Supervisors see the whole tenant: their departments decide nothing, so they are not read.
        user = request.user
        request._iaze_departments = [] if permissions.is_supervisor(user) else selectors.user_departments(user)
        dept_ids = [d.pk for d in request._iaze_departments]
        request._iaze_visible = dept_ids, selectors.ticket_queryset_for(user, dept_ids=dept_ids)
    return request._iaze_visible


def _get_ticket(request, pk):
    return selectors.ticket_get_for(request.user, pk, base=_visible(request)[1])


def _query(request, *, drop) -> str:
    params = request.GET.copy()
    for name in drop:
        params.pop(name, None)
    return params.urlencode()


@require_GET
@login_required
def queue(request):
    user = request.user
    visible = _visible(request)[1]
    departments, agents = selectors.queue_filter_choices(user, own_departments=request._iaze_departments)
    tags = tagging.tags_for(user)
    form = QueueFilterForm(request.GET, departments=departments, agents=agents, tags=tags)
    state = form.value("status") or UIState.ESPERA
    filters = selectors.QueueFilters(
        department_id=form.value("department"),
        agent_id=form.value("agent"),
        q=form.value("q").strip(),
        tag_id=form.value("tag"),
    )
    counts = selectors.ticket_counts_for(user, filters=filters, base=visible)
    supervisor = permissions.is_supervisor(user)
    holder = form.value("holder")
    page = selectors.ticket_list_for(
        user,
        state,
        filters=filters,
        cursor=form.value("cursor"),
        holder=holder if state == UIState.ATENDENDO else "",
        base=visible,
    )
    others = None
    if state == UIState.ATENDENDO and not supervisor and holder != "others" and not form.value("cursor"):
        others = selectors.ticket_list_for(user, state, filters=filters, holder="others", base=visible)
    version = selectors.queue_version(counts, page, others)
    if _is_htmx(request) and request.GET.get("v") == version:
        return HttpResponse(status=204)  # unchanged: htmx keeps what it shows, nothing is rendered
    presenters.present_rows(page, others, now=clock.now())
    tagging.attach_row_tags([*page.items, *(others.items if others else ())], tags)
    context = {
        "form": form,
        "state": state,
        "version": version,
        "page": page,
        "others": others,
        "holder": holder,
        "supervisor": supervisor,
        "filters": filters,
        "polling": not form.value("cursor"),
        # A capped count reads "1000+" (see selectors.COUNT_CAP).
        "tabs": [
            (value, label, selectors.count_label(counts[value]), counts[value] > selectors.COUNT_CAP)
            for value, label in UIState.choices
        ],
        "count_cap": selectors.COUNT_CAP,
        "query": _query(request, drop=("v", "cursor")),
        "tab_query": _query(request, drop=("v", "cursor", "status", "holder")),
    }
    template = "tickets/_queue_live.html" if _is_htmx(request) else "tickets/queue.html"
    return render(request, template, context)


def _tools_context(request, ticket, *, dept_ids, messages_page) -> dict:
    """The conversation tools' part of the page (transfer targets, quick replies, window, templates)."""
    conversation.attach_client_actions(ticket, messages_page)
    presenters.present_notes(messages_page)
    return conversation.tools_context(request.user, ticket, dept_ids=dept_ids, quick=request.GET.get("resposta", ""))


def _detail_context(request, ticket, *, reply_form=None, before="", messages_page=None):
    user = request.user
    if messages_page is None:
        messages_page = selectors.ticket_messages_for(ticket, before=before)
    presenters.present_messages(messages_page)
    dept_ids, visible = _visible(request)
    state = ticket.ui_state
    return {
        "ticket": ticket,
        "state": state,
        "before": before,
        "messages_page": messages_page,
        "history": selectors.ticket_history_for(user, ticket, base=visible),
        "events": selectors.ticket_events_for(ticket),
        "version": selectors.ticket_thread_version(ticket, messages_page),
        "can_claim": state == UIState.ESPERA and permissions.may_claim(user, ticket, dept_ids=dept_ids),
        "can_close": state == UIState.ATENDENDO and permissions.may_close(user, ticket),
        "can_reply": state == UIState.ATENDENDO and permissions.may_reply(user, ticket),
        # The client panel: number, name (editable), tags of the ticket and of the client (tickets.tagging).
        "can_tag": permissions.may_tag(user, ticket, dept_ids=dept_ids),
        **tagging.client_panel(ticket),
        "reply_form": reply_form or ReplyForm(),
        # Transfer, notes, quick replies, templates and the 24-hour window (tickets.conversation).
        **_tools_context(request, ticket, dept_ids=dept_ids, messages_page=messages_page),
    }


@require_GET
@login_required
def detail(request, pk):
    ticket = _get_ticket(request, pk)
    before = request.GET.get("before", "")
    if _is_htmx(request) and not before:
        messages_page = selectors.ticket_messages_for(ticket)
        if request.GET.get("v") == selectors.ticket_thread_version(ticket, messages_page):
            return HttpResponse(status=204)
        return render(
            request, "tickets/_thread_live.html", _detail_context(request, ticket, messages_page=messages_page)
        )
    return render(request, "tickets/detail.html", _detail_context(request, ticket, before=before))


def _conflict(request, exc: services.TicketConflict):
    return render(
        request, "tickets/conflict.html", {"ticket": exc.ticket, "holder": exc.holder, "reason": str(exc)}, status=409
    )


def _transition(request, pk, change):
    """Assumir and Finalizar: one service call; a ticket that already moved answers 409 naming its holder
    (also on the holder's own double click, which changes nothing)."""
    ticket = _get_ticket(request, pk)
    try:
        change(ticket)
    except services.TicketConflict as exc:
        return _conflict(request, exc)
    return _see_other(ticket)


@require_POST
@login_required
def claim(request, pk):
    return _transition(request, pk, lambda ticket: services.ticket_claim(ticket=ticket, agent=request.user))


@require_POST
@login_required
def close(request, pk):
    return _transition(request, pk, lambda ticket: services.ticket_close(ticket=ticket, by=request.user))


@require_POST
@login_required
def reply(request, pk):
    ticket = _get_ticket(request, pk)
    form = ReplyForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        upload = form.cleaned_data.get("file")
        try:
            services.ticket_reply(
                ticket=ticket,
                agent=request.user,
                text=form.cleaned_data["text"],
                nonce=form.cleaned_data["nonce"],
                upload=upload or None,
            )
        except services.ReplyRejected as exc:
            form.add_error("file" if upload else "text", str(exc))
        except services.TicketConflict as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            if not _is_htmx(request):
                return _see_other(ticket)
            form = None  # a fresh form, with a fresh nonce, for the next reply
            status = 200
    ticket = _get_ticket(request, pk)
    context = _detail_context(request, ticket, reply_form=form)
    if _is_htmx(request):
        return render(request, "tickets/_reply_swap.html", context, status=status)
    return render(request, "tickets/detail.html", context, status=status)


@require_GET
@login_required
def media_file(request, pk, message_pk):
    """A stored file of the conversation: only through a ticket the user may see (else 404)."""
    ticket = _get_ticket(request, pk)
    message = selectors.message_with_file_for(ticket, message_pk)
    variant = "thumb" if request.GET.get("v") == "thumb" else ""
    return media_response(request, message, variant=variant)


def _see_other(ticket):
    response = redirect("tickets:detail", pk=ticket.pk)
    response.status_code = 303
    return response
