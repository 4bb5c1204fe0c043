#!/usr/bin/env bash
# Local PostgreSQL and MariaDB servers for the database tests (test/databases), from Debian's
# packages, on loopback only, with TLS (a throwaway local CA signs the servers' certificate).
#
#   scripts/databases.sh install   apt-get install postgresql and mariadb-server when missing (root)
#   scripts/databases.sh start     create the data directories (once) and start both servers
#   scripts/databases.sh stop      stop the servers this checkout started (pid files), nothing else
#   scripts/databases.sh status
#   scripts/databases.sh with CMD…  start them if they are not running, run CMD with the settings of
#                                   .firebreak/databases.env in its environment, stop them afterwards
#                                   only if this call started them
#
# Ports: FIREBREAK_PG_PORT (default 15432) and FIREBREAK_MARIADB_PORT (default 13306), 127.0.0.1
# only: below Linux's ephemeral port range (32768-60999), where any process's outgoing connection
# can hold a port and make the servers' bind fail. State: .firebreak/databases/ (data directories, the CA and server certificate, logs).
# `start` writes .firebreak/databases.env: FIREBREAK_PG_HOST/PORT/ADMIN_USER/ADMIN_PASSWORD, the
# FIREBREAK_MARIADB_* equivalents and FIREBREAK_DATABASE_CA_BUNDLE (the local CA, so clients
# verify the servers' certificate as they verify RDS's).
#
# PostgreSQL refuses to run as root and mariadbd runs as root only when told to: as root, the
# servers run as the `postgres` and `mysql` system users (created when missing); as anyone else,
# as that user. Nothing waits forever: every start and stop is bounded by
# FIREBREAK_DATABASES_TIMEOUT seconds (default 60).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${ROOT}/.firebreak/databases"
ENV_FILE="${ROOT}/.firebreak/databases.env"
PG_PORT="${FIREBREAK_PG_PORT:-15432}"
MARIADB_PORT="${FIREBREAK_MARIADB_PORT:-13306}"
TIMEOUT="${FIREBREAK_DATABASES_TIMEOUT:-60}"
HOST=127.0.0.1
ADMIN_USER=firebreak_admin

PG_DATA="${STATE}/postgresql"
MARIADB_DATA="${STATE}/mariadb"
MARIADB_PID="${STATE}/mariadb.pid"
TLS_DIR="${STATE}/tls"

say() { printf 'databases: %s\n' "$*"; }
die() { printf 'databases: error: %s\n' "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" == 0 ]]; }

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$dir" && -x "${dir}/initdb" ]] || return 1
  printf '%s\n' "$dir"
}

mariadbd_bin() { command -v mariadbd || command -v mysqld || ls /usr/sbin/mariadbd 2>/dev/null; }

installed() { pg_bin >/dev/null && [[ -n "$(mariadbd_bin)" ]] && command -v mariadb-install-db >/dev/null && command -v openssl >/dev/null; }

install_packages() {
  if installed; then
    return 0
  fi
  is_root || die "PostgreSQL or MariaDB is missing: run 'sudo scripts/databases.sh install' (apt-get install postgresql mariadb-server)"
  command -v apt-get >/dev/null || die "PostgreSQL or MariaDB is missing and this is not a Debian-like system: install postgresql and mariadb-server"
  local log="${STATE}/apt-get.log" packages=(postgresql mariadb-server openssl)
  mkdir -p "$STATE"
  say "installing ${packages[*]} (apt-get)"
  # The packages' own services must not start (policy-rc.d 101): ours run on other ports.
  local policy=/usr/sbin/policy-rc.d created_policy=""
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && created_policy=1
  fi
  local status=0
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >"$log" 2>&1; then
    say "apt-get install failed; apt-get update, then again"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${packages[@]}" >>"$log" 2>&1 || status=$?
  fi
  [[ -n "$created_policy" ]] && rm -f "$policy"
  if [[ "$status" != 0 ]]; then
    tail -n 20 "$log" >&2
    die "apt-get install ${packages[*]} failed (log: ${log})"
  fi
  installed || die "installed, but initdb, mariadbd or mariadb-install-db is still missing (log: ${log})"
}

# The account a server runs as: the service user when we are root, else ourselves.
service_user() {
  local user="$1"
  if ! is_root; then
    id -un
    return 0
  fi
  if ! id "$user" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
  fi
  printf '%s\n' "$user"
}

as_user() {
  local user="$1"
  shift
  if is_root; then
    runuser -u "$user" -- "$@"
  else
    "$@"
  fi
}

