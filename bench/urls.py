from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import path

from bench.bare import bare_webhook
from iaze.urls import urlpatterns as app_urlpatterns


@login_required
def login_only(request):
    """The floor of every authenticated request (bench.floor): the session, the user and its tenant."""
    return HttpResponse(status=204)


urlpatterns = [
    path("_bench/bare-webhook/<slug:key>/", bare_webhook),
    path("_bench/login-only/", login_only),
    *app_urlpatterns,
]
