"""/painel/: the supervisor's panel (tickets.reads.panel), for the reseller and admins; agents get 403.

The page refreshes its live part from the event stream, or by polling (htmx, every PANEL_REFRESH_S)
without it; `?tv=1` is the same page for a wall screen (no navigation, large type); `?format=json` the
same figures for a script. An installation admin (no tenant) picks the tenant with `?revenda=<uuid>` (the
first one by name otherwise).
"""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts import presence
from iaze.lib import clock
from tickets.reads import panel as panel_reads
from tickets.rules import permissions

PANEL_REFRESH_S = 5
# While the live stream is open (static/js/live.js): a refresh at most every PANEL_GAP_S whatever the events'
# rate, and one timed poll every PANEL_TICK_S for what moves without a ticket event (waits, presence: an
# agent is offline at most 60 s after their last page, so 30 s keeps the panel within that).
PANEL_GAP_S = 2
PANEL_TICK_S = 30


def _duration(seconds: int | None) -> str:
    """A wait as a wall screen shows it: "—", "< 1 min", "7 min", "1 h 05"."""
    if seconds is None:
        return "—"
    minutes = seconds // 60
    if minutes < 1:
        return _("< 1 min")
    if minutes < 60:
        return _("%(m)d min") % {"m": minutes}
    return _("%(h)d h %(m)02d") % {"h": minutes // 60, "m": minutes % 60}


def _chosen(request, tenants):
    wanted = request.GET.get("revenda", "")
    try:
        wanted_id = uuid.UUID(wanted) if wanted else None
    except ValueError:
        wanted_id = None
    return next((t for t in tenants if t.pk == wanted_id), tenants[0] if tenants else None)


@require_GET
@login_required
def panel(request):
    user = request.user
    if not permissions.is_supervisor(user):
        raise PermissionDenied(_("O painel é para a revenda e os administradores."))
    presence.seen(user)
    tenants = panel_reads.tenants_for(user)
    reseller = _chosen(request, tenants)
    now = clock.now()
    built = panel_reads.panel_build(reseller, now=now) if reseller is not None else None
    if request.GET.get("format") == "json":
        if built is None:
            return JsonResponse({"agents": [], "departments": []})
        return JsonResponse(built.as_json())
    if built is not None:
        for row in built.agents:
            row.oldest_text = _duration(row.oldest_unanswered_s)  # type: ignore[attr-defined]
        for dept in built.departments:
            dept.oldest_text = _duration(dept.oldest_wait_s)  # type: ignore[attr-defined]
    tv = request.GET.get("tv") == "1"
    params = request.GET.copy()
    params.pop("format", None)
    context = {
        "panel": built,
        "tenants": tenants if user.reseller_id is None else [],
        "reseller": reseller,
        "tv": tv,
        "query": params.urlencode(),
        "refresh_s": PANEL_REFRESH_S,
        "gap_s": PANEL_GAP_S,
        "tick_s": PANEL_TICK_S,
        "updated_at": timezone.localtime(now),
    }
    live = request.headers.get("HX-Request") == "true"
    return render(request, "tickets/_panel_live.html" if live else "tickets/panel.html", context)
