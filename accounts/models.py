from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils.translation import gettext_lazy as _

from iaze.lib.models import BaseModel, DeletionRefused, ProtectedQuerySet

from .search import fold


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
    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="departments")
    name = models.CharField(_("nome"), max_length=120)
    active = models.BooleanField(_("ativo"), default=True)

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

    email = models.EmailField(_("e-mail"), unique=True)
    name = models.CharField(_("nome"), max_length=200, blank=True)
    role = models.CharField(_("papel"), max_length=16, choices=Role.choices, default=Role.AGENT)
    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, null=True, blank=True, related_name="users")
    departments = models.ManyToManyField(Department, blank=True, related_name="agents")
    is_active = models.BooleanField(_("ativo"), default=True)
    is_staff = models.BooleanField(_("acesso ao admin"), default=False)
    # The inbox's own preferences (accounts.services.user_preferences_set), remembered across devices.
    alert_sound = models.BooleanField(_("som dos alertas"), default=True)
    enter_sends = models.BooleanField(_("Enter envia a resposta"), default=True)

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

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="clients")
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

    class Meta:
        db_table = "clients"
        verbose_name = _("cliente")
        verbose_name_plural = _("clientes")
        constraints = [
            models.UniqueConstraint(fields=["reseller", "identity"], name="client_unique_identity_per_reseller")
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

    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="tags")
    name = models.CharField(_("nome"), max_length=40)
    # The folded name (accounts.search.fold): unique per tenant, so "VIP" and "vip" are one tag on every profile.
    name_key = models.CharField(max_length=40, editable=False)
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
