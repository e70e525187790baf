from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import services
from accounts.admin_site import ScopedAdmin, can_use_admin
from accounts.contact_fields import field_key
from accounts.forms import DepartmentForm, ResellerConfigForm, UserAddForm, UserEditForm
from accounts.models import (
    Client,
    ClientChange,
    ClientTag,
    ContactField,
    Department,
    Reseller,
    ResellerConfig,
    Tag,
    User,
)
from accounts.search import fold
from accounts.selectors import queryset_for, user_is_installation_admin, user_is_tenant_manager

# Access follows roles, not Django groups or permission rows: hide what would suggest otherwise.
admin.site.unregister(Group)


def _deactivate(modeladmin, request, queryset, field):
    changed = services.deactivate(queryset, field=field)
    modeladmin.message_user(
        request,
        ngettext("%(n)d registro desativado.", "%(n)d registros desativados.", changed) % {"n": changed},
        messages.SUCCESS,
    )


@admin.action(description=_("Desativar selecionados"), permissions=["change"])
def deactivate_active(modeladmin, request, queryset):
    _deactivate(modeladmin, request, queryset, "active")


@admin.action(description=_("Desativar usuários selecionados"), permissions=["change"])
def deactivate_users(modeladmin, request, queryset):
    _deactivate(modeladmin, request, queryset.exclude(pk=request.user.pk), "is_active")


class ResellerConfigInline(admin.StackedInline):
    model = ResellerConfig
    form = ResellerConfigForm
    can_delete = False
    max_num = 1

    # The parent page is already scoped to the user's tenant (ResellerAdmin.get_object).
    def has_view_permission(self, request, obj=None):
        return can_use_admin(request.user)

    def has_add_permission(self, request, obj=None):
        return can_use_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return can_use_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reseller)
