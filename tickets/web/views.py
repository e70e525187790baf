"""The agent workspace: queue, conversation, the three actions, and a media download fetched again.

Views stay thin: they read the request, fetch through the selectors (which already
decide visibility, so a foreign ticket is a 404), call one service and answer.
"""

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import presence
from accounts.services import USER_PREFERENCES, user_preferences_set
from accounts.tokens import login_or_token_required
from iaze.lib import clock
from providers import capabilities
from tickets import services
from tickets.media.serving import media_response
from tickets.models import UIState
from tickets.reads import conversation, inbox, presenters, selectors
from tickets.reads import tags as tagging
from tickets.rules import permissions
from tickets.web.forms import QueueFilterForm, ReplyForm


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


def _queue_state(request, form, *, stamp_only: bool = False, known=None):
    """What the queue shows for these parameters (counts, page, the others' list, unread) and its stamp.

    `known`: (filters, counts, unread) the poll's fast path read in this request; the counts and read
    marks are reused when the filters are the same, and only the rows are read again, in full."""
    user = request.user
    visible = _visible(request)[1]
    state = form.value("status") or UIState.ESPERA
    filters = selectors.QueueFilters(
        department_id=form.value("department"),
        agent_id=form.value("agent"),
        q=form.value("q").strip(),
        tag_id=form.value("tag"),
    )
    reuse = known is not None and known[0] == filters
    if reuse:
        counts = known[1]
    else:  # the tabs' counts, and with a search text how many it finds in each tab
        counts = selectors.ticket_counts_for(user, filters=filters, base=visible)
        counts.update(selectors.ticket_search_counts_for(user, filters=filters, base=visible))
    holder = form.value("holder")
    page = selectors.ticket_list_for(
        user,
        state,
        filters=filters,
        cursor=form.value("cursor"),
        holder=holder if state == UIState.ATENDENDO else "",
        base=visible,
        stamp_only=stamp_only,
    )
    others = None
    # An agent's Atendendo also lists the department's other held tickets (first page only).
    if (
        state == UIState.ATENDENDO
        and not permissions.is_supervisor(user)
        and holder != "others"
        and not form.value("cursor")
    ):
        others = selectors.ticket_list_for(
            user, state, filters=filters, holder="others", base=visible, stamp_only=stamp_only
        )
    unread = known[2] if reuse else inbox.unread_for(user)
    version = selectors.queue_version(counts, page, others, extra=unread.stamp())
    return state, filters, holder, counts, page, others, unread, version


def _queue_unchanged(request) -> tuple[bool, tuple | None]:
    """The live refresh's common case, answered before anything is read to render: a poll without a
    department, agent or tag filter whose stamp still holds. The filter choices are not needed to read
    such parameters (a blank filter is valid for everyone), and the rows are read as stamps only.

    Returns (unchanged, what was read: filters, counts, unread) for the full path to reuse."""
    version = request.GET.get("v")
    if not (_is_htmx(request) and version) or any(request.GET.get(n) for n in ("department", "agent", "tag")):
        return False, None
    agents = [] if permissions.is_supervisor(request.user) else None
    quick = _queue_state(request, QueueFilterForm(request.GET, agents=agents), stamp_only=True)
    _state, filters, _holder, counts, _page, _others, unread, stamp = quick
    return stamp == version, (filters, counts, unread)


