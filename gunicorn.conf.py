"""gunicorn's limits for IAZE: `make run`, the Docker image and the process tests all serve with these
(named with --config; gunicorn also reads ./gunicorn.conf.py by itself). Each can be set from the
environment; docs/operations.md#request-sizes says why these values and what belongs in front.

Bind address, workers and the graceful timeout stay on the command line of each launcher.
"""

from pathlib import Path

import environ

env = environ.Env()
environ.Env.read_env(Path(__file__).resolve().parent / ".env", overwrite=False)

# WEB_WORKER=asgi (the default): uvicorn's workers (iaze.lib.asgi_worker) serving iaze.asgi, so that an
# open /eventos/ stream (live updates) is a waiting coroutine, not a held worker; every other view stays
# sync, run by Django in a thread. iaze.lib.asgi_limits applies the request-line, header and body limits
# below there, since uvicorn parses requests itself. WEB_WORKER=sync serves iaze.wsgi as before (live
# updates then answer 204 and the pages poll): one request per worker. gthread was considered for that
# and not taken: its heartbeat runs beside the requests, so `timeout` never ends a stalled one, and a
# client sending a byte a minute would hold its thread for good. The launchers (scripts/run.sh, the
# Dockerfile) name the matching application, iaze.asgi:application or iaze.wsgi:application.
WORKER = env.str("WEB_WORKER", default="asgi")
worker_class = "iaze.lib.asgi_worker.Worker" if WORKER == "asgi" else "sync"
# Seconds a worker may spend on one request (a slow upload or download included) before the master
# replaces it. Behind a buffering proxy, gunicorn only ever sees whole bodies and fast readers.
timeout = env.int("WEB_TIMEOUT", default=60)
# The request line (method, path and query string), and the headers: how many and how long each.
# A longer line is refused 414 and too many or too long headers 400, before Django runs.
limit_request_line = env.int("WEB_LIMIT_REQUEST_LINE", default=4094)
limit_request_fields = env.int("WEB_LIMIT_REQUEST_FIELDS", default=64)
limit_request_field_size = env.int("WEB_LIMIT_REQUEST_FIELD_SIZE", default=8190)
