"""/contatos/: the tenant's contacts. Thin views: read the request, call one service or selector, render.

Answers: 303 after a change; 400 with the page and every reason; 409 naming (and linking) the contact
that already has the number; 404 for another tenant's contact; 403 for an agent's export.
"""

from __future__ import annotations

import time
import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts import contacts as writers
from accounts.contact_import import (
    INLINE_SECONDS,
    TAG_SEPARATORS,
    ImportRejected,
    contact_import_claim,
    contact_import_enqueue,
    contact_import_run,
)
from accounts.models import ClientChange, ContactField, ContactImport, Reseller
from contacts import csvfile, exports, presenters, selectors
from iaze.lib import clock


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _detail_url(contact) -> str:
    return reverse("contacts:detail", args=[contact.pk])


def _tenant_id(request):
    """The tenant a new contact or an import goes to: the user's own; an installation admin picks one."""
    if request.user.reseller_id is not None:
        return request.user.reseller_id
    if not (request.user.is_admin and request.user.is_active):
        raise PermissionDenied(_("Usuário sem revenda."))
    try:
        pk = uuid.UUID(request.POST.get("reseller", ""))
    except ValueError:
        return None
    return Reseller.objects.filter(pk=pk).values_list("pk", flat=True).first()


def _posted(request, reseller_id):
    data = {k: request.POST[k] for k in writers.FORM_FIELDS if k in request.POST}
    fields = selectors.tenant_fields(reseller_id) if reseller_id else []
    custom = {cf.key: request.POST[f"cf_{cf.key}"] for cf in fields if f"cf_{cf.key}" in request.POST}
    tag_ids = None
    if "tags_present" in request.POST:
        tag_ids = []
        for raw in request.POST.getlist("tags"):
            try:
                tag_ids.append(uuid.UUID(raw))
            except ValueError:
                continue
    return data, custom, tag_ids


def _conflict(request, exc: writers.ContactExists):
    return render(
        request,
        "contacts/conflict.html",
        {"existing": exc.contact, "existing_number": presenters.number(exc.contact)},
        status=409,
    )


# --- the list ---------------------------------------------------------------------------------------


@require_GET
@login_required
def contact_list(request):
    q = request.GET.get("q", "")[:200]
    page = selectors.contact_list_for(request.user, q=q, cursor=request.GET.get("cursor", ""))
    return render(
        request,
        "contacts/list.html",
        {
            "q": q,
            "rows": presenters.rows(page.items),
            "next_cursor": page.next_cursor,
            "may_export": selectors.may_export(request.user),
        },
    )


# --- adding one ------------------------------------------------------------------------------------


