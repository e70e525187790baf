"""Sync the message templates of the connections whose provider has them (Meta), every page of the listing."""

from django.core.management.base import BaseCommand, CommandError

from providers import SendError, capabilities, providers_with
from tickets.services import template_sync as message_templates
from whatsapp.models import Connection


class Command(BaseCommand):
    help = (
        "Read every page of the approved message templates of the active Meta connections (or of the one "
        "with --connection KEY) and print how many were added, changed, kept and marked inactive (gone at "
        "Meta; never deleted). Exits 1 with the reason when a provider could not be read: then nothing of "
        "that connection is marked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", metavar="KEY", help="only the Meta connection with this webhook key")

    def handle(self, *args, connection=None, **opts):
        if connection:
            found = Connection.objects.filter(key=connection).first()
            if found is None:
                raise CommandError(f"no connection with the key {connection!r}")
            if not capabilities(found).has_templates:
                raise CommandError(
                    f"the connection {connection!r} is not a Meta connection (only Meta lists message templates)"
                )
            connections = [found]
        else:
            connections = list(
                Connection.objects.filter(provider__in=providers_with("has_templates"), active=True).order_by("key")
            )
            if not connections:
                self.stdout.write("no active Meta connection: nothing to sync")
                return
        failures = []
        for conn in connections:
            try:
                counts = message_templates.template_sync_counts(conn)
            except SendError as exc:
                failures.append(f"{conn.key}: {exc.text} ({exc.code})")
                self.stderr.write(f"{conn.key}: templates not read: {exc.text} ({exc.code})")
                continue
            self.stdout.write(
                f"{conn.key}: added={counts.added} changed={counts.changed} kept={counts.kept} "
                f"inactive={counts.inactive}"
            )
        if failures:
            raise CommandError("could not read the templates of " + "; ".join(failures))