# The service users must reach the data directories under the checkout.
check_reachable() {
  local user="$1" dir="$2"
  as_user "$user" test -w "$dir" ||
    die "${user} cannot write ${dir}: a parent directory of the checkout is not searchable by others (chmod o+x it, or run the tests as a non-root user)"
}

port_in_use() { (exec 3<>"/dev/tcp/${HOST}/$1") 2>/dev/null; }

random_password() { openssl rand -hex 18; }

# A local CA and a server certificate for 127.0.0.1/localhost signed by it: the clients verify
# the servers' certificate against that CA as they verify RDS's against the RDS CA bundle.
ensure_tls() {
  [[ -s "${TLS_DIR}/server.pem" && -s "${TLS_DIR}/ca.pem" ]] && return 0
  mkdir -p "$TLS_DIR"
  local log="${TLS_DIR}/openssl.log"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Firebreak local test CA" \
      -keyout "${TLS_DIR}/ca-key.pem" -out "${TLS_DIR}/ca.pem" &&
      openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "${TLS_DIR}/server-key.pem" -out "${TLS_DIR}/server.csr" &&
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"${TLS_DIR}/server.ext" &&
      openssl x509 -req -in "${TLS_DIR}/server.csr" -CA "${TLS_DIR}/ca.pem" -CAkey "${TLS_DIR}/ca-key.pem" \
        -CAcreateserial -days 3650 -extfile "${TLS_DIR}/server.ext" -out "${TLS_DIR}/server.pem"
  } >"$log" 2>&1 || { cat "$log" >&2; die "openssl could not create the test certificates"; }
  chmod 644 "${TLS_DIR}/ca.pem" "${TLS_DIR}/server.pem"
  chmod 600 "${TLS_DIR}/ca-key.pem" "${TLS_DIR}/server-key.pem"
}

# copy_tls <dir> <user>: the server's own copy of its certificate and key (servers insist on
# owning a key nobody else can read).
copy_tls() {
  local dir="$1" user="$2"
  install -m 644 "${TLS_DIR}/server.pem" "${dir}/server.pem"
  install -m 644 "${TLS_DIR}/ca.pem" "${dir}/ca.pem"
  install -m 600 "${TLS_DIR}/server-key.pem" "${dir}/server-key.pem"
  if is_root; then chown "$user" "${dir}/server.pem" "${dir}/ca.pem" "${dir}/server-key.pem"; fi
}

# ---- PostgreSQL -----------------------------------------------------------------------------

pg_running() {
  local bin="$1" user="$2"
  [[ -f "${PG_DATA}/PG_VERSION" ]] && as_user "$user" "${bin}/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_start() {
  local bin user password
  bin="$(pg_bin)" || die "PostgreSQL is not installed: scripts/databases.sh install"
  user="$(service_user postgres)"
  if pg_running "$bin" "$user"; then
    return 0
  fi
  port_in_use "$PG_PORT" && die "port ${PG_PORT} is in use by another process: set FIREBREAK_PG_PORT"
  if [[ ! -f "${PG_DATA}/PG_VERSION" ]]; then
    rm -rf "$PG_DATA"
    mkdir -p "$PG_DATA"
    chmod 700 "$PG_DATA"
    if is_root; then chown "$user" "$PG_DATA"; fi
    check_reachable "$user" "$PG_DATA"
    password="$(random_password)"
    local pwfile="${STATE}/.pg-password"
    printf '%s\n' "$password" >"$pwfile"
    chmod 600 "$pwfile"
    if is_root; then chown "$user" "$pwfile"; fi
    as_user "$user" "${bin}/initdb" -D "$PG_DATA" -U "$ADMIN_USER" --pwfile="$pwfile" \
      --auth-host=scram-sha-256 --auth-local=scram-sha-256 -E UTF8 --no-locale --no-sync \
      >"${STATE}/postgresql-initdb.log" 2>&1 || { rm -f "$pwfile"; tail -n 20 "${STATE}/postgresql-initdb.log" >&2; die "initdb failed"; }
    rm -f "$pwfile"
    copy_tls "$PG_DATA" "$user"
    # TCP on loopback only, no Unix socket (its path would depend on the checkout's); TLS on;
    # durability off (throwaway test data, fast start).
    cat >>"${PG_DATA}/postgresql.conf" <<EOF

# Firebreak's local test server (scripts/databases.sh)
listen_addresses = '${HOST}'
unix_socket_directories = ''
ssl = on
ssl_cert_file = 'server.pem'
ssl_key_file = 'server-key.pem'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 16MB
EOF
    # Password logins over TCP from loopback, with or without TLS (the clients' plain-text
    # fallback is tested through a proxy that refuses TLS).
    printf '%s\n' \
      "# Firebreak's local test server (scripts/databases.sh)" \
      "host all all ${HOST}/32 scram-sha-256" >"${PG_DATA}/pg_hba.conf"
    write_secret pg "$password"
  fi
  touch "${STATE}/postgresql.log"
  if is_root; then chown "$user" "${STATE}/postgresql.log"; fi
  as_user "$user" "${bin}/pg_ctl" -D "$PG_DATA" -l "${STATE}/postgresql.log" -o "-p ${PG_PORT}" -w -t "$TIMEOUT" start >/dev/null ||
    { tail -n 20 "${STATE}/postgresql.log" >&2; die "PostgreSQL did not start within ${TIMEOUT}s (log: ${STATE}/postgresql.log)"; }
}

