"""Post a correctly authenticated inbound message to a running server, as the provider would."""

import requests
from django.core.management.base import BaseCommand, CommandError

from whatsapp import simulator
from whatsapp.models import Connection


class Command(BaseCommand):
    help = (
        "Send a simulated WhatsApp message to the running server's webhook "
        "(signed like Meta, or with the Evolution apikey)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--connection", default="demo-meta", help="connection key (default demo-meta)")
        parser.add_argument("--from", dest="sender", default="5511999990001", help="client's number (wa_id)")
        parser.add_argument("--name", default="Maria", help="client's WhatsApp profile name")
        parser.add_argument("--text", default="Olá", help="message text")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="base URL of the running server")

    def handle(self, *args, **opts):
        connection = Connection.objects.filter(key=opts["connection"]).first()
        if connection is None:
            raise CommandError(f"no connection with key {opts['connection']!r} (run seed_demo first)")
        body, headers = simulator.inbound_request(
            connection, sender=opts["sender"], name=opts["name"], text=opts["text"]
        )
        url = f"{opts['url'].rstrip('/')}/whatsapp/webhook/{connection.key}/"
        try:
            response = requests.post(url, data=body, headers=headers, timeout=30)
        except requests.RequestException as exc:
            raise CommandError(f"could not reach {url}: {exc}") from exc
        self.stdout.write(f"POST {url} -> {response.status_code} {response.text[:200]}")
        if response.status_code != 200:
            raise CommandError(f"the server answered {response.status_code}")
        self.stdout.write(f"message id: {simulator.last_id(body)}")
