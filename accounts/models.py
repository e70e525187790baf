import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.search import fold
from iaze.lib.jobs import job_fields
from iaze.lib.models import BaseModel, DeletionRefused, ProtectedManager, ProtectedQuerySet


class Reseller(BaseModel):
    """A tenant (revenda): everything else belongs to exactly one."""

    name = models.CharField(_("nome"), max_length=200)
    slug = models.SlugField(_("identificador"), max_length=80, unique=True)
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        db_table = "resellers"
        verbose_name = _("revenda")
        verbose_name_plural = _("revendas")
        ordering = ["name"]

    def __str__(self):
        return self.name


class ResellerConfig(BaseModel):
    reseller = models.OneToOneField(Reseller, on_delete=models.PROTECT, related_name="config")
    display_name = models.CharField(_("nome de exibição"), max_length=200, blank=True)
    primary_color = models.CharField(_("cor principal"), max_length=7, default="#0f766e")
    greeting_text = models.TextField(_("mensagem de saudação"), blank=True)
    farewell_text = models.TextField(_("mensagem de despedida"), blank=True)
    out_of_hours_text = models.TextField(_("mensagem fora do horário"), blank=True)
    # {"mon": [["08:00", "18:00"]], ...}; empty means always open.
    business_hours = models.JSONField(_("horário de atendimento"), default=dict, blank=True)
    # ["12-25", "2026-04-03"]: "MM-DD" every year, "YYYY-MM-DD" that date only; closed all day (accounts.hours).
    holidays = models.JSONField(_("feriados"), default=list, blank=True)
    timezone = models.CharField(_("fuso horário"), max_length=64, default="America/Sao_Paulo")
    reply_signature = models.BooleanField(_("assinar respostas com o nome do agente"), default=False)
    # Off when empty. May use {{departamento}} and {{agente}}.
    transfer_text = models.CharField(
        _("mensagem ao cliente na transferência"),
        max_length=300,
        blank=True,
        help_text=_("Vazio: nenhuma mensagem. Ex.: Você foi transferido para o {{departamento}}."),
    )
    # Satisfaction survey after Finalizar (docs/reports.md): off by default.
    satisfaction_enabled = models.BooleanField(_("pedir avaliação ao finalizar"), default=False)
    satisfaction_question_text = models.TextField(
        _("pergunta de avaliação"),
        blank=True,
        default="Como você avalia este atendimento? Responda com uma nota de 1 a 5 (5 = excelente).",
    )
    satisfaction_thanks_text = models.TextField(
        _("agradecimento pela avaliação"), blank=True, default="Obrigado pela sua avaliação!"
    )
    # The inbox colours a waiting row (Espera, or Atendendo with the client's message unanswered) after these.
    wait_warn_minutes = models.PositiveSmallIntegerField(
        _("espera: alerta após (minutos)"), default=5, help_text=_("A linha fica amarela na lista.")
    )
    wait_late_minutes = models.PositiveSmallIntegerField(
        _("espera: atraso após (minutos)"), default=15, help_text=_("A linha fica vermelha na lista.")
    )

    class Meta:
        db_table = "reseller_configs"
        verbose_name = _("configuração da revenda")
        verbose_name_plural = _("configurações das revendas")

    def __str__(self):
        return self.display_name or str(self.reseller)


class Department(BaseModel):
    reseller = models.ForeignKey(
        Reseller, on_delete=models.PROTECT, related_name="departments", verbose_name=_("revenda")
    )
    name = models.CharField(_("nome"), max_length=120)
    active = models.BooleanField(_("ativo"), default=True)
    # Off: the tenant's hours apply. On: business_hours below (same format; empty means always open).
    own_hours = models.BooleanField(_("horário próprio"), default=False)
    business_hours = models.JSONField(_("horário de atendimento"), default=dict, blank=True)
    # Empty: the tenant's text (ResellerConfig) applies.
    greeting_text = models.TextField(_("mensagem de saudação"), blank=True)
    out_of_hours_text = models.TextField(_("mensagem fora do horário"), blank=True)
    farewell_text = models.TextField(_("mensagem de despedida"), blank=True)

    class Meta:
        db_table = "departments"
        verbose_name = _("departamento")
        verbose_name_plural = _("departamentos")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["reseller", "name"], name="department_unique_name_per_reseller")]

    def __str__(self):
        return self.name


class UserManager(BaseUserManager.from_queryset(ProtectedQuerySet)):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.update(is_staff=True, is_superuser=True, role=User.Role.ADMIN)
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)


