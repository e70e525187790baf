"""Idempotent demo tenant (README "Quick start"): run it as often as you like."""

import secrets

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Department, Reseller, ResellerConfig, User
from ops import demo_conversations
from tickets.models import MessageTemplate, QuickReply
from whatsapp.models import Connection

USERS = [
    ("admin@demo.local", "Admin Demo", User.Role.ADMIN, []),
    ("revenda@demo.local", "Revenda Demo", User.Role.RESELLER, []),
    ("agente1@demo.local", "Agente 1", User.Role.AGENT, ["Suporte"]),
    ("agente2@demo.local", "Agente 2", User.Role.AGENT, ["Suporte"]),
    ("agente3@demo.local", "Agente 3", User.Role.AGENT, ["Financeiro"]),
]
MENU_INTRO = "Olá! Para agilizar seu atendimento, responda com o número do setor:"


class Command(BaseCommand):
    help = "Create (or update) the demo tenant: reseller, departments, users and two WhatsApp connections."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="password for every demo user (generated when absent)")
        parser.add_argument("--meta-app-secret")
        parser.add_argument("--meta-verify-token")
        parser.add_argument("--evolution-apikey")
        parser.add_argument("--api-base", help="base URL of both connections' outbound calls (a local fake)")
        parser.add_argument(
            "--department-menu",
            action="store_true",
            help="turn the department menu on for both demo connections: 1 = Suporte, 2 = Financeiro",
        )
        parser.add_argument(
            "--conversations",
            action="store_true",
            help="add the past days' conversations (media, tags, notes, transfers, ratings) and a few open now; "
            "run again, it adds nothing",
        )
        parser.add_argument("--days", type=int, default=7, help="days of conversations (default 7)")
        parser.add_argument("--seed", type=int, default=2026, help="seed of the made-up week (default 2026)")

    def handle(self, *args, **opts):
        if opts["conversations"] and not 1 <= opts["days"] <= 60:
            raise CommandError("--days must be between 1 and 60")
        reseller, _ = Reseller.objects.get_or_create(slug="demo", defaults={"name": "Revenda Demo"})
        ResellerConfig.objects.get_or_create(reseller=reseller, defaults={"display_name": "Revenda Demo"})
        depts = {
            name: Department.objects.get_or_create(reseller=reseller, name=name)[0]
            for name in ("Suporte", "Financeiro")
        }
        self.stdout.write(f"reseller: demo ({reseller.pk}); departments: Suporte, Financeiro")

        password = opts["password"]
        generated = None
        for email, name, role, dept_names in USERS:
            user = User.objects.filter(email=email).first()
            created = user is None
            if created:
                user = User(email=email)
            user.name, user.role, user.reseller, user.is_active = name, role, reseller, True
            user.is_staff = role in (User.Role.ADMIN, User.Role.RESELLER)
            user.is_superuser = role == User.Role.ADMIN
            if password:
                user.set_password(password)
            elif created:
                generated = generated or secrets.token_urlsafe(9)
                user.set_password(generated)
            user.save()
            user.departments.set([depts[d] for d in dept_names])
            self.stdout.write(f"user: {email} ({name}, {role}){' created' if created else ''}")
        if password:
            self.stdout.write(f"password of every demo user: {password}")
        elif generated:
            self.stdout.write(f"password of the new demo users: {generated}")

        meta = self._connection(
            "demo-meta",
            reseller,
            depts["Suporte"],
            provider=Connection.Provider.META,
            name="Demo Meta",
            phone_number_id="100000000000001",
            business_account_id="100000000000002",
            display_phone="+55 11 90000-0001",
            app_secret=opts["meta_app_secret"],
            verify_token=opts["meta_verify_token"],
            access_token=None,
            api_base=opts["api_base"],
        )
        evo = self._connection(
            "demo-evolution",
            reseller,
            depts["Suporte"],
            provider=Connection.Provider.EVOLUTION,
            name="Demo Evolution",
            instance_name="demo",
            display_phone="+55 11 90000-0002",
            api_key=opts["evolution_apikey"],
            api_base=opts["api_base"],
        )
        if opts["department_menu"]:
            for c in (meta, evo):
                c.menu_enabled = True
                c.menu_intro = c.menu_intro or MENU_INTRO
                c.menu_department_ids = [str(depts["Suporte"].pk), str(depts["Financeiro"].pk)]
                c.save(update_fields=["menu_enabled", "menu_intro", "menu_department_ids", "updated_at"])
            self.stdout.write("department menu: on for demo-meta and demo-evolution (1 = Suporte, 2 = Financeiro)")
        for c in (meta, evo):
            self.stdout.write(
                f"connection: {c.key} ({c.provider}) webhook /whatsapp/webhook/{c.key}/ api_base={c.api_base_url}"
            )
        MessageTemplate.objects.update_or_create(
            connection=meta,
            name="retomar_atendimento",
            language="pt_BR",
            defaults={
                "category": "UTILITY",
                "body": "Olá {{1}}, podemos continuar seu atendimento?",
                "status": MessageTemplate.Status.APPROVED,
            },
        )
        QuickReply.objects.update_or_create(
            reseller=reseller,
            department=None,
            shortcut="/ola",
            defaults={"text": "Olá {{nome}}, sou {{agente}}. Como posso ajudar?", "active": True},
        )
        self.stdout.write("template: retomar_atendimento (pt_BR) on demo-meta; quick reply: /ola")
        self.stdout.write(f"  demo-meta app secret: {meta.app_secret}")
        self.stdout.write(f"  demo-meta verify token: {meta.verify_token}")
        self.stdout.write(f"  demo-meta access token: {meta.access_token}")
        self.stdout.write(f"  demo-evolution apikey: {evo.api_key}")
        if opts["conversations"]:
            made = demo_conversations.seed_conversations(reseller=reseller, days=opts["days"], seed=opts["seed"])
            self.stdout.write(
                f"conversations: {made['conversations']} added ({made['closed']} closed, {made['ratings']} rated, "
                f"{made['atendendo']} in Atendendo, {made['espera']} in Espera), {made['skipped']} already there"
            )

    def _connection(self, key, reseller, dept, *, provider, api_base, **fields):
        conn = Connection.objects.filter(key=key).first() or Connection(key=key)
        if not conn._state.adding and conn.reseller_id != reseller.pk:
            # Another tenant's connection that happens to use the demo's key: never moved or rewritten.
            raise CommandError(
                f"the connection keyed {key!r} belongs to another reseller; the demo tenant will not take it over"
            )
        conn.reseller, conn.provider, conn.default_department, conn.active = reseller, provider, dept, True
        for secret in ("app_secret", "verify_token", "access_token", "api_key"):
            if secret in fields:
                value = fields.pop(secret)
                if value:
                    setattr(conn, secret, value)
                elif not getattr(conn, secret):
                    setattr(conn, secret, secrets.token_hex(16))
        for name, value in fields.items():
            setattr(conn, name, value)
        if api_base:
            conn.api_base_url = api_base
        conn.save()
        return conn
