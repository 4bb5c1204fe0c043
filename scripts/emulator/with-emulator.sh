#!/usr/bin/env bash
# Run a command with Firebreak's emulator up:
#
#   scripts/emulator/with-emulator.sh npx vitest run --project emulator
#
# Reuses an emulator that is already running (and leaves it running); otherwise starts
# one and stops it when the command ends, however it ends. Exits with the command's
# status. AWS_ENDPOINT_URL defaults to the emulator's URL for the command.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EMULATOR="${HERE}/emulator.sh"
[[ $# -gt 0 ]] || { echo "usage: $0 <command> [args...]" >&2; exit 64; }

started_here=0
if ! "$EMULATOR" status >/dev/null 2>&1; then
  "$EMULATOR" start || exit 1
  started_here=1
fi

stop_if_started_here() {
  if [[ "$started_here" == 1 ]]; then "$EMULATOR" stop; fi
}
trap stop_if_started_here EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://${FIREBREAK_EMULATOR_HOST:-127.0.0.1}:${FIREBREAK_EMULATOR_PORT:-4566}}"
"$@"
exit $?
