"""The admin site and the base of every project ModelAdmin: one admin, scoped by role.

Who gets in, and why not Django's model permissions: access follows the user's
role, which a reseller cannot escalate, instead of per-user permission rows that
someone would have to keep in sync with the role.

- installation admins (superusers / role admin): every page, every tenant;
- tenant managers (role reseller, with a tenant): the same pages, but every list,
  form choice, filter and search goes through accounts.selectors (each app registers its models' scope), the tenant is
  forced on save, and another tenant's object answers 404;
- agents and anonymous users: the login page (a 302 from every admin URL).

Nobody deletes anything: the delete action is disabled site-wide and every
delete page answers 403 (404 for another tenant's object).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.filters import SimpleListFilter
from django.core.exceptions import FieldDoesNotExist
from django.db.models.constants import LOOKUP_SEP
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.selectors import has_scope, queryset_for, user_is_installation_admin, user_is_tenant_manager


def can_use_admin(user) -> bool:
    return bool(user.is_active and user.is_staff and (user_is_installation_admin(user) or user_is_tenant_manager(user)))


# Lists kept for diagnosis rather than daily work: grouped apart on the admin index (get_app_list).
TECHNICAL_MODELS = frozenset(
    {
        "whatsapp.webhookevent",
        "whatsapp.recoveryrun",
        "tickets.ticketevent",
        "webhooks.webhookdelivery",
        "accounts.apitoken",
    }
)


class IazeAdminSite(admin.AdminSite):
    site_header = _("IAZE — administração")
    site_title = _("IAZE")
    index_title = _("Administração")
    login_form = ThrottledAdminAuthenticationForm
    site_url = "/tickets/"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.disable_action("delete_selected")

    def has_permission(self, request):
        return can_use_admin(request.user)

    def index(self, request, extra_context=None):
        extra_context = dict(extra_context or {})
        for panel in INDEX_PANELS:
            extra_context.update(panel(request))
        return super().index(request, extra_context)

    def get_app_list(self, request, app_label=None):
        """The index and the side menu: everyday lists by app, the technical ones (journals, recoveries,
        deliveries, ticket events: read when something went wrong) apart in a last group, "Técnico".
        An app's own page (app_label given) keeps all its models."""
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        technical = []
        for app in app_list:
            keep = []
            for model in app["models"]:
                key = f"{app['app_label']}.{model['object_name'].lower()}"
                (technical if key in TECHNICAL_MODELS else keep).append(model)
            app["models"] = keep
        app_list = [app for app in app_list if app["models"]]
        if technical:
            app_list.append(
                {
                    "name": _("Técnico"),
                    "app_label": "tecnico",
                    "app_url": "#",
                    "has_module_perms": True,
                    "models": technical,
                }
            )
        return app_list


# Context for the admin home from apps above accounts (whatsapp's first-run checklist needs connections and
# messages, which this layer may not import): each is called with the request and returns template context.
INDEX_PANELS: list = []


def index_panel_register(panel) -> None:
    if panel not in INDEX_PANELS:
        INDEX_PANELS.append(panel)


# Field names whose values are secrets wherever they sit (a connection's tokens, a password hash):
# no changelist lookup may name them, directly or through a relation, since a filter such as
# `?app_secret__regex=^S` answers "1 result" or "0 results" and so reads the secret out.
SECRET_LOOKUP_NAMES: set[str] = {"password"}


def secret_fields_register(*names: str) -> None:
    """Apps holding secrets name their fields here (whatsapp: the connection's tokens)."""
    SECRET_LOOKUP_NAMES.update(names)


def lookup_field_path(model, lookup: str) -> str:
    """The fields a changelist lookup filters on, without its transforms and lookup type:
    `connection__id__exact` → "connection" (a relation's own key is the relation), `body__regex` → "body",
    `received_at__year` → "received_at". Empty when the first part names no field (a SimpleListFilter's
    parameter, `pk`): those are no field lookups."""
    names: list[str] = []
    prev = None
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            break
        if prev is not None and field in getattr(prev, "foreign_related_fields", ()):
            break  # `connection__id`: the relation's own key, the same filter as `connection`
        names.append(field.name)
        if not getattr(field, "path_infos", None):
            break  # not a relation: what follows is a transform or the lookup type
        prev = field
        model = field.path_infos[-1].to_opts.model
    return LOOKUP_SEP.join(names)


# Bookkeeping columns that mean nothing to a tenant manager (report rollup marks, change versions, job
# leases and attempt counters, hashes, dedup keys): shown to installation admins only, who debug with them.
INTERNAL_FIELD_NAMES = frozenset(
    {
        "version",
        "changed_at",
        "last_change",
        "ticket_version",
        "attempts",
        "next_attempt_at",
        "not_before",
        "lease_until",
        "secret_hash",
        "body_sha256",
        "dedup_key",
        "name_key",
        "client_nonce",
        "cursor",
        "opened_local_date",
        "opened_local_how",
        "closed_local_date",
        "rating_message_id",
        "menu_prompts_sent",
    }
)


