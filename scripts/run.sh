#!/usr/bin/env bash
# `make run`: migrate, collect static files, first superuser, then gunicorn + the outbox worker.
# Never deletes, resets or rewrites data. Stops both processes on SIGTERM / Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# 2 × cores + 1 sync workers: requests wait on durable commits more than on the CPU (see Performance).
WORKERS=${WEB_CONCURRENCY:-$(( $(nproc 2>/dev/null || echo 1) * 2 + 1 ))}
# Pid files let `make deploy` reload this process tree (see scripts/deploy.sh).
RUN_DIR=${DATA_DIR:-data}
mkdir -p "$RUN_DIR"
echo $$ >"$RUN_DIR/run.pid"

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v0
$PY manage.py ensure_superuser --print  # the contract: make run shows the password once

$PY -m gunicorn iaze.wsgi:application --bind "$HOST:$PORT" --workers "$WORKERS" \
  --graceful-timeout 20 --access-logfile - --pid "$RUN_DIR/gunicorn.pid" &
web=$!
start_worker() {
  $PY manage.py send_outbox --loop &
  worker=$!
}
start_worker

stop() {
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
# HUP (sent by `make deploy`): gunicorn reloads its workers with the new code, gracefully;
# the outbox worker finishes its current message and is started again on the new code.
reload() {
  kill -HUP "$web" 2>/dev/null || true
  kill -TERM "$worker" 2>/dev/null || true
  wait "$worker" 2>/dev/null || true
  start_worker
  echo "reloaded (gunicorn pid $web, outbox worker pid $worker)"
}
trap 'stop; rm -f "$RUN_DIR/run.pid"; exit 0' INT TERM
trap reload HUP
echo "IAZE on http://$HOST:$PORT (gunicorn pid $web, outbox worker pid $worker)"
while :; do
  wait -n "$web" "$worker" || true
  # A HUP interrupts the wait: keep serving while both processes live.
  kill -0 "$web" 2>/dev/null && kill -0 "$worker" 2>/dev/null || break
done
stop
rm -f "$RUN_DIR/run.pid"
