"""API tokens from the command line (docs/api.md).

    manage.py api_token create --user EMAIL [--name NAME]        a personal token of that user
    manage.py api_token create --integration SLUG [--name NAME]  an integration (bot) token of that tenant
    manage.py api_token list [--user EMAIL]                      tokens, never their secrets
    manage.py api_token revoke PREFIX                            revoke the token that starts so

`create` prints the new token as its last line: it is shown this once, and only its hash is kept.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts import tokens
from accounts.models import ApiToken, Reseller, User


class Command(BaseCommand):
    help = "Create, list or revoke API tokens (the secret is printed once, as the last line of create)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="a new token; its secret is the last line printed")
        owner = create.add_mutually_exclusive_group(required=True)
        owner.add_argument("--user", help="the e-mail of the user the token acts as")
        owner.add_argument("--integration", metavar="SLUG", help="an integration (bot) token of this reseller")
        create.add_argument("--name", default="", help="what the token is for")
        listing = sub.add_parser("list", help="tokens (never their secrets)")
        listing.add_argument("--user", help="only this user's")
        revoke = sub.add_parser("revoke", help="revoke a token")
        revoke.add_argument("prefix", help="the token's beginning, as list shows it (iaze_…)")

    def handle(self, *args, **options):
        return getattr(self, f"_{options['action']}")(options)

    def _create(self, options):
        name = options["name"]
        try:
            if options["user"]:
                user = User.objects.filter(email__iexact=options["user"].strip()).first()
                if user is None:
                    raise CommandError(f"no user with e-mail {options['user']!r}")
                token, secret = tokens.token_create(user=user, name=name or "CLI")
            else:
                reseller = Reseller.objects.filter(slug=options["integration"]).first()
                if reseller is None:
                    raise CommandError(f"no reseller with slug {options['integration']!r}")
                token, secret = tokens.integration_token_create(reseller=reseller, name=name or "Integração")
        except tokens.TokenRejected as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"token {token.prefix}… ({token.get_kind_display()}) for {token.user.email}: shown once")
        self.stdout.write(secret)

    def _list(self, options):
        qs = ApiToken.objects.select_related("user").order_by("-created_at")
        if options["user"]:
            qs = qs.filter(user__email__iexact=options["user"].strip())
        for token in qs:
            state = f"revoked {token.revoked_at:%Y-%m-%d %H:%M}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            self.stdout.write(
                f"{token.prefix}…  {token.kind:<11}  {token.user.email}  {token.name!r}  {state}  used {used}"
            )

    def _revoke(self, options):
        prefix = options["prefix"].rstrip("…").strip()
        found = list(ApiToken.objects.filter(prefix__startswith=prefix[: tokens.SHOWN])[:2]) if prefix else []
        found = [t for t in found if t.prefix.startswith(prefix[: tokens.SHOWN])]
        if len(found) != 1:
            raise CommandError(f"{len(found)} tokens start with {prefix!r}: give the prefix list shows")
        if tokens.token_revoke(token=found[0]):
            self.stdout.write(f"revoked {found[0].prefix}…")
        else:
            self.stdout.write(f"{found[0].prefix}… was already revoked")
