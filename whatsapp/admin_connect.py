"""The admin's "Conectar WhatsApp" page (Evolution): /admin/whatsapp/connection/conectar/.

The reseller types the gateway's address, its global key and a name for the instance; IAZE creates the
instance on the gateway with its webhook already pointing here (or adopts an existing one), then shows the
QR code. The global key is a password field, never rendered back; only the instance's own token is kept."""

from __future__ import annotations

import secrets

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Reseller
from accounts.selectors import queryset_for, user_is_tenant_manager
from providers import SendError, evolution_setup
from providers.base import admin_call_budget, admin_call_seconds, call_budget
from providers.meta_check import MetaCheckError, MetaNumber, meta_phone_check
from providers.url_guard import UnsafeURL, check_provider_url
from whatsapp.models import Connection, new_connection_key
from whatsapp.services import evolution_connection_create, meta_connection_create

# Evolution answers instance/create only after it waited 5 s for the first QR code: the admin's usual short
# budget would always give up first.
CREATE_SECONDS = 12.0


def public_url(request) -> str:
    """IAZE's own address for the provider (IAZE_PUBLIC_URL), else the one this page is reached on."""
    return getattr(settings, "IAZE_PUBLIC_URL", "") or request.build_absolute_uri("/")


class TenantFields(forms.Form):
    reseller = forms.ModelChoiceField(queryset=Reseller.objects.none(), label=_("revenda"))
    default_department = forms.ModelChoiceField(queryset=Department.objects.none(), label=_("departamento padrão"))
    name = forms.CharField(label=_("nome"), max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reseller"].queryset = queryset_for(user, Reseller)
        self.fields["default_department"].queryset = queryset_for(user, Department).filter(active=True)
        if user_is_tenant_manager(user):
            self.fields["reseller"].initial = user.reseller_id
            self.fields["reseller"].disabled = True

    def clean(self):
        cleaned = super().clean()
        reseller, department = cleaned.get("reseller"), cleaned.get("default_department")
        if reseller is not None and department is not None and department.reseller_id != reseller.pk:
            self.add_error("default_department", _("O departamento precisa ser da mesma revenda da conexão."))
        return cleaned


def _password(label, help_text=""):
    return forms.CharField(
        label=label,
        max_length=4096,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=help_text,
    )


def _checked_base_url(url: str) -> str:
    if url:
        try:
            check_provider_url(url, unresolved_ok=True)
        except UnsafeURL as exc:
            raise forms.ValidationError(exc.text) from None
    return url


class EvolutionConnectForm(TenantFields):
    api_base_url = forms.URLField(label=_("URL do gateway Evolution"), max_length=500, assume_scheme="https")
    global_key = forms.CharField(
        label=_("chave global do gateway (apikey)"),
        max_length=255,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Digitada uma vez por gateway e nunca exibida de novo: em branco, usa a já guardada para esta URL."
        ),
    )
    instance_name = forms.SlugField(label=_("nome da instância"), max_length=128)

    def clean_api_base_url(self):
        return _checked_base_url(self.cleaned_data["api_base_url"])

    def clean_instance_name(self):
        name = self.cleaned_data["instance_name"]
        if Connection.objects.filter(instance_name=name, provider=evolution_setup.PROVIDER).exists():
            raise forms.ValidationError(_("Já existe uma conexão do IAZE com esta instância."))
        return name

    def clean(self):
        cleaned = super().clean()
        reseller, url = cleaned.get("reseller"), cleaned.get("api_base_url")
        if not cleaned.get("global_key") and reseller is not None and url:
            # The tenant's own connections on this gateway only: another tenant's key is never reused.
            stored = (
                Connection.objects.filter(reseller=reseller, provider=evolution_setup.PROVIDER)
                .filter(api_base_url__in={url, url.rstrip("/"), url.rstrip("/") + "/"})
                .exclude(gateway_key="")
                .values_list("gateway_key", flat=True)
                .first()
            )
            if stored:
                cleaned["global_key"] = stored
            else:
                self.add_error(
                    "global_key", _("Informe a chave global deste gateway (a primeira vez que ele é usado).")
                )
        return cleaned


# The webhook key and verify token the Meta page shows travel signed in the form: chosen by IAZE (random,
# unguessable), never by the browser, and the same between "Testar conexão" and saving.
SETUP_SALT = "whatsapp.meta-connect"
SETUP_MAX_AGE = 24 * 3600


def meta_setup_new() -> str:
    return signing.dumps({"key": new_connection_key(), "verify": secrets.token_urlsafe(24)}, salt=SETUP_SALT)


def meta_setup_read(value: str) -> dict | None:
    try:
        data = signing.loads(value or "", salt=SETUP_SALT, max_age=SETUP_MAX_AGE)
    except signing.BadSignature:
        return None
    return data if isinstance(data, dict) and data.get("key") and data.get("verify") else None


