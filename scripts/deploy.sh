#!/usr/bin/env bash
# `make deploy`: a deploy updates code, never data.
#   1. persistence snapshot          (counts of every protected table, ticket states)
#   2. check_migrations              (refuses a migration that drops or shrinks data)
#   3. backup                        (full pre-deploy backup; DEPLOY_BACKUP=0 skips it)
#   4. migrate, collectstatic
#   5. restart                       (RESTART=auto: HUP the `make run` tree or gunicorn via their pid files;
#                                     RESTART=compose: rebuild and recreate the containers;
#                                     RESTART=none: the app is stopped and will be started by the operator)
#   6. wait for /healthz             (HEALTH_URL, HEALTH_TIMEOUT seconds)
#   7. persistence verify            (exit 1 if any count went backwards)
# Any failing step stops the deploy with a non-zero exit and says which step failed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
DATA_DIR=${DATA_DIR:-data}
RESTART=${RESTART:-auto}
DEPLOY_BACKUP=${DEPLOY_BACKUP:-1}
HEALTH_URL=${HEALTH_URL:-http://$HOST:$PORT/healthz}
HEALTH_TIMEOUT=${HEALTH_TIMEOUT:-60}
COMPOSE=${COMPOSE:-docker compose}

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
fail() {
  echo "DEPLOY FAILED at: $*" >&2
  echo "snapshot: $snapshot" >&2
  if [ "$DEPLOY_BACKUP" != 0 ]; then
    echo "pre-deploy backup (if that step was reached): $backup_dir — restore with: manage.py restore DIR" >&2
  fi
  exit 1
}

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

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
    if alive "$DATA_DIR/run.pid"; then
      kill -HUP "$(cat "$DATA_DIR/run.pid")"   # make run's tree: gunicorn reload + outbox worker restart
    elif alive "$DATA_DIR/gunicorn.pid"; then
      kill -HUP "$(cat "$DATA_DIR/gunicorn.pid")"  # a gunicorn started elsewhere with --pid
    else
      fail "restart: the app is not running (no live run.pid/gunicorn.pid in $DATA_DIR); start it, or deploy with RESTART=none"
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
echo "DEPLOY OK ($stamp)"