class User(BaseModel, AbstractBaseUser, PermissionsMixin):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrador")
        RESELLER = "reseller", _("Revenda")
        AGENT = "agent", _("Agente")
        # An integration's own user (accounts.tokens): no password, no admin; reads its tenant's tickets and
        # may write to those in espera (tickets.rules.permissions). Created with its integration token.
        BOT = "bot", _("Integração (bot)")

    email = models.EmailField(_("e-mail"), unique=True)
    name = models.CharField(_("nome"), max_length=200, blank=True)
    role = models.CharField(_("papel"), max_length=16, choices=Role.choices, default=Role.AGENT)
    reseller = models.ForeignKey(
        Reseller, on_delete=models.PROTECT, null=True, blank=True, related_name="users", verbose_name=_("revenda")
    )
    departments = models.ManyToManyField(Department, blank=True, related_name="agents", verbose_name=_("departamentos"))
    is_active = models.BooleanField(_("ativo"), default=True)
    is_staff = models.BooleanField(_("acesso ao admin"), default=False)
    # The inbox's own preferences (accounts.services.user_preferences_set), remembered across devices.
    alert_sound = models.BooleanField(_("som dos alertas"), default=True)
    enter_sends = models.BooleanField(_("Enter envia a resposta"), default=True)
    # Presence (accounts.presence): the last poll or live stream of one of the user's pages, written at
    # most every 10 s; online means within the last 60 s.
    last_seen_at = models.DateTimeField(_("visto por último em"), null=True, blank=True, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        db_table = "users"
        verbose_name = _("usuário")
        verbose_name_plural = _("usuários")
        ordering = ["name", "email"]

    def __str__(self):
        return self.name or self.email

    def delete(self, *args, **kwargs):
        raise DeletionRefused("Users are never deleted in IAZE; deactivate them instead.")

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_bot(self) -> bool:
        return self.role == self.Role.BOT

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == self.Role.ADMIN

    def is_supervisor_of(self, reseller_id) -> bool:
        """An installation admin (no tenant) supervises everything; an admin or reseller user that
        belongs to a tenant supervises that tenant only (the workspace is per tenant)."""
        if not self.is_active:
            return False
        if self.is_admin and self.reseller_id is None:
            return True
        return (
            (self.is_admin or self.role == self.Role.RESELLER)
            and self.reseller_id is not None
            and self.reseller_id == reseller_id
        )


class Client(BaseModel):
    """The WhatsApp customer. No login. Keyed per reseller by provider identity."""

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="clients", verbose_name=_("revenda"))
    # wa_id when the provider gives one, else the business-scoped user id: never empty.
    identity = models.CharField(_("identidade"), max_length=128)
    wa_id = models.CharField(_("WhatsApp ID"), max_length=64, blank=True)
    bsuid = models.CharField(_("ID de usuário (escopo da empresa)"), max_length=128, blank=True)
    phone = models.CharField(_("telefone"), max_length=32, blank=True)
    # The name shown everywhere: the provider's profile name until a person (admin, agent) sets another.
    name = models.CharField(_("nome"), max_length=200, blank=True)
    # The name the client gives itself on WhatsApp, as the provider last reported it.
    profile_name = models.CharField(_("nome no perfil do WhatsApp"), max_length=200, blank=True)
    # Set once a person (an agent in the conversation, an admin) names the client: from then on the
    # provider's profile name is kept in profile_name only and never replaces `name`.
    name_set_by_agent = models.BooleanField(_("nome definido pela equipe"), default=False)
    # Every name the client had before, oldest first (the renames' who and when are ticket events).
    previous_names = models.JSONField(_("nomes anteriores"), default=list, blank=True)
    # The contact's data (/contatos/), written by accounts.contacts: every change is a ClientChange.
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    # CPF (11 digits) or CNPJ (14 characters, maybe alphanumeric), without punctuation (accounts.documents).
    document = models.CharField(_("CPF/CNPJ"), max_length=14, blank=True)
    notes = models.TextField(_("observações"), blank=True)
    # The tenant's own fields (ContactField), by key: values normalized by their kind (accounts.contact_fields).
    custom_fields = models.JSONField(_("campos personalizados"), default=dict, blank=True)

    class Meta:
        db_table = "clients"
        verbose_name = _("cliente")
        verbose_name_plural = _("clientes")
        constraints = [
            # Phone-based identities are the canonical number (accounts.phones): one client per phone.
            models.UniqueConstraint(fields=["reseller", "identity"], name="client_unique_identity_per_reseller")
        ]
        indexes = [
            # A number in any of its forms (accounts.phones.br_variants), for inbound routing and contacts.
            models.Index(fields=["reseller", "phone"], name="client_by_phone"),
            # The contact list: most recently touched first, keyset pages.
            models.Index(fields=["reseller", "-updated_at", "-id"], name="client_recent"),
        ]

    def __str__(self):
        return self.name or self.phone or self.identity

    @property
    def display_name(self) -> str:
        return self.name or self.phone or self.identity


