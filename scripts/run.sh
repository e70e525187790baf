#!/usr/bin/env bash
# `make run`: migrate, collect static files, first superuser, then gunicorn + the outbox worker.
# Never deletes, resets or rewrites data. Stops both processes on SIGTERM / Ctrl-C (SIGKILL after
# STOP_TIMEOUT seconds, said on stderr). Exits non-zero with a message when the server does not start or
# one of the two processes dies under it — never quietly.
set -euo pipefail
# Everything this run creates (DATA_DIR, the database, media, pid files, logs) is its owner's only.
umask 077
cd "$(dirname "$0")/.."
. scripts/pids.sh
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# 2 × cores + 1 sync workers: requests wait on durable commits more than on the CPU (see Performance).
WORKERS=${WEB_CONCURRENCY:-$(($(nproc 2>/dev/null || echo 1) * 2 + 1))}
# Seconds a process gets after SIGTERM (on stop, and for the outbox worker on a reload) before SIGKILL.
# gunicorn's own graceful timeout is shorter, so a stop normally ends before it; both stay under the 20 s
# the contract gives a stop.
STOP_TIMEOUT=${STOP_TIMEOUT:-18}
GRACEFUL_TIMEOUT=${GRACEFUL_TIMEOUT:-15}
DATA_DIR=${DATA_DIR:-data}
# Runtime files (pid files, the last reload's outcome) let `make deploy` reload this process tree (see
# scripts/deploy.sh). They live apart from the data, in IAZE_RUN_DIR (default DATA_DIR/run), and are
# only believed when the PID is a live process of this checkout (scripts/pids.sh): a stale file left by a
# crash, a reboot or a container restart never blocks a start, and nothing else is ever signalled.
RUN_DIR=${IAZE_RUN_DIR:-$DATA_DIR/run}
web="" worker=""

