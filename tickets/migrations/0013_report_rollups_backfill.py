"""Count the tickets written before 0012 into the report's per-day rollups (tickets.services.rollups_rebuild).

Additive: sets the rows to the recount and each ticket's rolled_* copies to its fields; rows are never
deleted. A rerun recounts the same. Reverse: nothing to undo (the rows are derived data).
"""

from django.db import migrations


def backfill(apps, schema_editor):
    from tickets.services.rollups_rebuild import report_rollups_rebuild

    report_rollups_rebuild(
        ticket_model=apps.get_model("tickets", "Ticket"),
        rollup_model=apps.get_model("tickets", "ReportRollup"),
        config_model=apps.get_model("accounts", "ResellerConfig"),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_resellerconfig_satisfaction"),
        ("tickets", "0012_report_rollups"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
