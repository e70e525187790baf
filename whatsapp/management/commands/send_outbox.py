"""`send_outbox [--loop]`: the contract's name of the background worker (`manage.py worker`), the same command."""

from whatsapp.management.commands.worker import Command as Worker


class Command(Worker):
    label = "send_outbox"
