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

from . import media
from .models import MediaDownload, Message, MessageTemplate, QuickReply, Ticket, TicketEvent, TicketTag, UIState


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
    moved = sum(media.download_retry(job_id) for job_id in failed.values_list("pk", flat=True))
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
    actions = [retry_media_download]
    search_fields = ("text", "ticket__client__name", "ticket__client__phone")
    list_select_related = ("ticket__client",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)

    @admin.display(description=_("texto"))
    def preview(self, obj):
        return obj.text[:80]

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
    class Meta:
        model = QuickReply
        fields = ("reseller", "department", "shortcut", "text", "active")

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
