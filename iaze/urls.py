from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/", views.healthz),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("whatsapp/", include("whatsapp.urls")),
    path("tickets/", include("tickets.urls")),
    path("", RedirectView.as_view(url="/tickets/", permanent=False)),
]
