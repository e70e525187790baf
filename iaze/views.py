import logging

from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.models import Reseller

log = logging.getLogger(__name__)


@never_cache
@require_GET
def healthz(request):
    try:
        Reseller.objects.only("pk").first()  # one trivial query, on every profile
    except DatabaseError:
        log.exception("healthz: database unreachable")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    except Exception:  # pymongo errors are not DatabaseError subclasses
        log.exception("healthz: database check failed")
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