def _new_page(request, *, errors=None, status=200):
    reseller_id = request.user.reseller_id
    fields = selectors.tenant_fields(reseller_id) if reseller_id else []
    tags = selectors.tenant_tags(reseller_id) if reseller_id else []
    posted = request.POST if request.method == "POST" else None
    chosen = set(request.POST.getlist("tags")) if posted is not None else set()
    context = {
        "errors": errors or {},
        "posted": posted or {},
        "fields": presenters.fields(None, fields, posted=posted, errors=errors),
        "tags": [presenters.TagChoice(tag=t, on=str(t.pk) in chosen) for t in tags],
        "tenants": selectors.tenant_choices(request.user),
    }
    return render(request, "contacts/new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def contact_new(request):
    if request.method == "GET":
        return _new_page(request)
    reseller_id = _tenant_id(request)
    if reseller_id is None:
        return _new_page(request, errors={"reseller": _("Escolha a revenda do contato.")}, status=400)
    data, custom, tag_ids = _posted(request, reseller_id)
    try:
        contact = writers.contact_create(
            reseller_id=reseller_id, by=request.user, data=data, custom=custom, tag_ids=tag_ids or ()
        )
    except writers.ContactRejected as exc:
        return _new_page(request, errors=exc.errors, status=400)
    except writers.ContactExists as exc:
        return _conflict(request, exc)
    return _see_other(_detail_url(contact))


# --- one contact -----------------------------------------------------------------------------------


def _detail_page(request, contact, *, errors=None, status=200):
    fields = selectors.tenant_fields(contact.reseller_id)
    all_fields = list(ContactField.objects.filter(reseller_id=contact.reseller_id))
    tags = selectors.contact_tags(contact)
    posted = request.POST if request.method == "POST" and errors else None
    context = {
        "contact": contact,
        "number": presenters.number(contact),
        "number_input": presenters.number_input(contact),
        "document": presenters.document(contact.document),
        "fields": presenters.fields(contact, fields, posted=posted, errors=errors),
        "tags": tags,
        "tag_choices": presenters.tag_choices(selectors.tenant_tags(contact.reseller_id), tags),
        "tickets": selectors.contact_tickets_for(request.user, contact),
        "history": presenters.history(selectors.contact_history(contact), all_fields),
        "errors": errors or {},
        "posted": posted or {},
    }
    return render(request, "contacts/detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def contact_detail(request, pk):
    contact = selectors.contact_get_for(request.user, pk)
    if request.method == "GET":
        return _detail_page(request, contact)
    data, custom, tag_ids = _posted(request, contact.reseller_id)
    try:
        writers.contact_edit(
            client=contact, by=request.user, data=data, custom=custom, tag_ids=tag_ids, source=ClientChange.Source.PAGE
        )
    except writers.ContactRejected as exc:
        return _detail_page(request, contact, errors=exc.errors, status=400)
    except writers.ContactExists as exc:
        return _conflict(request, exc)
    except writers.ContactConflict:
        return _detail_page(
            request,
            contact,
            errors={
                "form": _("O contato foi alterado por outra pessoa enquanto você editava. Confira e salve de novo.")
            },
            status=409,
        )
    return _see_other(_detail_url(contact))


# --- import and export -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def contact_import(request):
    """The file is checked whole before anything is written (400 with the reason for a file that cannot be
    imported); its lines are then written here until INLINE_SECONDS have passed since the request began:
    200 with the summary when that was enough, else 303 to the import's page, which the worker fills."""
    started = time.monotonic()
    context = {"tenants": selectors.tenant_choices(request.user), "separators": TAG_SEPARATORS}
    if request.method == "GET":
        return render(request, "contacts/import.html", context)
    reseller_id = _tenant_id(request)
    upload = request.FILES.get("file")
    error = ""
    if reseller_id is None:
        error = _("Escolha a revenda dos contatos.")
    elif upload is None:
        error = _("Escolha um arquivo CSV.")
    else:
        try:
            header, rows = csvfile.read(upload.read(csvfile.MAX_BYTES + 1))
            job = contact_import_enqueue(
                reseller_id=reseller_id, by=request.user, header=header, rows=rows, file_name=upload.name or ""
            )
        except ImportRejected as exc:
            error = exc.reason
    if error:
        return render(request, "contacts/import.html", {**context, "error": error}, status=400)
    lease = contact_import_claim(job.pk)
    if lease is not None:
        # The request's seconds in all, reading and checking the file included (gunicorn's timeout is 30 s).
        job = contact_import_run(job.pk, lease, budget=max(0.0, INLINE_SECONDS - (time.monotonic() - started)))
    if job.state != ContactImport.State.DONE:
        return _see_other(reverse("contacts:import_result", args=[job.pk]))
    return render(request, "contacts/import.html", {**context, "summary": job})


@require_GET
@login_required
def contact_import_result(request, pk):
    job = selectors.import_get_for(request.user, pk)
    return render(request, "contacts/import_result.html", {"summary": job})


@require_GET
@login_required
def contact_export(request):
    if not selectors.may_export(request.user):
        raise PermissionDenied(_("A exportação de contatos é para a revenda e os administradores."))
    header, rows = exports.contact_rows(request.user)
    response = StreamingHttpResponse(csvfile.lines(header, rows), content_type="text/csv; charset=utf-8")
    stamp = clock.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="contatos-{stamp}.csv"'
    return response