@require_GET
@login_required
def queue(request):
    presence.seen(request.user)  # every poll keeps the agent online (free within 10 s of the last write)
    unchanged, known = _queue_unchanged(request)
    if unchanged:
        return HttpResponse(status=204)  # unchanged: htmx keeps what it shows, nothing is rendered
    user = request.user
    _visible(request)
    departments, agents = selectors.queue_filter_choices(user, own_departments=request._iaze_departments)
    tags = tagging.tags_for(user)
    form = QueueFilterForm(request.GET, departments=departments, agents=agents, tags=tags)
    state, filters, holder, counts, page, others, unread, version = _queue_state(request, form, known=known)
    supervisor = permissions.is_supervisor(user)
    if _is_htmx(request) and request.GET.get("v") == version:
        return HttpResponse(status=204)  # unchanged (a filtered poll): nothing is rendered
    inbox.unread_count(unread)
    presenters.present_rows(page, others, now=clock.now(), thresholds=inbox.wait_thresholds(user), unread=unread.counts)
    title_count = unread.total + min(counts[UIState.ESPERA], selectors.COUNT_CAP)
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
            (
                value,
                label,
                selectors.count_label(counts[value]),
                counts[value] > selectors.COUNT_CAP,
                unread.total if value == UIState.ATENDENDO else 0,
                _found(counts, value),
            )
            for value, label in UIState.choices
        ],
        "found_elsewhere": [
            (value, label, _found(counts, value))
            for value, label in UIState.choices
            if value != state and counts.get(selectors.FOUND_PREFIX + value)
        ],
        "title_count": title_count,
        "alerts": _alert_feed(request, state, page, form, unread),
        "count_cap": selectors.COUNT_CAP,
        "query": _query(request, drop=("v", "cursor")),
        "tab_query": _query(request, drop=("v", "cursor", "status", "holder")),
    }
    template = "tickets/_queue_live.html" if _is_htmx(request) else "tickets/queue.html"
    return render(request, template, context)


def _found(counts: dict, state: str) -> str | None:
    """The tab's count of tickets the search text finds ("1000+" when capped); None without a search."""
    found = counts.get(selectors.FOUND_PREFIX + state)
    return None if found is None else selectors.count_label(found)


def _alert_feed(request, state, page, form, unread) -> list[dict]:
    """The newest Espera tickets and the held tickets with unread messages, for the alert script."""
    if state == UIState.ESPERA and not form.value("cursor") and not form.value("q"):
        espera = page.items[: inbox.ESPERA_ALERTS]  # already read for the list
    else:
        espera = selectors.ticket_list_for(
            request.user, UIState.ESPERA, limit=inbox.ESPERA_ALERTS, base=_visible(request)[1]
        ).items
    return inbox.alert_feed(unread, espera)


def _tools_context(request, ticket, *, dept_ids, messages_page, reply_form) -> dict:
    """The conversation tools' part of the page (transfer targets, quick replies, window, templates, the
    quote and reaction controls). The quote being written comes from the posted form, or from the page's
    `?reply_to=` (the quote control without JavaScript)."""
    conversation.attach_client_actions(ticket, messages_page)
    conversation.attach_message_tools(request.user, ticket, messages_page)
    presenters.present_notes(messages_page)
    reply_to = reply_form.data.get("reply_to", "") if reply_form.is_bound else request.GET.get("reply_to", "")
    context = conversation.tools_context(
        request.user, ticket, dept_ids=dept_ids, quick=request.GET.get("resposta", ""), reply_to=reply_to
    )
    if not reply_form.is_bound and context["quoting"] is not None:
        reply_form.initial["reply_to"] = str(context["quoting"].pk)
    return context


def _detail_context(request, ticket, *, reply_form=None, before="", messages_page=None):
    user = request.user
    if messages_page is None:
        messages_page = selectors.ticket_messages_for(ticket, before=before)
    presenters.present_messages(messages_page)
    dept_ids = _visible(request)[0]
    state = ticket.ui_state
    reply_form = reply_form or ReplyForm()
    return {
        "ticket": ticket,
        "state": state,
        "before": before,
        "messages_page": messages_page,
        "history": selectors.ticket_history_for(user, ticket, dept_ids=dept_ids),
        "events": selectors.ticket_events_for(ticket),
        "version": selectors.ticket_thread_version(ticket, messages_page),
        "can_claim": state == UIState.ESPERA and permissions.may_claim(user, ticket, dept_ids=dept_ids),
        "can_close": state == UIState.ATENDENDO and permissions.may_close(user, ticket),
        "can_reply": state == UIState.ATENDENDO and permissions.may_reply(user, ticket),
        # The reply box's record button (static/js/voice.js): on connections that send voice notes.
        "can_record_voice": capabilities(ticket.connection).records_voice_notes,
        # The client panel: number, name (editable), tags of the ticket and of the client (tickets.reads.tags).
        "can_tag": permissions.may_tag(user, ticket, dept_ids=dept_ids),
        **tagging.client_panel(ticket),
        "reply_form": reply_form,
        # Transfer, notes, quick replies, templates, the 24-hour window, quotes, reactions (reads.conversation).
        **_tools_context(request, ticket, dept_ids=dept_ids, messages_page=messages_page, reply_form=reply_form),
    }


