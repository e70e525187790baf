"""Stamp the reports' local day and hour of the week on the tickets written before 0008.

Additive only: fills the empty new columns, each row by one conditional update (still empty), so a
rerun or a ticket stamped meanwhile by the services is left as it is. Reverse: nothing to undo.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import migrations

DEFAULT_TIMEZONE = "America/Sao_Paulo"


def _zone(name):
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def _pages(qs):
    """Rows in pages of 2,000 by primary key (keyset), never a cursor held open across the updates."""
    after = None
    while True:
        page = list((qs if after is None else qs.filter(pk__gt=after)).order_by("pk")[:2000])
        if not page:
            return
        yield page
        after = page[-1].pk


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    ResellerConfig = apps.get_model("accounts", "ResellerConfig")
    zones = {r: _zone(name) for r, name in ResellerConfig.objects.values_list("reseller_id", "timezone")}
    default = _zone(None)
    opened = Ticket.objects.filter(opened_local_date__isnull=True).only("id", "reseller_id", "created_at")
    for page in _pages(opened):
        for ticket in page:
            local = ticket.created_at.astimezone(zones.get(ticket.reseller_id, default))
            Ticket.objects.filter(pk=ticket.pk, opened_local_date__isnull=True).update(
                opened_local_date=local.date(), opened_local_how=(local.isoweekday() - 1) * 24 + local.hour
            )
    closed = Ticket.objects.filter(closed_local_date__isnull=True, closed_at__isnull=False)
    for page in _pages(closed.only("id", "reseller_id", "closed_at")):
        for ticket in page:
            local = ticket.closed_at.astimezone(zones.get(ticket.reseller_id, default))
            Ticket.objects.filter(pk=ticket.pk, closed_local_date__isnull=True).update(closed_local_date=local.date())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_resellerconfig_satisfaction"),
        ("tickets", "0008_report_local_days"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