class ResellerAdmin(ScopedAdmin):
    tenant_field = None  # the row is the tenant; the selector scopes by pk
    manager_can_add = False
    list_display = ("name", "slug", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("name", "slug")
    inlines = [ResellerConfigInline]
    actions = [deactivate_active]

    def get_readonly_fields(self, request, obj=None):
        # A tenant manager edits its configuration, not its own identity or standing.
        return ("name", "slug", "active") if user_is_tenant_manager(request.user) else ()

    def get_actions(self, request):
        return super().get_actions(request) if user_is_installation_admin(request.user) else {}

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Every tenant has a configuration row, even when the inline was left untouched.
        ResellerConfig.objects.get_or_create(reseller=form.instance)


@admin.register(Department)
class DepartmentAdmin(ScopedAdmin):
    list_display = ("name", "reseller", "active")
    list_select_related = ("reseller",)
    list_filter = ("active", ("reseller", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name",)
    form = DepartmentForm
    fieldsets = (
        (None, {"fields": ("reseller", "name", "active")}),
        (
            _("Horário e mensagens do departamento"),
            {"fields": ("own_hours", "business_hours", "greeting_text", "out_of_hours_text", "farewell_text")},
        ),
    )
    actions = [deactivate_active]


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserAddForm
    ordering = ("email",)
    list_display = ("email", "name", "role", "reseller", "is_active", "last_login")
    list_select_related = ("reseller",)
    list_filter = ("role", "is_active", ("reseller", admin.RelatedOnlyFieldListFilter))
    search_fields = ("email", "name")
    filter_horizontal = ("departments",)
    readonly_fields = ("last_login", "created_at")
    actions = [deactivate_users]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Perfil"), {"fields": ("name", "role", "reseller", "departments")}),
        (
            _("Situação"),
            {
                "fields": ("is_active", "last_login", "created_at"),
                "description": _(
                    "Usuários nunca são excluídos: desative-os. O acesso ao admin segue o "
                    "papel (administrador ou revenda)."
                ),
            },
        ),
    )
    add_fieldsets = (
        (None, {"fields": ("email", "usable_password", "password1", "password2")}),
        (_("Perfil"), {"fields": ("name", "role", "reseller", "departments")}),
    )

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        # Who may learn that an e-mail is taken: see TenantUserFormMixin.email_taken_detail.
        return type(form.__name__, (form,), {"email_taken_detail": user_is_installation_admin(request.user)})

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "role" and not user_is_installation_admin(request.user):
            kwargs["choices"] = [(r.value, r.label) for r in (User.Role.AGENT, User.Role.RESELLER)]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        # Admin access and superuser status follow the role, so they cannot drift apart.
        obj.is_superuser = obj.role == User.Role.ADMIN
        obj.is_staff = obj.role in (User.Role.ADMIN, User.Role.RESELLER)
        super().save_model(request, obj, form, change)


class TagListFilter(admin.SimpleListFilter):
    """Rows carrying a tag (of the tags the user may see); `links` names the rows' ids among a tag's links."""

    title = _("etiqueta")
    parameter_name = "etiqueta"

    def lookups(self, request, model_admin):
        return [(str(t.pk), t.name) for t in queryset_for(request.user, Tag).filter(active=True).order_by("name")]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or value not in {key for key, _label in self.lookup_choices}:
            return queryset
        return self.tagged(queryset, value)

    def tagged(self, queryset, tag_id):
        return queryset.filter(pk__in=ClientTag.objects.filter(tag_id=tag_id, active=True).values("client_id"))


@admin.register(Tag)
class TagAdmin(ScopedAdmin):
    list_display = ("name", "color", "reseller", "active")
    list_select_related = ("reseller",)
    list_filter = ("active", ("reseller", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name",)
    fields = ("reseller", "name", "color", "active")
    actions = [deactivate_active]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        base_clean = form.clean

        def clean(self):
            # Unique per tenant whatever the case and accents ("VIP", "vip", "Víp"): a message, not a 500.
            cleaned = base_clean(self)
            reseller = cleaned.get("reseller") or getattr(self.instance, "reseller", None)
            if reseller is None and user_is_tenant_manager(request.user):
                reseller = request.user.reseller
            name = " ".join((cleaned.get("name") or "").split())
            clash = Tag.objects.filter(reseller=reseller, name_key=fold(name)[:40]).exclude(pk=self.instance.pk)
            if reseller is not None and name and clash.exists():
                self.add_error("name", _("Já existe uma etiqueta com este nome."))
            return cleaned

        form.clean = clean
        return form


@admin.register(Client)
class ClientAdmin(ScopedAdmin):
    admin_can_add = manager_can_add = False  # clients come from WhatsApp
    list_display = ("__str__", "phone", "wa_id", "reseller", "created_at")
    list_select_related = ("reseller",)
    list_filter = (TagListFilter, ("reseller", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "phone", "wa_id", "identity")
    fields = (
        "name",
        "previous_names",
        "profile_name",
        "reseller",
        "phone",
        "email",
        "document",
        "notes",
        "wa_id",
        "bsuid",
        "identity",
        "created_at",
    )
    # The contact's data is edited at /contatos/ (numbers and documents checked, every change recorded).
    readonly_fields = (
        "previous_names",
        "profile_name",
        "reseller",
        "phone",
        "email",
        "document",
        "notes",
        "wa_id",
        "bsuid",
        "identity",
        "created_at",
    )
    date_hierarchy = "created_at"

    def save_model(self, request, obj, form, change):
        # A name set here is a person's choice, like a rename in the conversation: kept in the history,
        # never replaced by the provider's profile name, findable by the queue's search.
        renamed = change and "name" in form.changed_data
        old = form.initial.get("name", "") if renamed else ""
        if renamed:
            obj.previous_names = [*(obj.previous_names or []), old] if old else list(obj.previous_names or [])
            obj.name_set_by_agent = True
        super().save_model(request, obj, form, change)
        if renamed:
            services.client_change_record(
                obj, by=request.user, source=ClientChange.Source.ADMIN, changes={"name": (old, obj.name)}
            )
        services.client_terms_index(obj)


@admin.register(ContactField)
class ContactFieldAdmin(ScopedAdmin):
    """The tenant's own contact fields (/contatos/). Deactivated, never deleted; the key is the CSV column."""

    list_display = ("label", "key", "kind", "reseller", "position", "active")
    list_select_related = ("reseller",)
    list_filter = ("active", "kind", ("reseller", admin.RelatedOnlyFieldListFilter))
    search_fields = ("label", "key")
    fields = ("reseller", "label", "key", "kind", "choices", "position", "active")
    actions = [deactivate_active]

    def get_readonly_fields(self, request, obj=None):
        # Values are stored under the key and normalized by the kind: both stay once the field exists.
        return ("key", "kind") if obj is not None else ()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if "key" in form.base_fields:
            form.base_fields["key"].required = False
            form.base_fields["key"].help_text = _("O nome da coluna no CSV; vazio: gerado a partir do nome.")
        base_clean = form.clean

        def clean(self):
            cleaned = base_clean(self)
            reseller = cleaned.get("reseller") or getattr(self.instance, "reseller", None)
            if reseller is None and user_is_tenant_manager(request.user):
                reseller = request.user.reseller
            if self.instance.pk is None:
                key = field_key(cleaned.get("key") or cleaned.get("label") or "")
                if not key:
                    self.add_error("label", _("Informe um nome com letras ou dígitos."))
                elif reseller is not None and ContactField.objects.filter(reseller=reseller, key=key).exists():
                    self.add_error("key", _("Já existe um campo com esta chave."))
                cleaned["key"] = key
                self.instance.key = key
            kind = cleaned.get("kind") or self.instance.kind
            choices = cleaned.get("choices")
            if kind == ContactField.Kind.CHOICE and (
                not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices)
            ):
                self.add_error("choices", _('Informe a lista de opções, por exemplo ["Bronze", "Prata", "Ouro"].'))
            return cleaned

        form.clean = clean
        return form


# API tokens have an admin of their own module (its forms and the page that shows a new secret once).
from accounts import admin_tokens  # noqa: E402,F401