@require_GET
@login_required
def detail(request, pk):
    presence.seen(request.user)
    before = request.GET.get("before", "")
    pane = _is_htmx(request) and request.headers.get("HX-Target") == "conversation-pane"
    v = request.GET.get("v") if _is_htmx(request) and not before and not pane else None
    if v and v == selectors.ticket_thread_version_of(pk, base=_visible(request)[1]):
        return HttpResponse(status=204)  # from the stamp's columns alone: nothing is loaded to render
    ticket = _get_ticket(request, pk)
    if pane:
        # The split inbox swaps only its right pane (static/js/inbox.js); the URL stays this page's.
        return render(request, "tickets/_conversation.html", _read(request, _detail_context(request, ticket)))
    if _is_htmx(request) and not before:
        context = _detail_context(request, ticket)
        return render(request, "tickets/_thread_live.html", _read(request, context))
    context = _detail_context(request, ticket, before=before)
    return render(request, "tickets/detail.html", _read(request, context) if not before else context)


def _read(request, context: dict) -> dict:
    """The holder has now seen the latest page of the thread: its unread count clears."""
    services.ticket_read_mark(
        ticket=context["ticket"],
        agent=request.user,
        upto=services.newest_inbound_at(context["messages_page"].items),
    )
    return context


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


def _row_notice(request, ticket, holder, reason: str, *, status: int) -> HttpResponse:
    """A refused Assumir from a row, shown in the list's notice area (static/js/inbox.js swaps it in)."""
    response = render(
        request, "tickets/_claim_conflict.html", {"ticket": ticket, "holder": holder, "reason": reason}, status=status
    )
    response["HX-Retarget"] = "#queue-notice"
    response["HX-Reswap"] = "innerHTML"
    return response


@require_POST
@login_required
def claim(request, pk):
    if not _is_htmx(request):
        return _transition(request, pk, lambda ticket: services.ticket_claim(ticket=ticket, agent=request.user))
    # Assumir from a row of the list: the agent stays on the list. A won claim tells the page's script
    # to open the conversation; a lost one names the holder in the list's notice area.
    try:
        ticket = _get_ticket(request, pk)
    except Http404:
        # Transferred to another department, or the agent moved out of it, since the list was drawn.
        return _row_notice(request, None, None, _("Este atendimento não está mais na sua fila."), status=404)
    try:
        services.ticket_claim(ticket=ticket, agent=request.user)
    except services.TicketConflict as exc:
        return _row_notice(request, exc.ticket, exc.holder, str(exc), status=409)
    except services.NotAllowed as exc:
        # Moved out of the ticket's department since the list was drawn: say so where the list shows notices.
        return _row_notice(request, ticket, None, str(exc), status=403)
    response = HttpResponse(status=200)
    response["HX-Reswap"] = "none"
    url = reverse("tickets:detail", args=[ticket.pk])
    response["HX-Trigger"] = json.dumps({"iaze-claimed": {"url": url, "ticket": str(ticket.pk)}})
    return response


