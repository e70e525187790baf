import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from iaze.lib.jobs import job_fields
from iaze.lib.models import BaseModel


def new_connection_key() -> str:
    return secrets.token_urlsafe(12)


class Connection(BaseModel):
    """One WhatsApp number of a reseller, through Meta's Cloud API or an Evolution API instance."""

    class Provider(models.TextChoices):
        META = "meta", _("Meta Cloud API")
        EVOLUTION = "evolution", _("Evolution API")

    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="connections", verbose_name=_("revenda")
    )
    name = models.CharField(_("nome"), max_length=200, blank=True)
    provider = models.CharField(_("provedor"), max_length=16, choices=Provider.choices)
    # Stable, unguessable key used in the webhook URL /whatsapp/webhook/<key>/.
    key = models.SlugField(_("chave do webhook"), max_length=64, unique=True, default=new_connection_key)
    phone_number_id = models.CharField(_("ID do número (Meta)"), max_length=64, blank=True)
    business_account_id = models.CharField(_("ID da conta WhatsApp Business (Meta)"), max_length=64, blank=True)
    instance_name = models.CharField(_("instância (Evolution)"), max_length=128, blank=True)
    display_phone = models.CharField(_("número exibido"), max_length=32, blank=True)
    # Secrets: write-only in the admin, never rendered back.
    access_token = models.TextField(_("token de acesso (Meta)"), blank=True)
    verify_token = models.CharField(_("token de verificação (Meta)"), max_length=255, blank=True)
    app_secret = models.CharField(_("app secret (Meta)"), max_length=255, blank=True)
    api_key = models.CharField(_("API key (Evolution)"), max_length=255, blank=True)
    # The Evolution gateway's global key, typed once per gateway in "Conectar WhatsApp" (whatsapp.admin_connect)
    # and reused for the tenant's next instance on the same gateway URL; never shown, never in a form.
    gateway_key = models.CharField(_("chave global do gateway (Evolution)"), max_length=255, blank=True)
    api_base_url = models.URLField(_("URL base da API"), max_length=500, blank=True)
    default_department = models.ForeignKey(
        "accounts.Department",
        on_delete=models.PROTECT,
        related_name="connections",
        verbose_name=_("departamento padrão"),
    )
    active = models.BooleanField(_("ativa"), default=True)
    # Last state reported by the provider (Evolution connection.update: open, close, connecting).
    state = models.CharField(_("estado"), max_length=32, blank=True)
    state_updated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("estado atualizado em"))
    # Set when the provider reports `close`, cleared by the next `open` (which asks for a gap recovery).
    disconnected_at = models.DateTimeField(_("desconectada desde"), null=True, blank=True)
    # Health (whatsapp.health): last authenticated webhook and last successful send, stamped at most once a minute.
    last_webhook_at = models.DateTimeField(_("último webhook"), null=True, blank=True)
    last_send_at = models.DateTimeField(_("último envio"), null=True, blank=True)
    # Department menu (tickets.rules.menu): offered on every new ticket when on; department ids in menu order.
    menu_enabled = models.BooleanField(_("menu de departamentos"), default=False)
    menu_intro = models.TextField(_("texto de abertura do menu"), blank=True)
    menu_department_ids = models.JSONField(_("departamentos do menu"), default=list, blank=True)

    class Meta:
        db_table = "whatsapp_connections"
        verbose_name = _("conexão WhatsApp")
        verbose_name_plural = _("conexões WhatsApp")

    def __str__(self):
        return self.name or f"{self.get_provider_display()} {self.key}"


class WebhookEvent(BaseModel):
    """The raw journal: every authenticated webhook body, stored before it is parsed."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pendente")
        PROCESSED = "processed", _("Processado")
        FAILED = "failed", _("Falhou")
        IGNORED = "ignored", _("Ignorado")

    connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="webhook_events", verbose_name=_("conexão")
    )
    # sha256 of the raw body: a provider's retry of the same delivery is the same bytes.
    dedup_key = models.CharField(max_length=128, verbose_name=_("chave de deduplicação"))
    event_type = models.CharField(max_length=64, blank=True, verbose_name=_("tipo do evento"))
    body = models.BinaryField(verbose_name=_("corpo"))
    # A body above WHATSAPP_WEBHOOK_INLINE_BODY_BYTES is kept as a file (iaze.lib.blobs), by reference:
    # `body` is then empty. A MongoDB document holds at most 16 MB.
    body_file = models.CharField(max_length=300, blank=True, verbose_name=_("arquivo do corpo"))
    body_sha256 = models.CharField(max_length=64, blank=True, verbose_name=_("SHA-256 do corpo"))
    body_size = models.PositiveBigIntegerField(default=0, verbose_name=_("tamanho do corpo (bytes)"))
    headers = models.JSONField(default=dict, blank=True, verbose_name=_("cabeçalhos"))
    received_at = models.DateTimeField(verbose_name=_("recebido em"))
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING, verbose_name=_("estado"))
    error = models.TextField(blank=True, verbose_name=_("erro"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("tentativas"))
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processado em"))

    class Meta:
        db_table = "webhook_events"
        verbose_name = _("evento de webhook")
        verbose_name_plural = _("eventos de webhook")
        constraints = [
            models.UniqueConstraint(fields=["connection", "dedup_key"], name="webhook_event_unique_per_connection")
        ]
        indexes = [models.Index(fields=["state", "received_at"], name="webhook_event_state")]

    def __str__(self):
        return f"{self.connection_id} {self.event_type} {self.received_at:%Y-%m-%d %H:%M:%S}"


class RecoveryRun(BaseModel):
    """One gap recovery (whatsapp.recovery): ask the gateway for a period's messages, store the missing ones.

    Requested by the webhook (a connection back to `open`) or by an admin, run by the outbox worker.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pendente")
        RUNNING = "running", _("Em execução")
        DONE = "done", _("Concluída")
        FAILED = "failed", _("Falhou")

    class Trigger(models.TextChoices):
        RECONNECT = "reconnect", _("Reconexão")
        MANUAL = "manual", _("Manual")

    connection = models.ForeignKey(
        Connection, on_delete=models.PROTECT, related_name="recovery_runs", verbose_name=_("conexão")
    )
    trigger = models.CharField(_("origem"), max_length=16, choices=Trigger.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pedida por"),
    )
    since = models.DateTimeField(_("desde"))
    until = models.DateTimeField(_("até"), null=True, blank=True)
    state = models.CharField(_("estado"), max_length=16, choices=State.choices, default=State.PENDING)
    # The job's fields (iaze.lib.jobs); not_before: not run before.
    attempts, next_attempt_at, not_before, lease_until = job_fields()
    started_at = models.DateTimeField(_("início"), null=True, blank=True)
    finished_at = models.DateTimeField(_("fim"), null=True, blank=True)
    pages = models.PositiveIntegerField(_("páginas"), default=0)
    found = models.PositiveIntegerField(_("encontradas"), default=0)
    stored = models.PositiveIntegerField(_("gravadas"), default=0)
    duplicates = models.PositiveIntegerField(_("já existentes"), default=0)
    ignored = models.PositiveIntegerField(_("ignoradas"), default=0)
    error = models.TextField(_("erro"), blank=True)

    class Meta:
        db_table = "whatsapp_recovery_runs"
        verbose_name = _("recuperação de mensagens")
        verbose_name_plural = _("recuperações de mensagens")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="recovery_run_due")]

    def __str__(self):
        return f"{self.connection} {self.since:%Y-%m-%d %H:%M} {self.get_state_display()}"
