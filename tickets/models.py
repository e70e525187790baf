import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from iaze.lib.jobs import job_fields
from iaze.lib.models import BaseModel, ProtectedManager, ProtectedQuerySet
from providers.types import MessageKind
from tickets.rollup_model import ReportRollup  # noqa: F401  (the report's per-day rollups, one of this app's models)


class UIState(models.TextChoices):
    """The three states agents see. Derived from (status, agent) here and only here."""

    ESPERA = "espera", _("Espera")
    ATENDENDO = "atendendo", _("Atendendo")
    FINALIZADO = "finalizado", _("Finalizado")


class TicketQuerySet(ProtectedQuerySet):
    def in_state(self, state: str):
        if state == UIState.ESPERA:
            return self.filter(status=Ticket.Status.OPEN, agent__isnull=True)
        if state == UIState.ATENDENDO:
            return self.filter(status=Ticket.Status.OPEN, agent__isnull=False)
        if state == UIState.FINALIZADO:
            return self.filter(status=Ticket.Status.CLOSED)
        raise ValueError(f"unknown ticket state {state!r}")


class Ticket(BaseModel):
    class Status(models.TextChoices):
        OPEN = "open", _("Aberto")
        CLOSED = "closed", _("Fechado")

    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("revenda")
    )
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("departamento")
    )
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("cliente")
    )
    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("conexão")
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, verbose_name=_("situação"))
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("agente"),
    )
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("assumido em"))
    closed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finalizado em"))
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("finalizado por"),
    )
    last_message_at = models.DateTimeField(null=True, blank=True, verbose_name=_("última mensagem em"))
    # Denormalised so the queue renders without touching the messages table.
    last_message_preview = models.CharField(max_length=200, blank=True, verbose_name=_("prévia da última mensagem"))
    last_inbound_at = models.DateTimeField(null=True, blank=True, verbose_name=_("última mensagem do cliente em"))
    # The client's latest message (its time is last_inbound_at) and the latest answer a person gave (an agent,
    # or the business's own phone): what the queue's rows, the alerts and "sem resposta" go by, so automatic
    # texts never hide the client nor count as an answer (tickets.activity.ticket_touch, tickets.reads.inbox).
    last_client_preview = models.CharField(
        max_length=200, blank=True, verbose_name=_("prévia da última mensagem do cliente")
    )
    last_human_reply_at = models.DateTimeField(null=True, blank=True, verbose_name=_("última resposta da equipe em"))
    # Automatic texts are sent at most once per ticket (see tickets.rules.auto_messages).
    greeting_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("saudação enviada em"))
    out_of_hours_sent_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("aviso de fora do horário enviado em")
    )
    # Department menu (tickets.rules.menu): how many times it was sent, and when the client's choice ended it.
    menu_prompts_sent = models.PositiveSmallIntegerField(default=0, verbose_name=_("menus enviados"))
    menu_done_at = models.DateTimeField(null=True, blank=True, verbose_name=_("menu concluído em"))
    # Reports (see docs/reports.md): stamped by the services, once, by conditional updates.
    # The durations are whole seconds from the ticket's opening, so a percentile is one sorted query.
    first_response_at = models.DateTimeField(null=True, blank=True, verbose_name=_("primeira resposta em"))
    first_response_seconds = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("tempo da primeira resposta (s)")
    )
    resolution_seconds = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("tempo de resolução (s)"))
    # Satisfaction: the question's send stamp (the 24-hour answer window starts there), the answer 1–5,
    # and the provider id of the message that gave it (a replay of that message is recognised).
    rating_asked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("avaliação pedida em"))
    rating = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("avaliação"))
    rated_at = models.DateTimeField(null=True, blank=True, verbose_name=_("avaliado em"))
    rating_message_id = models.CharField(max_length=255, blank=True, verbose_name=_("ID da mensagem de avaliação"))
    # The opening and closing moments in the reseller's time zone (tickets.rules.localtime), stamped in the
    # same write as created_at / closed_at, so the reports group by plain indexed columns.
    opened_local_date = models.DateField(null=True, blank=True, verbose_name=_("dia da abertura (local)"))
    opened_local_how = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("hora da semana da abertura")
    )  # hour of the week, 0..167
    closed_local_date = models.DateField(null=True, blank=True, verbose_name=_("dia da finalização (local)"))
    # What the report's per-day rollups (tickets.rollup_model) count of this ticket: the values of the
    # fields above as of the last rollup sync (tickets.services.rollups). A sync counts the difference
    # between the ticket and these copies, and moves them with a compare-and-set on rolled_version
    # (0: never counted). Copies, not links: no constraint, no reverse accessor.
    rolled_version = models.PositiveIntegerField(default=0, verbose_name=_("versão somada aos relatórios"))
    rolled_department = models.ForeignKey(
        "accounts.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("departamento somado aos relatórios"),
    )
    rolled_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        verbose_name=_("agente somado aos relatórios"),
    )
    rolled_claimed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("assumido em (somado aos relatórios)")
    )
    rolled_first_response_seconds = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("primeira resposta (s, somada aos relatórios)")
    )
    rolled_closed_local_date = models.DateField(
        null=True, blank=True, verbose_name=_("dia da finalização (somado aos relatórios)")
    )
    rolled_resolution_seconds = models.PositiveIntegerField(
        null=True, blank=True, verbose_name=_("resolução (s, somada aos relatórios)")
    )
    rolled_rating_asked_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("avaliação pedida em (somada aos relatórios)")
    )
    rolled_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("avaliação (somada aos relatórios)")
    )
    # The change record (tickets.activity.ticket_change; read by tickets.reads.changes): every change of the
    # ticket moves `version` by one in the conditional write that makes it, stamps `changed_at` (never
    # earlier than the change before it) and keeps in `last_change` what its TicketEvent records, so a
    # change whose event a crash cut off (MongoDB) is still known exactly. 0: no change recorded yet.
    version = models.PositiveBigIntegerField(default=0, verbose_name=_("versão"))
    changed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("alterado em"))
    last_change = models.JSONField(default=dict, blank=True, verbose_name=_("última alteração"))

    objects = ProtectedManager.from_queryset(TicketQuerySet)()

    class Meta:
        db_table = "tickets"
        verbose_name = _("atendimento")
        verbose_name_plural = _("atendimentos")
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "client"],
                condition=Q(status="open"),
                name="ticket_one_open_per_client_connection",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(agent__isnull=False),
                name="ticket_closed_has_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["reseller", "status", "agent", "-last_message_at"], name="ticket_queue_tenant"),
            models.Index(fields=["department", "status", "agent", "-last_message_at"], name="ticket_queue_dept"),
            models.Index(fields=["client", "-created_at"], name="ticket_client_history"),
            # The queue's keyset order (newest activity first) for a tenant, and for admins across tenants.
            models.Index(fields=["reseller", "status", "-last_message_at", "-id"], name="ticket_queue_tenant_time"),
            models.Index(fields=["status", "-last_message_at", "-id"], name="ticket_queue_time"),
            # Reports: tickets opened / closed in a date range of one tenant.
            models.Index(fields=["reseller", "created_at"], name="ticket_report_opened"),
            models.Index(fields=["reseller", "closed_at"], name="ticket_report_closed"),
            # Reports by local day (reports.figures): each figure reads one of these ranges, the index alone
            # answering the groupings and the sorted percentile queries (the duration is the last column).
            models.Index(
                fields=["reseller", "opened_local_date", "opened_local_how", "first_response_seconds"],
                name="ticket_report_open_day",
            ),
            models.Index(
                fields=["reseller", "closed_local_date", "resolution_seconds"], name="ticket_report_close_day"
            ),
            models.Index(
                fields=["reseller", "department", "opened_local_date", "first_response_seconds"],
                name="ticket_report_open_dept",
            ),
            models.Index(
                fields=["reseller", "department", "closed_local_date", "resolution_seconds"],
                name="ticket_report_close_dept",
            ),
            models.Index(
                fields=["reseller", "agent", "opened_local_date", "first_response_seconds"],
                name="ticket_report_open_agent",
            ),
            models.Index(
                fields=["reseller", "agent", "closed_local_date", "resolution_seconds"],
                name="ticket_report_close_agent",
            ),
            models.Index(fields=["reseller", "claimed_at", "agent"], name="ticket_report_claimed"),
            # The change feed (tickets.reads.changes): a tenant's tickets by the stamp of their latest change.
            models.Index(fields=["reseller", "changed_at"], name="ticket_changes"),
        ]

    def __str__(self):
        return f"{self.client} · {self.get_ui_state_display()}"

    @property
    def ui_state(self) -> str:
        if self.status == self.Status.CLOSED:
            return UIState.FINALIZADO
        return UIState.ATENDENDO if self.agent_id else UIState.ESPERA

    def get_ui_state_display(self) -> str:
        return UIState(self.ui_state).label

    @property
    def protocol(self) -> str:
        """The ticket's number as agents and clients quote it: the start of its id."""
        return str(self.pk).replace("-", "")[:8].upper()


