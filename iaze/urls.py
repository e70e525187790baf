from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import ThrottledLoginView

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/", views.healthz),
    # Before Django's auth URLs, so /accounts/login/ is the throttled view.
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    # Only the auth views IAZE uses: no password_reset (an admin sets a forgotten password in the admin).
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password_change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("whatsapp/", include("whatsapp.urls")),
    path("tickets/", include("tickets.urls")),
    path("relatorios/", include("reports.urls")),
    path("", RedirectView.as_view(url="/tickets/", permanent=False)),
]