pg_stop() {
  local bin user
  bin="$(pg_bin)" || return 0
  user="$(service_user postgres)"
  pg_running "$bin" "$user" || return 0
  as_user "$user" "${bin}/pg_ctl" -D "$PG_DATA" -m fast -w -t "$TIMEOUT" stop >/dev/null
}

# ---- MariaDB --------------------------------------------------------------------------------

mariadb_socket() { printf '%s/firebreak-mariadb-%s.sock\n' "${TMPDIR:-/tmp}" "$MARIADB_PORT"; }

mariadb_running() {
  [[ -f "$MARIADB_PID" ]] && kill -0 "$(cat "$MARIADB_PID")" 2>/dev/null
}

mariadb_wait() {
  local deadline=$((SECONDS + TIMEOUT))
  until mariadb-admin --no-defaults --protocol=socket --socket="$(mariadb_socket)" -u root ping >/dev/null 2>&1 ||
    mariadb-admin --no-defaults --protocol=tcp -h "$HOST" -P "$MARIADB_PORT" -u "$ADMIN_USER" --password="$(read_secret mariadb)" ping >/dev/null 2>&1; do
    mariadb_running || { tail -n 20 "${STATE}/mariadb.log" >&2; die "MariaDB exited while starting (log: ${STATE}/mariadb.log)"; }
    ((SECONDS < deadline)) || { tail -n 20 "${STATE}/mariadb.log" >&2; die "MariaDB did not start within ${TIMEOUT}s (log: ${STATE}/mariadb.log)"; }
    sleep 0.2
  done
}

mariadb_start() {
  local bin user fresh=""
  bin="$(mariadbd_bin)" || die "MariaDB is not installed: scripts/databases.sh install"
  [[ -n "$bin" ]] || die "MariaDB is not installed: scripts/databases.sh install"
  user="$(service_user mysql)"
  if mariadb_running; then
    return 0
  fi
  port_in_use "$MARIADB_PORT" && die "port ${MARIADB_PORT} is in use by another process: set FIREBREAK_MARIADB_PORT"
  if [[ ! -d "${MARIADB_DATA}/mysql" ]]; then
    rm -rf "$MARIADB_DATA"
    mkdir -p "$MARIADB_DATA"
    chmod 700 "$MARIADB_DATA"
    if is_root; then chown "$user" "$MARIADB_DATA"; fi
    check_reachable "$user" "$MARIADB_DATA"
    mariadb-install-db --no-defaults --datadir="$MARIADB_DATA" --user="$user" \
      --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
      >"${STATE}/mariadb-install-db.log" 2>&1 || { tail -n 20 "${STATE}/mariadb-install-db.log" >&2; die "mariadb-install-db failed"; }
    copy_tls "$MARIADB_DATA" "$user"
    fresh=1
  fi
  # Loopback TCP and a socket for the first setup; TLS on; durability off (throwaway data).
  local args=(
    --no-defaults --datadir="$MARIADB_DATA" --user="$user"
    --bind-address="$HOST" --port="$MARIADB_PORT" --socket="$(mariadb_socket)"
    --pid-file="${MARIADB_DATA}/mariadbd.pid" --log-error="${STATE}/mariadb.log"
    --ssl-cert="${MARIADB_DATA}/server.pem" --ssl-key="${MARIADB_DATA}/server-key.pem" --ssl-ca="${MARIADB_DATA}/ca.pem"
    --skip-name-resolve --skip-log-bin --innodb-buffer-pool-size=16M --innodb-log-file-size=8M
    --innodb-flush-log-at-trx-commit=0 --max-connections=50 --performance-schema=OFF
  )
  touch "${STATE}/mariadb.log"
  if is_root; then chown "$user" "${STATE}/mariadb.log"; fi
  rm -f "$MARIADB_PID"
  # The pid file is written by mariadbd itself once it runs; until then, remember the child.
  setsid "$bin" "${args[@]}" </dev/null >>"${STATE}/mariadb.log" 2>&1 &
  echo $! >"$MARIADB_PID"
  mariadb_wait
  if [[ -n "$fresh" ]]; then
    local password root_password
    password="$(random_password)"
    root_password="$(random_password)"
    # The admin Firebreak connects as (from 127.0.0.1 over TCP); root gets a password too.
    mariadb --no-defaults --protocol=socket --socket="$(mariadb_socket)" -u root <<EOF || die "could not create the MariaDB admin user"
CREATE USER '${ADMIN_USER}'@'%' IDENTIFIED BY '${password}';
GRANT ALL PRIVILEGES ON *.* TO '${ADMIN_USER}'@'%' WITH GRANT OPTION;
ALTER USER 'root'@'localhost' IDENTIFIED BY '${root_password}';
FLUSH PRIVILEGES;
EOF
    write_secret mariadb "$password"
  fi
}

