"""/relatorios/: the report page and its two CSV exports. Resellers and admins only (agents: 403).

A reseller user always sees their own tenant; an installation admin chooses one. Every figure is
computed for exactly one tenant (reports.figures), so another tenant's data never enters a total.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from iaze.lib import clock
from reports import exports, figures, presenters
from reports.forms import ReportFilterForm, may_see_reports


def _form(request) -> ReportFilterForm:
    if not may_see_reports(request.user):
        raise PermissionDenied(_("Os relatórios são para a revenda e os administradores."))
    return ReportFilterForm(request.GET, user=request.user, now=clock.now())


def _filename(scope: figures.Scope, what: str, excel: bool = False) -> str:
    days = f"{scope.first_day.isoformat()}-{scope.last_day.isoformat()}"
    return f"iaze-{what}-{scope.reseller.slug}-{days}{'-excel' if excel else ''}.csv"


def _excel(request) -> bool:
    """`?formato=excel`: the pt-BR spreadsheet flavour (reports.exports)."""
    return request.GET.get("formato") == "excel"


@require_GET
@login_required
def report(request):
    form = _form(request)
    scope = form.scope()
    context = {"form": form, "query": request.GET.urlencode()}
    if scope is not None:
        context.update(presenters.present(figures.build(scope)))
    return render(request, "reports/report.html", context)


def _csv_scope(request) -> tuple[figures.Scope | None, HttpResponse | None]:
    """The page drops an invalid filter and shows why; a CSV cannot show it, so it answers 400 instead of
    figures a script would take for filtered ones."""
    form = _form(request)
    scope = form.scope()
    if scope is None:
        return None, HttpResponse(status=404)
    if form.errors:
        why = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return None, HttpResponse(
            _("Filtro inválido: %(why)s") % {"why": why}, status=400, content_type="text/plain; charset=utf-8"
        )
    return scope, None


@require_GET
@login_required
def export_csv(request):
    scope, refused = _csv_scope(request)
    if scope is None:
        return refused
    excel = _excel(request)
    body = "".join(exports.csv_lines(exports.figure_rows(figures.build(scope)), excel=excel))
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(scope, "relatorio", excel)}"'
    return response


@require_GET
@login_required
def tickets_csv(request):
    scope, refused = _csv_scope(request)
    if scope is None:
        return refused
    excel = _excel(request)
    response = StreamingHttpResponse(
        exports.csv_lines(exports.ticket_rows(scope), excel=excel), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename(scope, "atendimentos", excel)}"'
    return response