class Tag(BaseModel):
    """A tenant's label for clients and tickets ("VIP", "Inadimplente"): never deleted, deactivated instead."""

    class Color(models.TextChoices):
        GRAY = "#6b7280", _("cinza")
        RED = "#b91c1c", _("vermelho")
        ORANGE = "#c2410c", _("laranja")
        YELLOW = "#a16207", _("amarelo")
        GREEN = "#15803d", _("verde")
        TEAL = "#0f766e", _("verde-azulado")
        BLUE = "#1d4ed8", _("azul")
        PURPLE = "#7e22ce", _("roxo")
        PINK = "#be185d", _("rosa")

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="tags", verbose_name=_("revenda"))
    name = models.CharField(_("nome"), max_length=40)
    # The folded name (accounts.search.fold): unique per tenant, so "VIP" and "vip" are one tag on every profile.
    name_key = models.CharField(max_length=40, editable=False, verbose_name=_("chave do nome"))
    color = models.CharField(_("cor"), max_length=7, choices=Color.choices, default=Color.GRAY)
    active = models.BooleanField(_("ativa"), default=True)

    class Meta:
        db_table = "tags"
        verbose_name = _("etiqueta")
        verbose_name_plural = _("etiquetas")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["reseller", "name_key"], name="tag_unique_name_per_reseller")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name = " ".join(self.name.split())
        self.name_key = fold(self.name)[:40]
        super().save(*args, **kwargs)


class ClientTag(BaseModel):
    """A tag on a client. Removing it clears `active` (nothing is deleted); adding it again sets it."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="tag_links")
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="client_links")
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "client_tags"
        verbose_name = _("etiqueta do cliente")
        verbose_name_plural = _("etiquetas dos clientes")
        constraints = [models.UniqueConstraint(fields=["client", "tag"], name="client_tag_unique")]
        indexes = [models.Index(fields=["tag", "active"], name="client_tag_by_tag")]

    def __str__(self):
        return f"{self.client_id} · {self.tag_id}"


class ClientTerm(BaseModel):
    """One search term of a client (name words, number tails: accounts.search). Written by accounts.services."""

    # No index of their own: the (reseller, term) and unique (client, term) indexes serve every lookup, and
    # each index more is a write more per term.
    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="+", db_index=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="+", db_index=False)
    term = models.CharField(max_length=32)

    class Meta:
        db_table = "client_search_terms"
        verbose_name = _("termo de busca do cliente")
        verbose_name_plural = _("termos de busca dos clientes")
        constraints = [models.UniqueConstraint(fields=["client", "term"], name="client_term_unique")]
        indexes = [
            # One index per tenant and term (an installation admin's search lists the tenants: one range each).
            # The pattern opclass lets PostgreSQL serve `LIKE 'word%'` whatever the collation; others ignore it.
            models.Index(
                fields=["reseller", "term"], name="client_term_search", opclasses=["uuid_ops", "varchar_pattern_ops"]
            ),
        ]

    def __str__(self):
        return self.term


class LoginCounter(models.Model):
    """Password checks reserved for one key of the login throttle (accounts.throttle), kept by it alone.

    Not a BaseModel on purpose: counters are not anybody's data, so they are neither backed up nor counted
    by `persistence`. A row is never deleted either (the no-delete guard's manager): a key keeps one row,
    and a run older than the window is ignored by every query and zeroed by the next reservation, so old
    rows need no clean-up.
    """

    class Kind(models.TextChoices):
        PAIR = "pair", "address + account"
        ACCOUNT = "account", "account"
        ADDRESS = "address", "address"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # An HMAC of the address and/or the typed login: what was typed (maybe a password in the wrong box)
    # is never stored.
    key = models.CharField(max_length=64)
    attempts = models.PositiveIntegerField(default=0)
    # The run is forgotten at this instant: the window after its latest reserved check.
    until = models.DateTimeField()

    objects = ProtectedManager()

    class Meta:
        db_table = "login_attempts"
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="login_attempts_unique_key")]

    def __str__(self):
        return f"{self.kind} {self.key[:8]}: {self.attempts}"


class ContactField(BaseModel):
    """A field the tenant adds to its contacts ("Plano", "Vencimento"). Deactivated, never deleted."""

    class Kind(models.TextChoices):
        TEXT = "text", _("texto")
        NUMBER = "number", _("número")
        DATE = "date", _("data")
        CHOICE = "choice", _("opções")

    reseller = models.ForeignKey(
        Reseller, on_delete=models.PROTECT, related_name="contact_fields", verbose_name=_("revenda")
    )
    # The name of its column in the contacts CSV and its key in Client.custom_fields.
    key = models.SlugField(_("chave"), max_length=40, db_index=False)
    label = models.CharField(_("nome"), max_length=80)
    kind = models.CharField(_("tipo"), max_length=8, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(
        _("opções"), default=list, blank=True, help_text=_("Para o tipo opções: a lista de valores aceitos.")
    )
    position = models.PositiveSmallIntegerField(_("ordem"), default=0)
    active = models.BooleanField(_("ativo"), default=True)

    class Meta:
        db_table = "contact_fields"
        verbose_name = _("campo de contato")
        verbose_name_plural = _("campos de contato")
        ordering = ["position", "label"]
        constraints = [models.UniqueConstraint(fields=["reseller", "key"], name="contact_field_unique_key")]

    def __str__(self):
        return self.label


class ClientChange(BaseModel):
    """One change of a contact's data: who, when (created_at), which field, the value before and after."""

    class Source(models.TextChoices):
        PAGE = "page", _("página do contato")
        IMPORT = "import", _("importação")
        TICKET = "ticket", _("atendimento")
        ADMIN = "admin", _("administração")

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="+", db_index=False)
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="changes", db_index=False)
    by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.PAGE)
    field = models.CharField(max_length=64)
    old = models.TextField(blank=True)
    new = models.TextField(blank=True)

    class Meta:
        db_table = "client_changes"
        verbose_name = _("alteração de contato")
        verbose_name_plural = _("alterações de contatos")
        indexes = [models.Index(fields=["client", "-created_at"], name="client_change_history")]

    def __str__(self):
        return f"{self.client_id} · {self.field}"


