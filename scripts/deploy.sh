#!/usr/bin/env bash
# `make deploy`: a deploy updates code, never data.
#   1. persistence snapshot          (counts of every protected table, ticket states)
#   2. check_migrations              (refuses a migration that drops or shrinks data)
#   3. backup                        (full pre-deploy backup; DEPLOY_BACKUP=0 skips it)
#   4. migrate, collectstatic
#   5. restart                       (RESTART=auto: HUP the `make run` tree or gunicorn via their pid files,
#                                     only when the PID is a live process of this checkout (scripts/pids.sh);
#                                     RESTART=compose: rebuild and recreate the containers;
#                                     RESTART=none: the app is stopped and will be started by the operator)
#   6. wait for /healthz             (HEALTH_URL, HEALTH_TIMEOUT seconds)
#   7. persistence verify            (exit 1 if any count went backwards)
# Any failing step stops the deploy with a non-zero exit and says which step failed. A process that had
# to be SIGKILLed because it did not stop within its bound after SIGTERM is a WARNING: said on stderr
# and in the last line, and the deploy still exits 0 unless a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/pids.sh
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
DATA_DIR=${DATA_DIR:-data}
RESTART=${RESTART:-auto}
DEPLOY_BACKUP=${DEPLOY_BACKUP:-1}
HEALTH_URL=${HEALTH_URL:-http://$HOST:$PORT/healthz}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-60}
COMPOSE=${COMPOSE:-docker compose}
# make run's runtime files (scripts/run.sh): the same IAZE_RUN_DIR as the app's.
RUN_DIR=${IAZE_RUN_DIR:-$DATA_DIR/run}
# Seconds to wait for `make run` to report its reload (its outbox worker stops within its STOP_TIMEOUT).
RELOAD_TIMEOUT=${RELOAD_TIMEOUT:-30}
warnings=()

stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ "$RESTART" = compose ]; then
  # Every management command runs in a one-off container of the freshly built image, on the data volume.
  MANAGE="$COMPOSE run --rm -T app python manage.py"
  backup_dir="/data/backups/pre-deploy-$stamp"   # inside the app-data volume
else
  MANAGE="$PY manage.py"
  backup_dir="$DATA_DIR/backups/pre-deploy-$stamp"
fi
deploy_dir="$DATA_DIR/deploys/$stamp"             # on this machine: the snapshot the verify step reads
mkdir -p "$deploy_dir"
snapshot="$deploy_dir/snapshot.json"

step() { echo "==> $*"; }
warn() {
  echo "WARNING: $*" >&2
  warnings+=("$*")
}
fail() {
  local w
  for w in "${warnings[@]}"; do echo "(warning before the failure: $w)" >&2; done
  echo "DEPLOY FAILED at: $*" >&2
  echo "snapshot: $snapshot" >&2
  if [ "$DEPLOY_BACKUP" != 0 ]; then
    echo "pre-deploy backup (if that step was reached): $backup_dir — restore with: manage.py restore DIR" >&2
  fi
  exit 1
}

# HUP the `make run` process PID and wait (bounded) for the outcome it writes to RUN_DIR/reload.status:
# whether its outbox worker stopped after SIGTERM or had to be SIGKILLed.
reload_run() {
  local pid=$1 status_file=$2 outcome="" note="" deadline=$((SECONDS + RELOAD_TIMEOUT))
  rm -f "$status_file"
  kill -HUP "$pid"
  until [ -s "$status_file" ]; do
    pid_ours "$pid" run || fail "restart: the make run process (pid $pid) exited during the reload"
    if [ "$SECONDS" -ge "$deadline" ]; then
      warn "make run (pid $pid) did not report its reload within ${RELOAD_TIMEOUT}s (an older scripts/run.sh," \
        "or its outbox worker is still stopping); whether anything was SIGKILLed is unknown"
      return 0
    fi
    sleep 0.2
  done
  read -r outcome note <"$status_file" || true
  echo "reload: $note"
  if [ "$outcome" = forced ]; then
    warn "forced stop: $note"
  fi
}

