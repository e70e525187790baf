"""Create a first superuser when there is none, printing its password once (used by `make run`)."""

import secrets

from django.core.management.base import BaseCommand
from django.db.models import Q

from accounts.models import User


class Command(BaseCommand):
    help = "Create a superuser if none exists and print its e-mail and generated password once."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@iaze.local")

    def handle(self, *args, email, **opts):
        if User.objects.filter(Q(is_superuser=True)).exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(email=email, password=password, name="Administrador")
        self.stdout.write(
            self.style.SUCCESS(f"Superuser created — e-mail: {email}  password: {password}  (shown only this once)")
        )
