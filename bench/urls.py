from django.urls import path

from iaze.urls import urlpatterns as app_urlpatterns

from .bare import bare_webhook

urlpatterns = [path("_bench/bare-webhook/<slug:key>/", bare_webhook), *app_urlpatterns]
