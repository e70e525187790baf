from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import ThrottledLoginView, api_tokens
from iaze import guide, views
from tickets.web import events

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/", views.healthz),
    # Before Django's auth URLs, so /accounts/login/ is the throttled view.
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    # Only the auth views IAZE uses: no password_reset (an admin sets a forgotten password in the admin).
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/tokens/", api_tokens, name="api_tokens"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("whatsapp/", include("whatsapp.urls")),
    path("tickets/", include("tickets.web.urls")),
    # Live updates: a Server-Sent Events stream per user (docs/workspace.md#live-updates).
    path("eventos/", events.events, name="events"),
    path("relatorios/", include("reports.urls")),
    path("painel/", include("tickets.web.panel_urls")),
    # Novo atendimento and Agendamentos: /contatos/<uuid>/conversar/, /contatos/<uuid>/agendar/, /agendamentos/.
    path("", include("tickets.web.outreach_urls")),
    path("contatos/", include("contacts.urls")),
    path("api/v1/", include("api.urls")),
    # The user guide, docs/guia/ (iaze/guide.py).
    path("ajuda/", guide.guide, name="guide"),
    path("ajuda/<slug:page>/", guide.guide, name="guide_page"),
    path("ajuda/<slug:folder>/<str:name>", guide.guide_image, name="guide_image"),
    path("", RedirectView.as_view(url="/tickets/", permanent=False)),
]