def is_internal_field(name) -> bool:
    return isinstance(name, str) and (name in INTERNAL_FIELD_NAMES or name.startswith("rolled_"))


def without_internal(names):
    """`names` (a fields tuple, whose items may be tuples shown on one line) without the internal ones."""
    kept = []
    for name in names:
        if isinstance(name, (list, tuple)):
            line = tuple(n for n in name if not is_internal_field(n))
            if line:
                kept.append(line)
        elif not is_internal_field(name):
            kept.append(name)
    return kept


class ScopedAdmin(admin.ModelAdmin):
    """A ModelAdmin whose rows, choices and permissions follow accounts.selectors and the user's role."""

    # The FK naming the row's tenant: forced to the manager's own, shown read-only.
    tenant_field: str | None = "reseller"
    admin_can_add = True
    manager_can_add = True
    read_only = False  # rows written only by services: view, never add or change here
    # Fields a changelist may be filtered on besides list_filter and date_hierarchy (each a field path,
    # e.g. "ticket"). Everything else is refused: see lookup_allowed.
    lookup_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None):
        """Only the filters this admin offers. Django allows any lookup on the model's own fields, so
        `?body__regex=^.{0,5}` on the webhook journal answered "n results" and read a stored body (and the
        API key inside it) out a character at a time, and `?body__gt=a` was a 500. Now a lookup on a field
        that is not in list_filter, date_hierarchy or lookup_fields (stored bodies, error texts, media
        metadata, keys…) and any lookup naming a secret is refused: DisallowedModelAdminLookup, a 400."""
        if any(part in SECRET_LOOKUP_NAMES for part in lookup.split(LOOKUP_SEP)):
            return False
        path = lookup_field_path(self.model, lookup)
        if path and path not in self.filter_paths(request):
            return False
        return super().lookup_allowed(lookup, value, request)

    def filter_paths(self, request) -> set[str]:
        """The field paths this admin's changelist filters on (as lookup_field_path names them)."""
        names = {self.model._meta.pk.name, *self.lookup_fields}
        if self.date_hierarchy:
            names.add(self.date_hierarchy)
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        for item in list_filter:
            if isinstance(item, type) and issubclass(item, SimpleListFilter):
                names.add(item.parameter_name)
            elif isinstance(item, (list, tuple)):
                names.add(item[0])
            else:
                names.add(item)
        return {lookup_field_path(self.model, name) or name for name in names if name}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if user_is_installation_admin(request.user):
            return fieldsets
        return [(name, {**opts, "fields": without_internal(opts["fields"])}) for name, opts in fieldsets]

    def get_list_display(self, request):
        names = super().get_list_display(request)
        return names if user_is_installation_admin(request.user) else without_internal(names)

    def get_queryset(self, request):
        qs = queryset_for(request.user, self.model)
        # A stable order for pagination (and the autocomplete endpoint) on models without Meta.ordering.
        ordering = self.get_ordering(request) or self.model._meta.ordering or ("-created_at",)
        return qs.order_by(*ordering)

    def get_object(self, request, object_id, from_field=None):
        # Django answers a missing object with a redirect and a message; another tenant's
        # object (or a made-up id) must be indistinguishable from nothing: a real 404.
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("Registro não encontrado."))
        return obj

    # --- permissions: by role, see the module docstring ---------------------------

    def has_module_permission(self, request):
        return can_use_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return can_use_admin(request.user)

    def has_add_permission(self, request):
        if self.read_only or not can_use_admin(request.user):
            return False
        return self.admin_can_add if user_is_installation_admin(request.user) else self.manager_can_add

    def has_change_permission(self, request, obj=None):
        return not self.read_only and can_use_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return False

    # --- choices: only what the user may see ------------------------------------------

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        return super().formfield_for_foreignkey(
            db_field, request, **scoped_choice_kwargs(self, db_field, request, kwargs)
        )

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return super().formfield_for_manytomany(
            db_field, request, **scoped_choice_kwargs(self, db_field, request, kwargs)
        )

    def save_model(self, request, obj, form, change):
        if self.tenant_field and user_is_tenant_manager(request.user):
            setattr(obj, f"{self.tenant_field}_id", request.user.reseller_id)
        super().save_model(request, obj, form, change)


def scoped_choice_kwargs(model_admin, db_field, request, kwargs):
    """Limit a relation's choices to the user's scope; a manager's own tenant field is fixed."""
    related = db_field.remote_field.model
    if has_scope(related):
        kwargs["queryset"] = queryset_for(request.user, related)
    if getattr(model_admin, "tenant_field", None) == db_field.name and user_is_tenant_manager(request.user):
        # Disabled fields take their value from `initial`, never from the POST, and still
        # go through model validation (unique constraints that include the tenant).
        kwargs.update(initial=request.user.reseller_id, disabled=True)
    return kwargs


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return can_use_admin(request.user)
