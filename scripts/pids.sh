# Sourced by scripts/run.sh and scripts/deploy.sh (not run on its own): the runtime files of `make run`
# and the one rule for reading them.
#
# A pid file can outlive its process: after a crash (SIGKILL, OOM killer, power cut), a reboot, or a
# container restart with the data folder on a persistent disk, the PID it names may be free, a zombie not
# yet reaped, or in use by an unrelated process. So a PID read from a pid file counts only when it is a
# live process (not a zombie) running the expected program from this checkout: its command line names
# the program and its working directory is this checkout. Anything else is stale: it never blocks a
# start and is never signalled. (Without /proc, e.g. on macOS, `ps` checks the command line only.)

IAZE_ROOT=$(pwd -P) # the scripts cd to the checkout before sourcing this

# pid_running PID: the process exists and is not a zombie (a SIGKILLed process stays a zombie until
# its parent reaps it; kill -0 still succeeds on it).
pid_running() {
  local pid=$1 stat state
  [[ $pid =~ ^[1-9][0-9]{0,9}$ ]] || return 1
  if [ -r /proc/self/stat ]; then
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    state=${stat##*) }
    state=${state%% *}
  else
    state=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  fi
  case $state in Z* | X* | x*) return 1 ;; esac
  return 0
}

# pid_ours PID KIND: PID is a live process of this checkout of KIND — run (scripts/run.sh), gunicorn
# (gunicorn serving iaze.asgi or iaze.wsgi) or worker (manage.py worker, or send_outbox: its contract name). Never this shell itself.
pid_ours() {
  local pid=$1 kind=$2 cmd cwd
  [ "$pid" != "$$" ] || return 1
  pid_running "$pid" || return 1
  if [ -r /proc/self/cmdline ]; then
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    # Unreadable for another user's process: not ours.
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
    [ "$cwd" = "$IAZE_ROOT" ] || return 1
  else
    cmd=$(ps -o command= -p "$pid" 2>/dev/null) || return 1
  fi
  case $kind in
    run) [[ ${cmd%% *} == *bash && " $cmd " == *" "*run.sh" "* ]] ;; # bash [options] …/run.sh, not an editor on it
    gunicorn) [[ $cmd == *gunicorn* && ($cmd == *iaze.asgi* || $cmd == *iaze.wsgi*) ]] ;;
    worker) [[ $cmd == *manage.py* && ($cmd == *" worker "* || $cmd == *send_outbox*) ]] ;;
    *) return 1 ;;
  esac
}

# pid_read FILE KIND: prints the PID in FILE when it is a live process of ours of KIND; fails otherwise
# (no file, garbage, a dead PID, a zombie, someone else's process).
pid_read() {
  local pid=""
  [ -s "$1" ] || return 1
  read -r pid <"$1" 2>/dev/null || [ -n "$pid" ] || return 1
  pid_ours "$pid" "$2" || return 1
  echo "$pid"
}

# pid_write FILE PID: atomically (a reader never sees a half-written file).
pid_write() {
  echo "$2" >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}

# pid_unlink FILE PID: removes FILE if it still names PID (a newer run may have replaced it).
pid_unlink() {
  local pid=""
  [ -f "$1" ] || return 0
  read -r pid <"$1" 2>/dev/null || true
  [ "$pid" != "$2" ] || rm -f "$1"
}

# pid_wait_gone SECONDS PID...: polls until none of the PIDs is running; fails at the deadline.
pid_wait_gone() {
  local deadline=$((SECONDS + $1)) pid left
  shift
  while :; do
    left=""
    for pid in "$@"; do
      pid_running "$pid" && left=1
    done
    [ -n "$left" ] || return 0
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
