#!/usr/bin/env bash
# Firebreak's local AWS emulator: moto_server 5.2.5 + scripts/emulator/patches.py.
#
#   scripts/emulator/emulator.sh start|stop|status|reset|ensure-venv
#
# Environment: FIREBREAK_EMULATOR_HOST (127.0.0.1), FIREBREAK_EMULATOR_PORT (4566).
# State: .venv (python + moto), .firebreak/emulator.pid, .firebreak/emulator.log.
# `stop` only ever stops the process recorded in the pidfile by `start`.
set -euo pipefail
# shellcheck source=../lib/pinned-venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/pinned-venv.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MOTO_VERSION="5.2.5"
HOST="${FIREBREAK_EMULATOR_HOST:-127.0.0.1}"
PORT="${FIREBREAK_EMULATOR_PORT:-4566}"
URL="http://${HOST}:${PORT}"
VENV="${ROOT}/.venv"
PY="${VENV}/bin/python"
STATE_DIR="${ROOT}/.firebreak"
PIDFILE="${STATE_DIR}/emulator.pid"
LOGFILE="${STATE_DIR}/emulator.log"
START_TIMEOUT_S=30

say() { printf 'emulator: %s\n' "$*"; }
die() { printf 'emulator: error: %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  ensure_pinned_venv emulator "$VENV" "moto[server]==${MOTO_VERSION}" "$MOTO_VERSION" "__import__('moto').__version__" "$STATE_DIR"
}

# Prints one of: ours | foreign | none. Needs only the Python standard library.
probe() {
  local py="python3"
  [[ -x "$PY" ]] && py="$PY"
  "$py" - "$HOST" "$PORT" <<'PYEOF'
import json, socket, sys, urllib.request
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=1).close()
except OSError:
    print("none"); sys.exit(0)
try:
    with urllib.request.urlopen(f"http://{host}:{port}/firebreak/emulator", timeout=3) as r:
        print("ours" if json.load(r).get("firebreak") is True else "foreign")
except Exception:
    print("foreign")
PYEOF
}

pid_from_file() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # Guard against a recycled pid: the process must still be our launcher.
  kill -0 "$pid" 2>/dev/null || return 1
  grep -q "scripts/emulator/launch.py" "/proc/${pid}/cmdline" 2>/dev/null \
    || ps -p "$pid" -o args= 2>/dev/null | grep -q "scripts/emulator/launch.py" \
    || return 1
  echo "$pid"
}

foreign_message() {
  cat >&2 <<MSG
emulator: error: something is listening on ${HOST}:${PORT} but it is not Firebreak's patched emulator
  (GET ${URL}/firebreak/emulator did not answer {"firebreak": true}).
  A plain moto_server or LocalStack reports ENI security groups differently from AWS, and the tests
  would pass or fail for the wrong reasons. Stop that process, or pick another port:
    FIREBREAK_EMULATOR_PORT=4577 scripts/emulator/emulator.sh start
MSG
  exit 1
}

cmd_start() {
  case "$(probe)" in
    ours)
      local pid
      if pid="$(pid_from_file)"; then say "already running at ${URL} (pid ${pid})"
      else say "already running at ${URL} (started elsewhere; reusing it)"; fi
      return 0 ;;
    foreign) foreign_message ;;
  esac
  ensure_venv
  mkdir -p "$STATE_DIR"
  rm -f "$PIDFILE"
  nohup "$PY" "${ROOT}/scripts/emulator/launch.py" --host "$HOST" --port "$PORT" \
    >"$LOGFILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  local deadline=$((SECONDS + START_TIMEOUT_S))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PIDFILE"
      tail -n 20 "$LOGFILE" >&2 || true
      die "the emulator exited during start-up (log: ${LOGFILE})"
    fi
    case "$(probe)" in
      ours) say "started at ${URL} (pid ${pid}, log ${LOGFILE})"; return 0 ;;
      foreign) kill "$pid" 2>/dev/null || true; rm -f "$PIDFILE"; foreign_message ;;
    esac
    sleep 0.3
  done
  kill "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  tail -n 20 "$LOGFILE" >&2 || true
  die "the emulator did not become healthy within ${START_TIMEOUT_S}s (log: ${LOGFILE})"
}

cmd_stop() {
  local pid
  if ! pid="$(pid_from_file)"; then
    rm -f "$PIDFILE"
    say "not running from ${PIDFILE}; nothing to stop"
    return 0
  fi
  kill -TERM "$pid"
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$PIDFILE"; say "stopped (pid ${pid})"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  say "stopped (pid ${pid}, killed after 5s)"
}

# Exit status: 0 ours and healthy, 1 nothing listening, 2 something else on the port.
cmd_status() {
  case "$(probe)" in
    ours)
      local pid
      if pid="$(pid_from_file)"; then say "running at ${URL} (pid ${pid})"
      else say "running at ${URL} (not started by this checkout)"; fi
      return 0 ;;
    foreign) say "something else is listening on ${HOST}:${PORT} (not Firebreak's emulator)"; return 2 ;;
    *) say "not running (${URL})"; return 1 ;;
  esac
}

cmd_reset() {
  [[ "$(probe)" == "ours" ]] || die "no Firebreak emulator at ${URL}; run: scripts/emulator/emulator.sh start"
  "$PY" - "$URL" <<'PYEOF'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/moto-api/reset", method="POST"), timeout=10).read()
PYEOF
  say "reset: all emulated AWS state cleared"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  reset) cmd_reset ;;
  ensure-venv) ensure_venv; say "venv ready: ${VENV} (moto ${MOTO_VERSION})" ;;
  *) echo "usage: $0 start|stop|status|reset|ensure-venv" >&2; exit 64 ;;
esac