class ContactImport(BaseModel):
    """One CSV import of contacts (accounts.contact_import): its checked lines, its progress and its summary.

    A durable job (iaze.lib.jobs): the request that uploads the file runs it for a few seconds and the worker
    finishes what is left, so a file of any size ends the same way."""

    class State(models.TextChoices):
        PENDING = "pending", _("na fila")
        RUNNING = "running", _("em andamento")
        DONE = "done", _("concluída")
        FAILED = "failed", _("falhou")

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    file_name = models.CharField(_("arquivo"), max_length=200, blank=True)
    state = models.CharField(_("estado"), max_length=16, choices=State.choices, default=State.PENDING)
    # The job's fields (iaze.lib.jobs).
    attempts, next_attempt_at, not_before, lease_until = job_fields()
    error = models.TextField(blank=True)
    # What the file said, checked: the header, the custom fields to create, and the accepted lines
    # ({"line", "phone", "values", "custom", "tags"}), written in batches from `position` on.
    header = models.JSONField(default=list, blank=True)
    new_fields = models.JSONField(default=list, blank=True)
    lines = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)  # len(lines)
    total = models.PositiveIntegerField(default=0)  # the file's lines after the header, blank ones aside
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    refused = models.JSONField(default=list, blank=True)  # [[line, reason], ...]
    fields_created = models.JSONField(default=list, blank=True)
    tags_created = models.JSONField(default=list, blank=True)
    ignored_columns = models.JSONField(default=list, blank=True)
    seconds = models.FloatField(default=0.0)

    class Meta:
        db_table = "contact_imports"
        verbose_name = _("importação de contatos")
        verbose_name_plural = _("importações de contatos")
        indexes = [models.Index(fields=["state", "created_at"], name="contact_import_due")]

    def __str__(self):
        return self.file_name or str(self.pk)


class ApiToken(BaseModel):
    """A key to the REST API (/api/v1/): it acts as its user, with exactly that user's rights.

    Only the SHA-256 of the secret is kept, and its first characters to tell tokens apart; the secret is
    shown once, when created (accounts.tokens). Never deleted: revoking stamps `revoked_at`. An integration
    token belongs to a user of its own with role bot, made for it (accounts.tokens.integration_token_create).
    """

    class Kind(models.TextChoices):
        PERSON = "person", _("Pessoal")
        INTEGRATION = "integration", _("Integração (bot)")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens", verbose_name=_("usuário"))
    # The user's tenant when the token was made (none for an installation admin): the admin's scope.
    reseller = models.ForeignKey(
        Reseller, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("revenda")
    )
    name = models.CharField(_("nome"), max_length=100)
    kind = models.CharField(_("tipo"), max_length=16, choices=Kind.choices, default=Kind.PERSON)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=_("hash do segredo"))
    prefix = models.CharField(_("início do token"), max_length=16, editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("criado por")
    )
    last_used_at = models.DateTimeField(_("último uso"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revogado em"), null=True, blank=True)

    class Meta:
        db_table = "api_tokens"
        verbose_name = _("token da API")
        verbose_name_plural = _("tokens da API")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_token_by_user")]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"