wait_healthy() {
  python3 - "$HEALTH_URL" "$HEALTH_TIMEOUT" <<'PYEOF'
import json, sys, time, urllib.request
url, deadline = sys.argv[1], time.monotonic() + float(sys.argv[2])
last = ""
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            body = json.loads(r.read())
            if r.status == 200 and body.get("database") == "ok":
                print(f"healthy: {url} {body}")
                sys.exit(0)
            last = f"{r.status} {body}"
    except Exception as exc:  # noqa: BLE001 - keep polling until the deadline
        last = str(exc)
    time.sleep(0.5)
print(f"not healthy after {sys.argv[2]}s: {url}: {last}", file=sys.stderr)
sys.exit(1)
PYEOF
}

if [ "$RESTART" = compose ]; then
  step "build the new image"
  $COMPOSE build || fail "docker compose build"
fi

step "snapshot of the protected data"
$MANAGE persistence snapshot >"$snapshot" || fail "persistence snapshot"
cat "$snapshot"

step "migration safety check"
$MANAGE check_migrations || fail "check_migrations: a migration would lose data; nothing was changed"

if [ "$DEPLOY_BACKUP" != 0 ]; then
  step "pre-deploy backup → $backup_dir"
  $MANAGE backup --out "$backup_dir" >/dev/null || fail "backup"
fi

step "migrate"
$MANAGE migrate --noinput || fail "migrate"
if [ "$RESTART" != compose ] && [ "${DEPLOY_COLLECTSTATIC:-1}" != 0 ]; then
  step "collectstatic"
  $MANAGE collectstatic --noinput -v0 || fail "collectstatic"
fi

step "restart ($RESTART)"
case "$RESTART" in
  auto)
    # A pid file counts only when it names a live process of this checkout (scripts/pids.sh): a stale one
    # left by a crash or a reboot, naming someone else's process now, is never signalled.
    if pid=$(pid_read "$RUN_DIR/run.pid" run); then
      reload_run "$pid" "$RUN_DIR/reload.status"  # make run's tree: gunicorn reload + outbox worker restart
    elif pid=$(pid_read "$DATA_DIR/run.pid" run); then
      kill -HUP "$pid" # a `make run` of an older version, which kept its pid files in DATA_DIR
      warn "make run (pid $pid) is an older version: whether its outbox worker had to be SIGKILLed is unknown"
    elif pid=$(pid_read "$DATA_DIR/gunicorn.pid" gunicorn) || pid=$(pid_read "$RUN_DIR/gunicorn.pid" gunicorn); then
      kill -HUP "$pid" # a gunicorn started elsewhere with --pid (or one whose make run died)
    else
      fail "restart: the app is not running (no pid file in $RUN_DIR or $DATA_DIR names a live process of" \
        "this checkout); start it, or deploy with RESTART=none"
    fi
    ;;
  compose) $COMPOSE up -d --remove-orphans app worker || fail "docker compose up" ;;
  none) echo "the app is stopped: start it (make run) — verification below covers the data" ;;
  *) fail "unknown RESTART=$RESTART (auto, compose or none)" ;;
esac

if [ "$RESTART" != none ]; then
  step "wait for $HEALTH_URL"
  wait_healthy || fail "healthz"
fi

step "verify against the snapshot"
if [ "$RESTART" = compose ]; then
  $MANAGE persistence verify /dev/stdin <"$snapshot" || fail "persistence verify: data went backwards"
else
  $MANAGE persistence verify "$snapshot" || fail "persistence verify: data went backwards"
fi
if [ ${#warnings[@]} -gt 0 ]; then
  echo "DEPLOY OK ($stamp) with ${#warnings[@]} warning(s):"
  for w in "${warnings[@]}"; do echo "  WARNING: $w"; done
else
  echo "DEPLOY OK ($stamp)"
fi
