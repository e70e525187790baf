"""manage.py export_client_data: one client's data as a ZIP (LGPD; reports.lgpd says what it holds). Changes nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from accounts.models import Client, User
from reports import lgpd


class Command(BaseCommand):
    help = (
        "Export a client's profile, tickets, messages, events and files as a ZIP with client.json (LGPD); "
        "the team's internal notes are left out."
    )

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's id, or phone / WhatsApp id / identity")
        parser.add_argument("--reseller", help="the tenant's slug (needed when a phone is known to several)")
        parser.add_argument("--out", help="the ZIP to write (default: a dated name in the current directory)")
        parser.add_argument("--by", help="e-mail of the user who asked for it (recorded in the events)")

    def handle(self, *args, client, reseller=None, out=None, by=None, **options):
        clients = Client.objects.all()
        if reseller:
            clients = clients.filter(reseller__slug=reseller)
        matches = list(clients.filter(Q(identity=client) | Q(phone=client) | Q(wa_id=client))[:2])
        if not matches:
            try:
                matches = list(clients.filter(pk=client)[:1])
            except Exception:  # noqa: BLE001 - not an id either
                matches = []
        if not matches:
            raise CommandError(f"no client matches {client!r}")
        if len(matches) > 1:
            raise CommandError(f"{client!r} matches clients of several resellers: add --reseller <slug>")
        user = None
        if by:
            user = User.objects.filter(email__iexact=by).first()
            if user is None:
                raise CommandError(f"no user with e-mail {by!r}")
        target = matches[0]
        path = Path(out or lgpd.export_name(target))
        if path.exists():
            raise CommandError(f"{path} exists; nothing is overwritten")
        with path.open("xb") as fh:
            counts = lgpd.client_export(client=target, out=fh, by=user)
        self.stdout.write(
            f"{path}: {counts['tickets']} tickets, {counts['messages']} messages, "
            f"{counts['events']} events, {counts['files']} files"
        )
