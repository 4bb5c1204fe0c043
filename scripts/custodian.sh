#!/usr/bin/env bash
# Cloud Custodian (c7n), pinned, in the benchmark's own venv: the peer `make bench` runs on the
# same world as Firebreak (scripts/bench/peer.ts).
#
#   scripts/custodian.sh ensure-venv   install c7n==C7N_VERSION into .venv-bench (when missing; silent otherwise)
#   scripts/custodian.sh version       the c7n version the venv holds
#
# Its own venv, not the emulator's .venv nor .venv-checkov: c7n pins its own boto3/botocore, and
# the emulator's moto must keep the versions it was tested with. Only the benchmark installs it
# (`make test` never does).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
C7N_VERSION="0.9.53"
VENV="${ROOT}/.venv-bench"
PY="${VENV}/bin/python"
OUT_DIR="${ROOT}/.firebreak/bench"

say() { printf 'custodian: %s\n' "$*" >&2; }
die() { printf 'custodian: error: %s\n' "$*" >&2; exit 1; }

installed_version() {
  [[ -x "$PY" ]] && "$PY" -c 'from c7n.version import version; print(version)' 2>/dev/null
}

ensure_venv() {
  if [[ "$(installed_version || true)" == "$C7N_VERSION" ]] && [[ -x "${VENV}/bin/custodian" ]]; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 not found: install Python 3.9+ to run Cloud Custodian"
  if [[ ! -x "$PY" ]]; then
    say "creating ${VENV}"
    python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  say "installing c7n==${C7N_VERSION} into ${VENV}"
  mkdir -p "$OUT_DIR"
  local log="${OUT_DIR}/pip-install.log"
  if ! "$PY" -m pip install --quiet --disable-pip-version-check "c7n==${C7N_VERSION}" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "pip install c7n==${C7N_VERSION} failed (log: ${log})"
  fi
  say "venv ready: ${VENV} (c7n ${C7N_VERSION})"
}

case "${1:-}" in
  ensure-venv) ensure_venv ;;
  version) installed_version || die "no c7n in ${VENV}: run $0 ensure-venv" ;;
  *) echo "usage: $0 ensure-venv|version" >&2; exit 64 ;;
esac