@require_POST
@login_required
def preferences(request):
    """The user's own inbox preferences (alert sound, Enter sends); htmx gets the toggle back."""
    changes = {name: request.POST[name] in ("1", "on", "true") for name in USER_PREFERENCES if name in request.POST}
    user_preferences_set(user=request.user, **changes)
    if _is_htmx(request):
        return render(request, "tickets/_inbox_prefs.html", {})
    response = redirect("tickets:queue")
    response.status_code = 303
    return response


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
        field = "voice" if form.cleaned_data.get("voice") else "file" if upload else "text"
        try:
            _reply_send(request, ticket, form.cleaned_data)
        except services.QuoteRejected as exc:
            form.add_error(None, str(exc))
        except services.ReplyRejected as exc:
            form.add_error(field, str(exc))
        except services.TicketConflict as exc:
            form.add_error(None, str(exc))
            status = 409
        else:
            if not _is_htmx(request):
                return _see_other(ticket)
            form = None  # a fresh form, with a fresh nonce, for the next reply
            status = 200
    ticket = _get_ticket(request, pk)
    context = _read(request, _detail_context(request, ticket, reply_form=form))
    if _is_htmx(request):
        return render(request, "tickets/_reply_swap.html", context, status=status)
    return render(request, "tickets/detail.html", context, status=status)


def _reply_send(request, ticket, data) -> None:
    """One reply: a text; a file with the text as its caption; several files, each with its own `caption`
    (in order; the text captions the first when its own is empty); or a quick reply's file."""
    common = {"ticket": ticket, "agent": request.user, "nonce": data["nonce"], "reply_to": data["reply_to"]}
    files, text = data["file"], data["text"]
    if data.get("voice"):
        if files or text.strip() or data["quick_reply"]:  # never one of them dropped silently
            raise services.ReplyRejected(_("A mensagem de voz vai sozinha: envie o texto e os arquivos em seguida."))
        services.ticket_voice_note_send(upload=data["voice"], **common)
        return
    if data["quick_reply"]:
        if files:  # never one of them dropped silently
            raise services.ReplyRejected(
                _("A resposta rápida já leva um arquivo: envie-a sozinha e os outros arquivos em seguida.")
            )
        services.ticket_quick_reply_send(quick_reply=data["quick_reply"], text=text, **common)
        return
    captions = request.POST.getlist("caption")
    if len(files) <= 1 and not any(c.strip() for c in captions):
        services.ticket_reply(text=text, upload=files[0] if files else None, **common)
        return
    captions = (captions + [""] * len(files))[: len(files)]
    if text.strip():
        if captions[0].strip():  # nothing typed is ever dropped silently
            raise services.ReplyRejected(_("Com vários arquivos, escreva o texto na legenda de um deles."))
        captions[0] = text
    services.ticket_reply_files(files=list(zip(files, captions, strict=True)), **common)


@require_GET
@login_or_token_required
def media_file(request, pk, message_pk):
    """A stored file of the conversation: only through a ticket the user may see (else 404). An API token
    (`Authorization: Bearer`) opens it too, as its user: the API's messages link their files here."""
    ticket = _get_ticket(request, pk)
    message = selectors.message_with_file_for(ticket, message_pk)
    variant = "thumb" if request.GET.get("v") == "thumb" else ""
    return media_response(request, message, variant=variant)


@require_POST
@login_required
def media_retry(request, pk, message_pk):
    """Tentar de novo on a media message whose download failed: anyone who can see the ticket (else 404).

    One service call re-queues the failed job (a second click changes nothing); the worker fetches it.
    htmx gets the thread back, like the live refresh; a plain form goes back to the conversation."""
    ticket = _get_ticket(request, pk)
    message = selectors.media_message_for(ticket, message_pk)
    services.ticket_media_retry(ticket=ticket, message=message, by=request.user)
    if _is_htmx(request):
        return render(request, "tickets/_thread_live.html", _read(request, _detail_context(request, ticket)))
    return _see_other(ticket)


def _see_other(ticket):
    response = redirect("tickets:detail", pk=ticket.pk)
    response.status_code = 303
    return response