say() { echo "make run: $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

# A folder of ours, owner only: created 0700 (umask), an existing one opened to others is tightened. A
# shared folder (sticky, such as /tmp given by mistake) or someone else's is left alone.
private_dir() {
  mkdir -p "$1"
  if [ -O "$1" ] && [ ! -k "$1" ]; then
    chmod go= "$1" 2>/dev/null || true
  fi
}
private_dir "$DATA_DIR"
private_dir "$RUN_DIR"
# Another `make run` of this checkout on these runtime files (or an older one, which kept its pid files in
# DATA_DIR itself): two would fight over the port and the pid files.
for f in "$RUN_DIR/run.pid" "$DATA_DIR/run.pid"; do
  if pid=$(pid_read "$f" run); then
    die "already running: $f names pid $pid, a live scripts/run.sh of this checkout. Stop it first" \
      "(kill $pid), or give this one its own IAZE_RUN_DIR and PORT."
  fi
done
# Its supervisor died (SIGKILL, OOM) but a gunicorn or an outbox worker of that run lives on: stop it
# (ours for sure, see pid_read) so that this run can take the port and the outbox.
for kind in gunicorn worker; do
  if pid=$(pid_read "$RUN_DIR/$kind.pid" "$kind"); then
    say "the $kind of an earlier run (pid $pid) outlived its supervisor: stopping it"
    kill -TERM "$pid" 2>/dev/null || true
    if ! pid_wait_gone "$STOP_TIMEOUT" "$pid"; then
      say "forced stop: the earlier $kind (pid $pid) did not stop within ${STOP_TIMEOUT}s of SIGTERM: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      pid_wait_gone 5 "$pid" || true
    fi
  fi
done
# Whatever is left is stale: forget it (DATA_DIR/*.pid are where older versions kept theirs; a live
# gunicorn of ours started by hand with --pid DATA_DIR/gunicorn.pid keeps its file).
rm -f "$RUN_DIR/run.pid" "$RUN_DIR/gunicorn.pid" "$RUN_DIR/worker.pid" "$RUN_DIR/reload.status" "$RUN_DIR"/*.tmp*
pid_read "$DATA_DIR/run.pid" run >/dev/null || rm -f "$DATA_DIR/run.pid"
pid_read "$DATA_DIR/gunicorn.pid" gunicorn >/dev/null || rm -f "$DATA_DIR/gunicorn.pid"
pid_write "$RUN_DIR/run.pid" $$
# A HUP (`make deploy`) before the processes start: they are about to start on the current code anyway.
trap 'echo "ok HUP during start-up: gunicorn and the outbox worker start on the current code" >"$RUN_DIR/reload.status"' HUP

cleanup() {
  pid_unlink "$RUN_DIR/run.pid" $$
  [ -z "$web" ] || pid_unlink "$RUN_DIR/gunicorn.pid" "$web"
  [ -z "$worker" ] || pid_unlink "$RUN_DIR/worker.pid" "$worker"
}
trap cleanup EXIT

$PY manage.py migrate --noinput || die "migrate failed (see above): the server was not started"
# Static files are public (served to anyone, maybe read by a proxy): the usual 0644/0755.
(umask 022 && $PY manage.py collectstatic --noinput -v0) || die "collectstatic failed (see above): the server was not started"
# The contract: make run shows the password once.
$PY manage.py ensure_superuser --print || die "ensure_superuser failed (see above): the server was not started"

# No --pid: gunicorn refuses to start when its pid file names any live process ("Already running on
# PID …"), a zombie or a stranger included. This script writes the pid file, after checking, instead.
# gunicorn.conf.py: the worker timeout and the request line and header limits (WEB_TIMEOUT, WEB_LIMIT_*).
# WEB_WORKER=asgi (default; gunicorn.conf.py): uvicorn workers on iaze.asgi, which hold live-update
# streams without a worker each; sync: the WSGI application, the pages poll.
APP=iaze.asgi:application
[ "${WEB_WORKER:-asgi}" = asgi ] || APP=iaze.wsgi:application
$PY -m gunicorn "$APP" --config gunicorn.conf.py --bind "$HOST:$PORT" --workers "$WORKERS" \
  --graceful-timeout "$GRACEFUL_TIMEOUT" --access-logfile - &
web=$!
pid_write "$RUN_DIR/gunicorn.pid" "$web"
start_worker() {
  $PY manage.py worker --loop &
  worker=$!
  pid_write "$RUN_DIR/worker.pid" "$worker"
}
start_worker

# stop_all: SIGTERM to both, SIGKILL (gunicorn with its workers) to what is still running after
# STOP_TIMEOUT seconds — said on stderr — then reap both.
stop_all() {
  local pids="" kids pid
  for pid in $web $worker; do
    kill -TERM "$pid" 2>/dev/null && pids="$pids $pid"
  done
  # shellcheck disable=SC2086
  if [ -n "$pids" ] && ! pid_wait_gone "$STOP_TIMEOUT" $pids; then
    if [ -n "$web" ] && pid_running "$web"; then
      kids=$(pgrep -P "$web" 2>/dev/null | tr '\n' ' ' || true)
      say "forced stop: gunicorn (pid $web) did not stop within ${STOP_TIMEOUT}s of SIGTERM: SIGKILL" \
        "to it and its workers (${kids:-none})"
      # shellcheck disable=SC2086
      kill -KILL "$web" $kids 2>/dev/null || true
    fi
    if [ -n "$worker" ] && pid_running "$worker"; then
      say "forced stop: the outbox worker (pid $worker) did not stop within ${STOP_TIMEOUT}s of SIGTERM: SIGKILL"
      kill -KILL "$worker" 2>/dev/null || true
    fi
  fi
  # shellcheck disable=SC2086
  wait $web $worker 2>/dev/null || true
}
# HUP (sent by `make deploy`): gunicorn reloads its workers with the new code, gracefully; the outbox
# worker finishes its current message and is started again on the new code (SIGKILL after STOP_TIMEOUT).
# The outcome goes to RUN_DIR/reload.status, which `make deploy` waits for and reports.
reload() {
  local old=$worker outcome=ok note
  kill -HUP "$web" 2>/dev/null || true
  kill -TERM "$old" 2>/dev/null || true
  note="the outbox worker (pid $old) stopped after SIGTERM"
  if ! pid_wait_gone "$STOP_TIMEOUT" "$old"; then
    outcome=forced
    note="the outbox worker (pid $old) did not stop within ${STOP_TIMEOUT}s of SIGTERM and was SIGKILLed"
    say "forced stop: $note"
    kill -KILL "$old" 2>/dev/null || true
  fi
  wait "$old" 2>/dev/null || true
  start_worker
  note="$note; gunicorn (pid $web) reloads its workers; new outbox worker pid $worker"
  echo "$outcome $note" >"$RUN_DIR/reload.status.tmp" && mv -f "$RUN_DIR/reload.status.tmp" "$RUN_DIR/reload.status"
  echo "reloaded (gunicorn pid $web, outbox worker pid $worker)"
}
trap 'stop_all; exit 0' INT TERM
trap reload HUP
echo "IAZE on http://$HOST:$PORT (gunicorn pid $web, outbox worker pid $worker)"
while :; do
  wait -n "$web" "$worker" || true
  # A HUP interrupts the wait: keep serving while both processes live.
  kill -0 "$web" 2>/dev/null && kill -0 "$worker" 2>/dev/null || break
done
trap '' HUP
status=0
if ! kill -0 "$web" 2>/dev/null; then
  wait "$web" 2>/dev/null || status=$?
  say "ERROR: gunicorn (pid $web) exited with status $status: http://$HOST:$PORT is not served." \
    "If it never started, its reason is in the log above (\"Connection in use\": another program holds" \
    "port $PORT). Stopping the outbox worker."
else
  wait "$worker" 2>/dev/null || status=$?
  say "ERROR: the outbox worker (pid $worker) exited with status $status. Stopping gunicorn."
fi
stop_all
exit 1
