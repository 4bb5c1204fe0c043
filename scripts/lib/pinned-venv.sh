# Sourced by the scripts that run a pinned Python tool in a venv of its own (the emulator's moto,
# checkov, Cloud Custodian): one way to create the venv and install the pinned requirement.
#
#   ensure_pinned_venv <tool> <venv> <requirement> <version> <python expression printing the installed version> <log dir>
#
# Returns at once when the venv already holds that version; otherwise creates the venv (python3
# -m venv) and pip-installs the requirement, its output in <log dir>/pip-install.log, and on a
# failure prints the log's tail and exits 1 with what failed.

ensure_pinned_venv() {
  local tool="$1" venv="$2" requirement="$3" version="$4" probe="$5" log_dir="$6"
  local py="${venv}/bin/python"
  if [[ -x "$py" ]] && [[ "$("$py" -c "print(${probe})" 2>/dev/null)" == "$version" ]]; then
    return 0
  fi
  if ! command -v python3 >/dev/null; then
    printf '%s: error: python3 not found: install Python 3.9+ to run %s\n' "$tool" "$tool" >&2
    exit 1
  fi
  if [[ ! -x "$py" ]]; then
    printf '%s: creating %s\n' "$tool" "$venv" >&2
    if ! python3 -m venv "$venv"; then
      printf '%s: error: python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)\n' "$tool" >&2
      exit 1
    fi
  fi
  printf '%s: installing %s into %s\n' "$tool" "$requirement" "$venv" >&2
  mkdir -p "$log_dir"
  local log="${log_dir}/pip-install.log"
  if ! "$py" -m pip install --quiet --disable-pip-version-check "$requirement" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    printf '%s: error: pip install %s failed (log: %s)\n' "$tool" "$requirement" "$log" >&2
    exit 1
  fi
}