mariadb_stop() {
  mariadb_running || { rm -f "$MARIADB_PID"; return 0; }
  local pid deadline=$((SECONDS + TIMEOUT))
  pid="$(cat "$MARIADB_PID")"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "MariaDB (pid ${pid}) did not stop within ${TIMEOUT}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$MARIADB_PID"
}

# ---- secrets and the env file ---------------------------------------------------------------

write_secret() {
  local name="$1" value="$2"
  (umask 077 && printf '%s\n' "$value" >"${STATE}/.${name}-admin-password")
}

read_secret() { cat "${STATE}/.$1-admin-password" 2>/dev/null || true; }

write_env() {
  (umask 077 && cat >"$ENV_FILE" <<EOF
# Written by scripts/databases.sh start: the local test servers (loopback, TLS).
FIREBREAK_PG_HOST=${HOST}
FIREBREAK_PG_PORT=${PG_PORT}
FIREBREAK_PG_ADMIN_USER=${ADMIN_USER}
FIREBREAK_PG_ADMIN_PASSWORD=$(read_secret pg)
FIREBREAK_MARIADB_HOST=${HOST}
FIREBREAK_MARIADB_PORT=${MARIADB_PORT}
FIREBREAK_MARIADB_ADMIN_USER=${ADMIN_USER}
FIREBREAK_MARIADB_ADMIN_PASSWORD=$(read_secret mariadb)
FIREBREAK_DATABASE_CA_BUNDLE=${TLS_DIR}/ca.pem
EOF
  )
}

start() {
  install_packages
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  ensure_tls
  local started=$SECONDS
  pg_start
  mariadb_start
  write_env
  say "PostgreSQL on ${HOST}:${PG_PORT} and MariaDB on ${HOST}:${MARIADB_PORT} (TLS), in $((SECONDS - started))s; settings in ${ENV_FILE#"${ROOT}/"}"
}

stop() {
  pg_stop
  mariadb_stop
  say "stopped"
}

status() {
  local bin user
  if bin="$(pg_bin)" && user="$(service_user postgres)" && pg_running "$bin" "$user"; then
    say "PostgreSQL running on ${HOST}:${PG_PORT}"
  else
    say "PostgreSQL not running"
  fi
  if mariadb_running; then say "MariaDB running on ${HOST}:${MARIADB_PORT} (pid $(cat "$MARIADB_PID"))"; else say "MariaDB not running"; fi
}

pg_up() {
  local bin user
  bin="$(pg_bin)" && user="$(service_user postgres)" && pg_running "$bin" "$user"
}

# Runs a command with both servers up and their settings exported; stops afterwards (however the
# command ends) only the servers this call started.
with() {
  [[ $# -gt 0 ]] || die "usage: scripts/databases.sh with CMD [ARGS…]"
  local pg_before="" mariadb_before=""
  if pg_up; then pg_before=1; fi
  if mariadb_running; then mariadb_before=1; fi
  stop_started_here() {
    if [[ -z "$pg_before" ]]; then pg_stop || true; fi
    if [[ -z "$mariadb_before" ]]; then mariadb_stop || true; fi
  }
  # Set before starting: a start that fails half way stops what it did start.
  trap stop_started_here EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [[ -z "$pg_before" || -z "$mariadb_before" || ! -s "$ENV_FILE" ]]; then
    start
  fi
  set -a
  # shellcheck disable=SC1090
  source "$ENV_FILE"
  set +a
  local status=0
  "$@" || status=$?
  exit "$status"
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  with) shift && with "$@" ;;
  *) die "usage: scripts/databases.sh install|start|stop|status|with CMD…" ;;
esac
