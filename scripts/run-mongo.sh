#!/usr/bin/env bash
# `make run-mongo`: `make run` (scripts/run.sh) on the MongoDB profile, against a local SecantusDB
# (a MongoDB wire-protocol server, run as a separate process) that starts and stops with it.
# Its data lives under DATA_DIR/mongo and is kept across runs. Stops everything on SIGTERM / Ctrl-C.
set -euo pipefail
# The database files and its log are its owner's only, like everything under DATA_DIR (scripts/run.sh).
umask 077
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
DATA_DIR=${DATA_DIR:-data}
MONGO_PORT=${MONGO_PORT:-27017}
SECANTUSD=${SECANTUSD:-$(dirname "$PY")/secantusd-py}
[ -x "$SECANTUSD" ] || SECANTUSD=$(command -v secantusd-py) || {
  echo "secantusd-py not found: run \`make venv\` (requirements-dev.txt installs it)" >&2; exit 1; }
if [ -n "${DATABASE_URL:-}" ]; then
  echo "DATABASE_URL is set: unset it to run on MongoDB" >&2; exit 1
fi
for dir in "$DATA_DIR" "$DATA_DIR/mongo"; do
  mkdir -p "$dir"
  # An existing folder of ours opened to others is tightened; a shared or foreign one is left alone.
  if [ -O "$dir" ] && [ ! -k "$dir" ]; then
    chmod go= "$dir" 2>/dev/null || true
  fi
done
export DATA_DIR MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true"

"$SECANTUSD" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$DATA_DIR/mongo" --sync-on-commit \
  >>"$DATA_DIR/mongo.log" 2>&1 &
db=$!
app=""
stop() {
  [ -n "$app" ] && kill -TERM "$app" 2>/dev/null && wait "$app" 2>/dev/null || true
  kill -TERM "$db" 2>/dev/null || true
  wait "$db" 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM

# Wait (bounded) until the server answers a ping.
for _ in $(seq 1 150); do
  kill -0 "$db" 2>/dev/null || { echo "SecantusDB exited; see $DATA_DIR/mongo.log" >&2; exit 1; }
  "$PY" - <<'EOF' 2>/dev/null && break
import os, sys
from pymongo import MongoClient
MongoClient(os.environ["MONGO_URL"], serverSelectionTimeoutMS=500).admin.command("ping")
EOF
  sleep 0.2
done
"$PY" -c 'import os; from pymongo import MongoClient; MongoClient(os.environ["MONGO_URL"], serverSelectionTimeoutMS=2000).admin.command("ping")' \
  || { echo "SecantusDB did not answer on port $MONGO_PORT" >&2; stop; exit 1; }
echo "SecantusDB on $MONGO_URL (pid $db, data in $DATA_DIR/mongo)"

bash scripts/run.sh &
app=$!
status=0
wait "$app" || status=$?
app=""
stop
# run.sh said why it stopped (the server did not start, or a process died): never exit quietly.
[ "$status" = 0 ] || echo "make run-mongo: scripts/run.sh exited with status $status (see above); SecantusDB stopped" >&2
exit "$status"
