"""Tickets, messages and their audit trail in the admin (read-only); quick replies and templates (editable).

Tickets move only through tickets.services (Assumir, Finalizar, replies in the
workspace), so that every change is a checked conditional write with its event;
the admin shows them, filtered to the user's tenant by the selectors.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import TagListFilter
from accounts.admin_site import ReadOnlyInline, ScopedAdmin
from accounts.models import ClientTag
from accounts.selectors import user_is_tenant_manager
from iaze.lib import blobs
from providers.error_texts import delivery_error_text
from tickets.media import downloads as media_downloads
from tickets.media import outbound as media_outbound
from tickets.media import store as media_store
from tickets.models import MediaDownload, Message, MessageTemplate, QuickReply, Ticket, TicketEvent, TicketTag, UIState


class UIStateFilter(admin.SimpleListFilter):
    title = _("estado")
    parameter_name = "estado"

    def lookups(self, request, model_admin):
        return UIState.choices

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.in_state(value) if value in UIState.values else queryset


class TicketTagListFilter(TagListFilter):
    def tagged(self, queryset, tag_id):
        # The ticket's own tag or its client's, as the queue's `?tag=` filter.
        return queryset.filter(
            Q(pk__in=TicketTag.objects.filter(tag_id=tag_id, active=True).values("ticket_id"))
            | Q(client_id__in=ClientTag.objects.filter(tag_id=tag_id, active=True).values("client_id"))
        )


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ("created_at", "direction", "kind", "text", "sender_agent", "delivery_status")
    readonly_fields = fields
    ordering = ("created_at",)


class TicketEventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ("at", "action", "actor", "from_state", "to_state")
    readonly_fields = fields
    ordering = ("at",)
    show_change_link = False


@admin.register(Ticket)
class TicketAdmin(ScopedAdmin):
    read_only = True
    list_display = ("client", "state", "department", "agent", "connection", "last_message_at", "created_at")
    list_filter = (
        UIStateFilter,
        TicketTagListFilter,
        ("department", admin.RelatedOnlyFieldListFilter),
        ("agent", admin.RelatedOnlyFieldListFilter),
        ("connection", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("client__name", "client__phone", "client__wa_id")
    date_hierarchy = "created_at"
    list_select_related = ("client", "department", "agent", "connection")
    ordering = ("-last_message_at",)
    inlines = [MessageInline, TicketEventInline]

    @admin.display(description=_("estado"))
    def state(self, obj):
        return obj.get_ui_state_display()


@admin.action(description=_("Tentar baixar a mídia de novo"), permissions=["retry"])
def retry_media_download(modeladmin, request, queryset):
    """A failed download (e.g. an expired media id) becomes pending again; the worker tries it anew."""
    ids = list(queryset.values_list("pk", flat=True))
    failed = MediaDownload.objects.filter(message_id__in=ids, state=MediaDownload.State.FAILED)
    moved = sum(media_downloads.download_retry(job_id) for job_id in failed.values_list("pk", flat=True))
    modeladmin.message_user(
        request,
        ngettext("%(n)d download de mídia voltou para a fila.", "%(n)d downloads de mídia voltaram para a fila.", moved)
        % {"n": moved},
        messages.SUCCESS if moved else messages.WARNING,
    )


class MediaStateFilter(admin.SimpleListFilter):
    title = _("mídia")
    parameter_name = "midia"

    def lookups(self, request, model_admin):
        return MediaDownload.State.choices

    def queryset(self, request, queryset):
        value = self.value()
        if value not in MediaDownload.State.values:
            return queryset
        ids = MediaDownload.objects.filter(state=value).values_list("message_id", flat=True)
        return queryset.filter(pk__in=list(ids))


@admin.register(Message)
class MessageAdmin(ScopedAdmin):
    read_only = True
    list_display = ("created_at", "ticket", "direction", "kind", "preview", "delivery_status")
    list_filter = ("direction", "kind", "delivery_status", MediaStateFilter)
    readonly_fields = ("delivery_error",)
    actions = [retry_media_download]
    search_fields = ("text", "ticket__client__name", "ticket__client__phone")
    list_select_related = ("ticket__client",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description=_("texto"))
    def preview(self, obj):
        return obj.text[:80]

    @admin.display(description=_("motivo da falha"))
    def delivery_error(self, obj):
        """A failed delivery as the agent reads it: what happened and what to do, in pt-BR."""
        if obj.delivery_status != Message.Delivery.FAILED:
            return "—"
        return delivery_error_text(obj.error_code, obj.error_text)

    def has_retry_permission(self, request):
        return self.has_view_permission(request)


@admin.register(TicketEvent)
class TicketEventAdmin(ScopedAdmin):
    read_only = True
    list_display = ("at", "ticket", "action", "actor", "from_state", "to_state")
    list_filter = ("action",)
    list_select_related = ("ticket__client", "actor")
    date_hierarchy = "at"
    ordering = ("-at",)


class QuickReplyForm(forms.ModelForm):
    # A PIX QR code, a catalogue PDF: sent as a file with the text as its caption. Checked like an agent's
    # attachment (tickets.media.outbound.file_check); each connection's provider limits apply when it is sent.
    attachment = forms.FileField(
        label=_("Arquivo"),
        required=False,
        help_text=_("Opcional: enviado como arquivo, com o texto como legenda (ex.: QR code do PIX, catálogo em PDF)."),
    )
    attachment_remove = forms.BooleanField(label=_("Remover o arquivo"), required=False)

    class Meta:
        model = QuickReply
        fields = ("reseller", "department", "shortcut", "text", "active")

    def clean_attachment(self):
        upload = self.cleaned_data.get("attachment")
        if upload:
            try:
                self.attachment_checked = media_outbound.file_check(upload)
            except media_outbound.MediaRefused as exc:
                raise forms.ValidationError(str(exc)) from exc
            if upload.size > blobs.max_bytes():
                raise forms.ValidationError(_("O arquivo passa do limite."))
        return upload

    def clean(self):
        cleaned = super().clean()
        reseller = cleaned.get("reseller") or getattr(self.instance, "reseller", None)
        department = cleaned.get("department")
        if reseller is not None and department is not None and department.reseller_id != reseller.pk:
            self.add_error("department", _("O departamento precisa ser da mesma revenda."))
        return cleaned


@admin.register(QuickReply)
class QuickReplyAdmin(ScopedAdmin):
    form = QuickReplyForm
    list_display = ("shortcut", "department", "reseller", "active")
    list_filter = ("active", ("department", admin.RelatedOnlyFieldListFilter))
    search_fields = ("shortcut", "text")
    list_select_related = ("department", "reseller")
    ordering = ("shortcut",)
    readonly_fields = ("file_name", "file_type")

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("attachment")
        if upload:
            mime, name, _size = form.attachment_checked
            reseller_id = request.user.reseller_id if user_is_tenant_manager(request.user) else obj.reseller_id
            obj.media_file = media_store.media_file_store(upload.chunks(), reseller_id=reseller_id, claimed_mime=mime)
            obj.file_name, obj.file_type = name, media_store.file_type_stored(obj.media_file, mime)
        elif form.cleaned_data.get("attachment_remove"):
            obj.media_file, obj.file_name, obj.file_type = None, "", ""
        super().save_model(request, obj, form, change)


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ScopedAdmin):
    """Per connection; a tenant manager picks only its own connections (scoped choices)."""

    tenant_field = None
    list_display = ("name", "language", "connection", "category", "status")
    list_filter = ("status", "language", ("connection", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "body")
    list_select_related = ("connection",)
    ordering = ("name", "language")
    fields = ("connection", "name", "language", "category", "body", "status")
