"""Outgoing webhooks of a tenant and the events recorded for them (contract §7).

A Webhook is a receiver URL, its signing secret and the event types it wants. Each WebhookDelivery is one
change of a ticket (tickets.activity) turned into a delivery: its `data` is written once, when the event is
recorded, and never again, so every attempt (and every "enviar de novo") sends the same body. The event is a
job of iaze.lib.jobs (status, lease, attempts, backoff), delivered by the worker (webhooks.delivery).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Reseller, User
from iaze.lib.models import BaseModel

EVENT_TYPES = (
    "ticket.created",
    "ticket.claimed",
    "ticket.transferred",
    "ticket.closed",
    "message.received",
    "message.sent",
    "message.status",
)


class Webhook(BaseModel):
    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="webhooks", verbose_name=_("revenda"))
    url = models.CharField(_("URL"), max_length=2000)
    # Kept as given: an HMAC needs the secret itself, not a hash of it. Never shown after creation (the API
    # and the admin leave it out; accounts.admin_site refuses lookups on it).
    secret = models.CharField(max_length=200, editable=False, verbose_name=_("segredo"))
    events = models.JSONField(_("eventos"), default=list)
    active = models.BooleanField(_("ativo"), default=True)
    # Where the recorder is in the tenant's changes (tickets.reads.changes cursor); moved to "now" whenever
    # the webhook is turned on, so nothing of the time it was off is recorded.
    cursor = models.TextField(
        blank=True, default="", editable=False, verbose_name=_("posição no registro de alterações")
    )
    # The first failure since the last delivery; a webhook failing for WEBHOOK_PAUSE_AFTER_HOURS is paused.
    failing_since = models.DateTimeField(_("falhando desde"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("última entrega"), null=True, blank=True)
    paused_at = models.DateTimeField(_("pausado em"), null=True, blank=True)
    pause_reason = models.CharField(_("motivo da pausa"), max_length=300, blank=True, default="")
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("criado por")
    )

    class Meta:
        db_table = "outgoing_webhooks"
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["reseller", "active"], name="webhook_by_tenant")]

    def __str__(self):
        return self.url


class WebhookDelivery(BaseModel):
    class Status(models.TextChoices):
        PENDING = "pendente", _("Pendente")
        DELIVERED = "entregue", _("Entregue")
        # Never written by the worker (an event is retried for as long as its webhook lives); the queue needs
        # a failed state, and an operator may use it.
        FAILED = "falhou", _("Falhou")

    webhook = models.ForeignKey(Webhook, on_delete=models.PROTECT, related_name="deliveries", verbose_name=_("webhook"))
    reseller = models.ForeignKey(Reseller, on_delete=models.PROTECT, related_name="+", verbose_name=_("revenda"))
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="+", verbose_name=_("atendimento")
    )
    # The ticket's version after the change: the order of a ticket's events, and (with the webhook) its key.
    ticket_version = models.PositiveIntegerField(verbose_name=_("versão do atendimento"))
    type = models.CharField(_("tipo"), max_length=32)
    occurred_at = models.DateTimeField(_("ocorrido em"))
    data = models.JSONField(default=dict, verbose_name=_("dados"))
    status = models.CharField(_("estado"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("tentativas"), default=0)
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("reservada até"))
    next_attempt_at = models.DateTimeField(_("próxima tentativa"), null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True, verbose_name=_("não antes de"))
    last_attempt_at = models.DateTimeField(_("última tentativa"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("última resposta (HTTP)"), null=True, blank=True)
    last_answer_ms = models.PositiveIntegerField(_("tempo de resposta (ms)"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("entregue em"), null=True, blank=True)
    error_code = models.CharField(max_length=40, blank=True, default="", verbose_name=_("código do erro"))
    error_text = models.CharField(_("erro"), max_length=300, blank=True, default="")

    class Meta:
        db_table = "outgoing_webhook_deliveries"
        verbose_name = _("entrega de webhook")
        verbose_name_plural = _("entregas de webhook")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "ticket", "ticket_version"], name="webhook_event_once")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_event_due"),
            models.Index(fields=["webhook", "status", "created_at"], name="webhook_event_by_hook"),
        ]

    def __str__(self):
        return f"{self.type} {self.pk}"