class MessageQuerySet(ProtectedQuerySet):
    def by_provider_id(self, connection, provider_message_id: str):
        """Messages with this provider id on this connection. The `> ''` repeats the condition of the
        partial unique index, without which SQLite (unlike PostgreSQL) cannot use that index."""
        return self.filter(connection=connection, provider_message_id=provider_message_id, provider_message_id__gt="")


class Message(BaseModel):
    class Direction(models.TextChoices):
        IN = "in", _("Recebida")
        OUT = "out", _("Enviada")
        # An agent's internal note: stored with the thread, never sent (the outbox selects only OUT).
        NOTE = "note", _("Nota interna")

    # The channel's vocabulary (providers.types), shared with the adapters.
    Kind = MessageKind

    class Delivery(models.TextChoices):
        QUEUED = "queued", _("Na fila")
        SENT = "sent", _("Enviada")
        DELIVERED = "delivered", _("Entregue")
        READ = "read", _("Lida")
        FAILED = "failed", _("Falhou")

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="messages", verbose_name=_("atendimento"))

    objects = ProtectedManager.from_queryset(MessageQuerySet)()
    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.PROTECT, related_name="messages", verbose_name=_("conexão")
    )
    direction = models.CharField(max_length=8, choices=Direction.choices, verbose_name=_("direção"))
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT, verbose_name=_("tipo"))
    raw_type = models.CharField(max_length=64, blank=True, verbose_name=_("tipo no provedor"))
    text = models.TextField(blank=True, verbose_name=_("texto"))
    # {"id", "mime_type", "sha256", "caption", "filename", "voice", "latitude", ...}
    media = models.JSONField(default=dict, blank=True, verbose_name=_("mídia"))
    provider_message_id = models.CharField(max_length=255, blank=True, verbose_name=_("ID da mensagem no provedor"))
    reply_to_provider_id = models.CharField(max_length=255, blank=True, verbose_name=_("resposta a (ID no provedor)"))
    # The message of this ticket an agent's reply quotes, or an agent's reaction reacts to (its provider id
    # is reply_to_provider_id). No database constraint: a restore inserts a table's rows in batches, in
    # no particular order, so a reply may arrive before the message it quotes. No index: nothing looks
    # messages up by it, and every index is a write more per message.
    reply_to = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
        verbose_name=_("resposta a"),
    )
    provider_timestamp = models.DateTimeField(null=True, blank=True, verbose_name=_("horário no provedor"))
    sender_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages_sent",
        verbose_name=_("enviada por"),
    )
    # The stored file of a photo, voice note, video or document (tickets.media.store), once it is kept.
    media_file = models.ForeignKey(
        "MediaFile", on_delete=models.PROTECT, null=True, blank=True, related_name="messages", verbose_name=_("arquivo")
    )
    # The type this message's file is served and sent as: this message's own claim (its sender's, the
    # provider's), checked against the bytes when the file was stored (tickets.media.store.file_type_for), never
    # another message's. Empty for files stored before types were kept per message.
    file_type = models.CharField(max_length=255, blank=True, default="", verbose_name=_("tipo do arquivo"))
    # True for messages the business sent from its own phone (Evolution fromMe).
    from_business_phone = models.BooleanField(default=False, verbose_name=_("enviada pelo celular da empresa"))
    # Idempotency key of the reply form: a double click stores one message.
    client_nonce = models.CharField(max_length=64, blank=True, verbose_name=_("identificador do envio"))

    delivery_status = models.CharField(max_length=16, choices=Delivery.choices, blank=True, verbose_name=_("entrega"))
    error_code = models.CharField(max_length=32, blank=True, verbose_name=_("código do erro"))
    error_text = models.TextField(blank=True, verbose_name=_("erro"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("tentativas"))
    next_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("próxima tentativa"))
    # A scheduled message is not sent before this moment. Apart from the retry backoff (next_attempt_at)
    # because, unlike it, it is never ignored, not even by the one-pass send (iaze.lib.jobs).
    not_before = models.DateTimeField(null=True, blank=True, verbose_name=_("não antes de"))
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("reservada até"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("enviada em"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("entregue em"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("lida em"))
    # What the client did to the message afterwards (tickets.client_actions): nothing is ever removed.
    edited_at = models.DateTimeField(null=True, blank=True, verbose_name=_("editada em"))
    previous_texts = models.JSONField(default=list, blank=True, verbose_name=_("textos anteriores"))
    deleted_by_client_at = models.DateTimeField(null=True, blank=True, verbose_name=_("apagada pelo cliente em"))

    class Meta:
        db_table = "messages"
        verbose_name = _("mensagem")
        verbose_name_plural = _("mensagens")
        constraints = [
            # Outbound messages have no provider id until the provider answers;
            # `> ''` (not `!= ''`) because MongoDB partial indexes accept $gt but not $ne.
            models.UniqueConstraint(
                fields=["connection", "provider_message_id"],
                condition=Q(provider_message_id__gt=""),
                name="message_unique_provider_id_per_connection",
            ),
            models.UniqueConstraint(
                fields=["ticket", "client_nonce"],
                condition=Q(client_nonce__gt=""),
                name="message_unique_reply_nonce_per_ticket",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="message_thread"),
            models.Index(fields=["delivery_status", "next_attempt_at"], name="message_outbox"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.get_kind_display()}: {self.text[:40]}"


class TicketEvent(BaseModel):
    """Append-only audit trail of a ticket: who did what, when, from which state to which.

    Each event is the record of one change of its ticket (tickets.activity.ticket_change): the
    ticket's `version` after it, the tenant, and `at`, the change's stamp. Events written before the
    change record have `ticket_version` 0 and no tenant; they stay in the history, not in the feed."""

    class Action(models.TextChoices):
        CREATED = "created", _("Aberto")
        # Opened by an agent (Novo atendimento, a scheduled message): created already held by them.
        STARTED = "started", _("Iniciado pelo agente")
        CLAIMED = "claimed", _("Assumido")
        CLOSED = "closed", _("Finalizado")
        REPLIED = "replied", _("Respondido")
        AUTO_MESSAGE = "auto_message", _("Mensagem automática")
        TRANSFERRED = "transferred", _("Transferido")
        NOTE = "note", _("Nota interna")
        TEMPLATE = "template", _("Modelo enviado")
        MENU_ROUTED = "menu_routed", _("Encaminhado pelo menu")
        RATED = "rated", _("Avaliado pelo cliente")
        DATA_EXPORTED = "data_exported", _("Dados do cliente exportados (LGPD)")
        TAGGED = "tagged", _("Etiqueta adicionada")
        UNTAGGED = "untagged", _("Etiqueta removida")
        CLIENT_RENAMED = "client_renamed", _("Cliente renomeado")
        MEDIA_RETRIED = "media_retried", _("Nova tentativa de baixar a mídia")
        # A message stored on the ticket that no other action names (a client's message, a business echo).
        MESSAGE = "message", _("Mensagem")
        # A delivery state of an outbound message moved (sent, delivered, read, failed).
        MESSAGE_STATUS = "message_status", _("Estado da mensagem")
        # An agent reacted to a client's message (or took the reaction back).
        REACTED = "reacted", _("Reação enviada")

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events", verbose_name=_("atendimento"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("autor"),
    )
    action = models.CharField(max_length=32, choices=Action.choices, verbose_name=_("ação"))
    from_state = models.CharField(max_length=16, blank=True, verbose_name=_("estado anterior"))
    to_state = models.CharField(max_length=16, blank=True, verbose_name=_("novo estado"))
    at = models.DateTimeField(verbose_name=_("quando"))
    data = models.JSONField(default=dict, blank=True, verbose_name=_("dados"))
    ticket_version = models.PositiveBigIntegerField(default=0, verbose_name=_("versão do atendimento"))
    # The ticket's tenant, copied so the change feed reads one tenant's events without a join.
    reseller = models.ForeignKey(
        "accounts.Reseller",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("revenda"),
    )

    class Meta:
        db_table = "ticket_events"
        verbose_name = _("evento do atendimento")
        verbose_name_plural = _("eventos dos atendimentos")
        constraints = [
            # One record per change: a writer and a repair racing to record the same version write it once.
            models.UniqueConstraint(
                fields=["ticket", "ticket_version"],
                condition=Q(ticket_version__gt=0),
                name="ticket_event_one_per_version",
            ),
        ]
        indexes = [
            models.Index(fields=["ticket", "at"], name="ticket_event_timeline"),
            models.Index(fields=["reseller", "at"], name="ticket_event_feed"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} {self.from_state}→{self.to_state}"


class TicketRead(BaseModel):
    """How far an agent has read a ticket: the newest client message it was shown (tickets.services.unread).

    One row per (agent, ticket), moved forward only; the inbox's unread count is the client messages
    of the ticket created after `read_upto`."""

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="+")
    read_upto = models.DateTimeField()

    class Meta:
        db_table = "ticket_reads"
        verbose_name = _("leitura do atendimento")
        verbose_name_plural = _("leituras dos atendimentos")
        constraints = [models.UniqueConstraint(fields=["agent", "ticket"], name="ticket_read_one_per_agent")]

    def __str__(self):
        return f"{self.agent_id} {self.ticket_id} {self.read_upto}"


class TicketTag(BaseModel):
    """A tag on a ticket. Removing it clears `active` (nothing is deleted); adding it again sets it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="tag_links")
    tag = models.ForeignKey("accounts.Tag", on_delete=models.PROTECT, related_name="ticket_links")
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "ticket_tags"
        verbose_name = _("etiqueta do atendimento")
        verbose_name_plural = _("etiquetas dos atendimentos")
        constraints = [models.UniqueConstraint(fields=["ticket", "tag"], name="ticket_tag_unique")]
        indexes = [models.Index(fields=["tag", "active"], name="ticket_tag_by_tag")]

    def __str__(self):
        return f"{self.ticket_id} · {self.tag_id}"


class TicketTerm(BaseModel):
    """One search term of a ticket's messages (accounts.search.words), written with each message
    (tickets.reads.search): the queue's search reads these, never the messages."""

    # No index of their own: the (reseller, term) and unique (ticket, term) indexes serve every lookup, and
    # each index more is a write more per term.
    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+", db_index=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="+", db_index=False)
    term = models.CharField(max_length=32)

    class Meta:
        db_table = "ticket_search_terms"
        verbose_name = _("termo de busca do atendimento")
        verbose_name_plural = _("termos de busca dos atendimentos")
        constraints = [models.UniqueConstraint(fields=["ticket", "term"], name="ticket_term_unique")]
        indexes = [
            # One index per tenant and term (an installation admin's search lists the tenants: one range each).
            # The pattern opclass lets PostgreSQL serve `LIKE 'word%'` whatever the collation; others ignore it.
            models.Index(
                fields=["reseller", "term"], name="ticket_term_search", opclasses=["uuid_ops", "varchar_pattern_ops"]
            ),
        ]

    def __str__(self):
        return self.term


class MediaFile(BaseModel):
    """One stored file of a tenant, named by the tenant and the SHA-256 of its bytes in the media storage
    (tickets.media.store).

    Content-addressed within a tenant: the same bytes sent twice to one tenant are one file; the same bytes
    of two tenants are two files, so no tenant can tell that another stored them. Never overwritten, never
    deleted. Only the reference lives in the database (a MongoDB document holds at most 16 MB).
    """

    # Empty for the files stored before addressing was per tenant: still served, never matched by a new store.
    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    # The first claim stored with the bytes in this tenant, or what Pillow found in them. A message is served
    # with its own type (Message.file_type); this one only for files stored before that was kept.
    mime_type = models.CharField(max_length=255)
    storage_name = models.CharField(max_length=300)
    # Pillow decoded the bytes as a raster image: only then is an image shown inline.
    raster_image = models.BooleanField(default=False)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    thumbnail_name = models.CharField(max_length=300, blank=True)
    thumbnail_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "media_files"
        verbose_name = _("arquivo de mídia")
        verbose_name_plural = _("arquivos de mídia")
        constraints = [
            # One file per tenant and content: a race of two stores keeps one (the loser's insert fails).
            models.UniqueConstraint(fields=["reseller", "sha256"], name="media_file_unique_per_tenant"),
        ]

    def __str__(self):
        return f"{self.sha256[:12]} {self.mime_type} {self.size}"


class MediaDownload(BaseModel):
    """The durable job that fetches the file of a media message from its provider (leased like the outbox)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Baixando")
        STORED = "stored", _("Guardado")
        FAILED = "failed", _("Indisponível")

    message = models.OneToOneField(Message, on_delete=models.PROTECT, related_name="media_download")
    # The message's connection, copied onto the job: the worker deals jobs out connection by connection
    # (iaze.lib.jobs fairness) with a plain filter, never a join through the message.
    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    # The journal event that carried the message (Evolution may carry the file itself, in base64).
    source_event_id = models.UUIDField(null=True, blank=True)
    # The job's fields (iaze.lib.jobs); not_before: not fetched before.
    attempts, next_attempt_at, not_before, lease_until = job_fields()
    error_code = models.CharField(max_length=32, blank=True)
    error_text = models.TextField(blank=True)
    stored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "media_downloads"
        verbose_name = _("download de mídia")
        verbose_name_plural = _("downloads de mídia")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="media_download_due")]

    def __str__(self):
        return f"{self.message_id} {self.state}"


class QuickReply(BaseModel):
    """A reseller's canned answer (`/boleto`), optionally for one department only.

    The text may use {{nome}} (the client), {{agente}} (the agent) and {{protocolo}} (the ticket).
    """

    reseller = models.ForeignKey(
        "accounts.Reseller", on_delete=models.PROTECT, related_name="quick_replies", verbose_name=_("revenda")
    )
    department = models.ForeignKey(
        "accounts.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quick_replies",
        verbose_name=_("departamento"),
        help_text=_("Vazio: todos os departamentos."),
    )
    shortcut = models.CharField(_("atalho"), max_length=40, help_text=_("Ex.: /boleto"))
    text = models.TextField(_("texto"), help_text=_("Pode usar {{nome}}, {{agente}} e {{protocolo}}."))
    active = models.BooleanField(_("ativa"), default=True)
    # An optional file (a PIX QR code, a catalogue PDF) stored like every other (tickets.media.store) and sent
    # as a file with the text as its caption; its name and type as uploaded (checked, tickets.media.outbound).
    media_file = models.ForeignKey(
        "tickets.MediaFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("arquivo"),
    )
    file_name = models.CharField(_("nome do arquivo"), max_length=255, blank=True)
    file_type = models.CharField(_("tipo do arquivo"), max_length=255, blank=True)

    class Meta:
        db_table = "quick_replies"
        verbose_name = _("resposta rápida")
        verbose_name_plural = _("respostas rápidas")
        ordering = ["shortcut"]
        constraints = [
            models.UniqueConstraint(
                fields=["reseller", "department", "shortcut"], name="quick_reply_unique_shortcut_per_department"
            )
        ]

    def __str__(self):
        return self.shortcut

    def save(self, *args, **kwargs):
        self.shortcut = "/" + self.shortcut.strip().lstrip("/")
        super().save(*args, **kwargs)


class MessageTemplate(BaseModel):
    """A message template of a (Meta) connection, with `{{1}}`, `{{2}}`… placeholders in its body.

    Registered in the admin or synced from Meta; sent with tickets.services.ticket_template_send.
    """

    class Status(models.TextChoices):
        APPROVED = "APPROVED", _("Aprovado")
        PENDING = "PENDING", _("Pendente")
        REJECTED = "REJECTED", _("Rejeitado")
        PAUSED = "PAUSED", _("Pausado")
        DISABLED = "DISABLED", _("Desativado")
        INACTIVE = "INACTIVE", _("Inativo (não existe mais na Meta)")

    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.PROTECT, related_name="templates", verbose_name=_("conexão")
    )
    name = models.CharField(_("nome"), max_length=512)
    language = models.CharField(_("idioma"), max_length=16, default="pt_BR")
    category = models.CharField(_("categoria"), max_length=32, blank=True)
    body = models.TextField(_("texto"), help_text=_("Com {{1}}, {{2}}… no lugar dos parâmetros."))
    status = models.CharField(_("situação"), max_length=16, choices=Status.choices, default=Status.APPROVED)

    class Meta:
        db_table = "message_templates"
        verbose_name = _("modelo de mensagem")
        verbose_name_plural = _("modelos de mensagem")
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "name", "language"], name="message_template_unique_per_connection"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.language})"

    @property
    def param_count(self) -> int:
        return template_param_count(self.body)

    def render(self, params) -> str:
        return template_render(self.body, params)


_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def template_param_count(body: str) -> int:
    return max((int(n) for n in _PLACEHOLDER.findall(body or "")), default=0)


def template_render(body: str, params) -> str:
    values = list(params)

    def fill(match):
        n = int(match.group(1))
        return values[n - 1] if 0 < n <= len(values) else match.group(0)

    return _PLACEHOLDER.sub(fill, body or "")


class ScheduledMessage(BaseModel):
    """A text or an approved template to send to a contact at `send_at` (tickets.services.outreach).

    A durable job (tickets.queues.SCHEDULED over iaze.lib.jobs): `not_before` is `send_at`, so it is never
    sent early; the claim moves it agendada → enviando with a lease, so of any number of workers exactly
    one sends it; enviada, falhou (with the reason) and cancelada are final. Cancel is one conditional
    write from agendada. Nothing is deleted."""

    class State(models.TextChoices):
        AGENDADA = "agendada", _("Agendada")
        ENVIANDO = "enviando", _("Enviando")
        ENVIADA = "enviada", _("Enviada")
        CANCELADA = "cancelada", _("Cancelada")
        FALHOU = "falhou", _("Falhou")

    reseller = models.ForeignKey("accounts.Reseller", on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="scheduled_messages")
    connection = models.ForeignKey("whatsapp.Connection", on_delete=models.PROTECT, related_name="+", db_index=False)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    send_at = models.DateTimeField()
    text = models.TextField(blank=True)
    template = models.ForeignKey(MessageTemplate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    template_params = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.AGENDADA)
    # Why it failed (falhou), in the words the list shows.
    reason = models.TextField(blank=True)
    # Where it went: the ticket it was sent into and its outbound message (enviada).
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Idempotency key of the scheduling form: a double click schedules once.
    client_nonce = models.CharField(max_length=64, blank=True)
    # The job's fields (iaze.lib.jobs).
    attempts, next_attempt_at, not_before, lease_until = job_fields()

    class Meta:
        db_table = "scheduled_messages"
        verbose_name = _("mensagem agendada")
        verbose_name_plural = _("mensagens agendadas")
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "client_nonce"],
                condition=Q(client_nonce__gt=""),
                name="scheduled_message_unique_nonce",
            ),
        ]
        indexes = [
            # The worker's read: due jobs by state and time (iaze.lib.jobs.Queue.due).
            models.Index(fields=["state", "not_before"], name="scheduled_message_due"),
            # The list (/agendamentos/): an agent's own, a supervisor's tenant, newest send_at first.
            models.Index(fields=["created_by", "-send_at"], name="scheduled_message_by_agent"),
            models.Index(fields=["reseller", "-send_at"], name="scheduled_message_by_tenant"),
        ]

    def __str__(self):
        return f"{self.client_id} {self.send_at:%Y-%m-%d %H:%M} {self.state}"
