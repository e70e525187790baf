"""The ASGI application: `gunicorn iaze.asgi:application` with uvicorn workers (WEB_WORKER=asgi, the
default of `make run` and the image; gunicorn.conf.py). Every view but /eventos/ stays sync: Django runs
them in threads. iaze.lib.asgi_limits keeps the request limits the sync workers gave."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "iaze.settings")
# Read by the settings: Django runs each request's sync code in a thread of its own under ASGI, so a
# connection kept past its request would be left behind with that thread; one per request instead.
os.environ["IAZE_SERVED_BY"] = "asgi"
django_application = get_asgi_application()

from iaze.lib.asgi_limits import ASGILimits  # noqa: E402 - after Django is set up

application = ASGILimits(django_application)
