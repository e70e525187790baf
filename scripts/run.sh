#!/usr/bin/env bash
# `make run`: migrate, collect static files, first superuser, then gunicorn + the outbox worker.
# Never deletes, resets or rewrites data. Stops both processes on SIGTERM / Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
WORKERS=${WEB_CONCURRENCY:-3}

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v0
$PY manage.py ensure_superuser

$PY -m gunicorn iaze.wsgi:application --bind "$HOST:$PORT" --workers "$WORKERS" \
  --graceful-timeout 20 --access-logfile - &
web=$!
$PY manage.py send_outbox --loop &
worker=$!

stop() {
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
echo "IAZE on http://$HOST:$PORT (gunicorn pid $web, outbox worker pid $worker)"
wait -n "$web" "$worker" || true
stop
