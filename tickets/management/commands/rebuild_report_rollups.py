"""manage.py rebuild_report_rollups [--reseller <slug>]: recount the report's per-day rollups from the tickets."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Reseller
from tickets import services


class Command(BaseCommand):
    help = (
        "Recount the report's per-day rollups from the tickets (idempotent; rows are set, never deleted). "
        "Run it when nothing writes tickets: a ticket changed meanwhile may be miscounted until the next run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reseller", help="only this tenant (its slug); default: every tenant")

    def handle(self, *args, reseller=None, **options):
        reseller_id = None
        if reseller:
            found = Reseller.objects.filter(slug=reseller).values_list("pk", flat=True).first()
            if found is None:
                raise CommandError(f"no reseller with slug {reseller!r}")
            reseller_id = found
        done = services.report_rollups_rebuild(reseller_id=reseller_id)
        self.stdout.write(f"rollups rebuilt: {done['tickets']} tickets counted into {done['rows']} rows")
