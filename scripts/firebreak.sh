#!/usr/bin/env bash
# Runs the firebreak CLI with the project's Node 22 (the machine's Node may be older).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
exec "${root}/node_modules/.bin/node" "${root}/scripts/firebreak.ts" "$@"