class MetaConnectForm(TenantFields):
    phone_number_id = forms.RegexField(label=_("ID do número de telefone"), regex=r"^\d{5,32}$", max_length=32)
    business_account_id = forms.RegexField(
        label=_("ID da conta WhatsApp Business"), regex=r"^\d{5,32}$", max_length=32, required=False
    )
    access_token = _password(_("token de acesso"), _("Por segurança, digite de novo a cada envio; não é exibido."))
    app_secret = _password(_("app secret"), _("Usado para conferir a assinatura dos webhooks da Meta."))
    api_base_url = forms.URLField(
        label=_("URL base da Graph API"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("Deixe em branco para usar a da Meta."),
    )
    setup = forms.CharField(widget=forms.HiddenInput)

    def clean_api_base_url(self):
        return _checked_base_url(self.cleaned_data.get("api_base_url") or "")

    def clean_setup(self):
        data = meta_setup_read(self.cleaned_data["setup"])
        if data is None:
            raise forms.ValidationError(_("O formulário expirou; confira a URL e o token mostrados e envie de novo."))
        return data


class ConnectAdminMixin:
    """Adds /admin/whatsapp/connection/conectar/ to the connection admin."""

    def get_urls(self):
        urls = super().get_urls()  # type: ignore[misc]
        view = self.admin_site.admin_view(self.connect_view)  # type: ignore[attr-defined]
        meta = self.admin_site.admin_view(self.connect_meta_view)  # type: ignore[attr-defined]
        return [
            path("conectar/", view, name="whatsapp_connection_connect"),
            path("conectar-meta/", meta, name="whatsapp_connection_connect_meta"),
            *urls,
        ]

    def connect_meta_view(self, request):
        """Shows the webhook URL and verify token to paste at Meta; "Testar conexão" checks the token and the
        phone number id with Graph; "Salvar" checks them again and only then writes the connection."""
        if not self.has_add_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        posted = request.POST or None
        form = MetaConnectForm(posted, user=request.user)
        # The page always carries a valid setup: the posted one, or a fresh one (first visit, or expired).
        setup_value = request.POST.get("setup", "") if posted else ""
        setup = meta_setup_read(setup_value)
        if setup is None:
            setup_value = meta_setup_new()
            setup = meta_setup_read(setup_value)
        number: MetaNumber | None = None
        connection = None
        if posted and form.is_valid():
            data = form.cleaned_data
            try:
                with admin_call_budget():
                    if "save" in request.POST:
                        connection = meta_connection_create(
                            reseller=data["reseller"],
                            department=data["default_department"],
                            name=data["name"],
                            key=setup["key"],
                            verify_token=setup["verify"],
                            phone_number_id=data["phone_number_id"],
                            business_account_id=data["business_account_id"],
                            access_token=data["access_token"],
                            app_secret=data["app_secret"],
                            base_url=data["api_base_url"],
                        )
                        number = MetaNumber(connection.display_phone, connection.name)
                    else:
                        number = meta_phone_check(
                            base_url=data["api_base_url"] or settings.META_GRAPH_BASE_URL,
                            phone_number_id=data["phone_number_id"],
                            access_token=data["access_token"],
                        )
            except MetaCheckError as exc:
                form.add_error(exc.field or None, exc.text)
            except SendError as exc:
                form.add_error(None, exc.text)
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": Connection._meta,
            "title": _("Conectar WhatsApp (Meta Cloud API)"),
            "form": form,
            "setup_value": setup_value,
            "webhook_url": f"{public_url(request).rstrip('/')}/whatsapp/webhook/{setup['key']}/",
            "verify_token": setup["verify"],
            "number": number,
            "connection": connection,
        }
        return TemplateResponse(request, "admin/whatsapp/connection/connect_meta.html", context)

    def connect_view(self, request):
        if not self.has_add_permission(request):  # type: ignore[attr-defined]
            raise PermissionDenied
        form = EvolutionConnectForm(request.POST or None, user=request.user)
        connection = created = None
        error = ""
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with call_budget(max(admin_call_seconds(), CREATE_SECONDS)):
                    connection, created = evolution_connection_create(
                        reseller=data["reseller"],
                        department=data["default_department"],
                        name=data["name"],
                        base_url=data["api_base_url"],
                        global_key=data["global_key"],
                        instance_name=data["instance_name"],
                        public_url=public_url(request),
                    )
            except SendError as exc:
                error = exc.text
        context = {
            **self.admin_site.each_context(request),  # type: ignore[attr-defined]
            "opts": Connection._meta,
            "title": _("Conectar WhatsApp"),
            "form": form,
            "error": error,
            "connection": connection,
            "created": created,
        }
        return TemplateResponse(request, "admin/whatsapp/connection/connect.html", context)
