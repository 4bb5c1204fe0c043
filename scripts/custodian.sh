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
# shellcheck source=lib/pinned-venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-venv.sh"

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
  ensure_pinned_venv custodian "$VENV" "c7n==${C7N_VERSION}" "$C7N_VERSION" "__import__('c7n.version').version.version" "$OUT_DIR"
  [[ -x "${VENV}/bin/custodian" ]] || die "${VENV} holds c7n ${C7N_VERSION} but no custodian command"
}

case "${1:-}" in
  ensure-venv) ensure_venv ;;
  version) installed_version || die "no c7n in ${VENV}: run $0 ensure-venv" ;;
  *) echo "usage: $0 ensure-venv|version" >&2; exit 64 ;;
esac
