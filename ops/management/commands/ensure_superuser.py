"""Create a first superuser when there is none, showing its password once.

`make run` passes --print: it is the newcomer's terminal command, and the contract promises the
password there. Otherwise it is printed only on a terminal: anywhere else (a container, a service
manager) standard output ends up in logs that outlive the moment, so the password goes to a file
only its owner can read, under DATA_DIR, and only that file's path is printed.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q

from accounts.models import User

PASSWORD_FILE = "initial_superuser_password"


class Command(BaseCommand):
    help = (
        "Create a superuser if none exists and show its e-mail and generated password once "
        "(printed on a terminal; otherwise written to a 0600 file under DATA_DIR)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@iaze.local")
        parser.add_argument(
            "--print", action="store_true", dest="print_password", help="print the password even when not on a terminal"
        )

    def handle(self, *args, email, print_password=False, **opts):
        if User.objects.filter(Q(is_superuser=True)).exists():
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(email=email, password=password, name="Administrador")
        if print_password or self.stdout.isatty():
            self.stdout.write(
                self.style.SUCCESS(f"Superuser created — e-mail: {email}  password: {password}  (shown only this once)")
            )
            return
        path = Path(settings.DATA_DIR) / PASSWORD_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{email}\n{password}\n")
        os.chmod(path, 0o600)
        self.stdout.write(
            f"Superuser created — e-mail: {email}; its password is in {path} (readable by this user only: "
            "read it, then delete the file)"
        )
