from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import ThrottledLoginView

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/", views.healthz),
    # Before Django's auth URLs, so /accounts/login/ is the throttled view.
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("whatsapp/", include("whatsapp.urls")),
    path("tickets/", include("tickets.urls")),
    path("relatorios/", include("reports.urls")),
    path("", RedirectView.as_view(url="/tickets/", permanent=False)),
]
