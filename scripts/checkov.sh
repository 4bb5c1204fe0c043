#!/usr/bin/env bash
# checkov, pinned, in a venv of its own, run offline over Firebreak's Terraform.
#
#   scripts/checkov.sh ensure-venv     install checkov==CHECKOV_VERSION into .venv-checkov
#   scripts/checkov.sh terraform       scan terraform/ (root module, modules/*, examples/*)
#   scripts/checkov.sh scan <dir>      scan one directory of .tf files (the rendered policies)
#
# A scan fails (exit 1) when any check fails, when it scanned no resource at all, or when a
# skip carries no reason: every `#checkov:skip=CKV_…:<reason>` must say why.
#
# Its own venv, not the emulator's .venv: checkov pins boto3/botocore/s3transfer and networkx to
# versions older than moto 5.2.5 runs with, so one venv would break the other.
#
# Offline: no API key is ever passed (BC_API_KEY and friends are unset), --skip-download keeps it
# from fetching policy metadata, --download-external-modules false from fetching modules, and
# CKV_SKIP_PACKAGE_UPDATE_CHECK from asking PyPI for a newer version.
set -euo pipefail
# shellcheck source=lib/pinned-venv.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/pinned-venv.sh"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHECKOV_VERSION="3.3.30"
VENV="${ROOT}/.venv-checkov"
PY="${VENV}/bin/python"
OUT_DIR="${ROOT}/.firebreak/checkov"

say() { printf 'checkov: %s\n' "$*"; }
die() { printf 'checkov: error: %s\n' "$*" >&2; exit 1; }

ensure_venv() {
  ensure_pinned_venv checkov "$VENV" "checkov==${CHECKOV_VERSION}" "$CHECKOV_VERSION" "__import__('checkov.version').version.version" "$OUT_DIR"
}

# scan <dir> <report name>: checkov over one directory, its JSON report in
# .firebreak/checkov/<name>/results_json.json, then the verdict and every finding and skip, read
# from that report.
scan() {
  local dir="$1" name="$2"
  [[ -d "$dir" ]] || die "no directory ${dir}"
  ensure_venv
  local report_dir="${OUT_DIR}/${name}"
  rm -rf "$report_dir"
  mkdir -p "$report_dir"
  say "scanning ${dir#"${ROOT}/"} (checkov ${CHECKOV_VERSION}, offline)"
  local status=0
  # checkov exits 1 when a check fails; the verdict below reads the report either way.
  env -u BC_API_KEY -u PRISMA_API_URL -u BC_API_URL \
    CKV_SKIP_PACKAGE_UPDATE_CHECK=true \
    "${VENV}/bin/checkov" \
    --directory "$dir" \
    --framework terraform \
    --skip-download \
    --download-external-modules false \
    --output json \
    --output-file-path "$report_dir" >"${report_dir}/stdout.log" 2>"${report_dir}/stderr.log" || status=$?
  local report="${report_dir}/results_json.json"
  if [[ ! -s "$report" ]]; then
    tail -n 30 "${report_dir}/stderr.log" >&2 || true
    die "checkov wrote no report (exit ${status}): it did not run"
  fi
  "$PY" - "$report" "$status" "$ROOT" <<'PYEOF'
import json, sys

report_path, status, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(report_path) as f:
    data = json.load(f)
# One framework gives one report object; several give a list.
reports = data if isinstance(data, list) else [data]
passed = parsing_errors = 0
failures, skipped = [], []
for report in reports:
    if not isinstance(report, dict):
        continue
    summary = report.get("summary", {})
    parsing_errors += summary.get("parsing_errors", 0)
    results = report.get("results", {})
    passed += len(results.get("passed_checks", []))
    failures += results.get("failed_checks", [])
    skipped += results.get("skipped_checks", [])

def where(check):
    path = (check.get("file_abs_path") or check.get("file_path") or "").replace(root + "/", "")
    lines = check.get("file_line_range") or [0]
    return f"{path}:{lines[0]}"

seen = set()
for check in failures:
    key = (check["check_id"], check["resource"])
    if key in seen:
        continue
    seen.add(key)
    print(f"checkov: FAILED {check['check_id']} {check['check_name']}")
    print(f"checkov:   resource {check['resource']} ({where(check)})")
    if check.get("guideline"):
        print(f"checkov:   guide {check['guideline']}")
# A skip is written once on a resource, and reported once per module instance: print it once.
unjustified = []
grouped = {}
for c in skipped:
    reason = ((c.get("check_result") or {}).get("suppress_comment") or "").strip()
    resource = ".".join(c["resource"].split(".")[-2:])
    grouped.setdefault((c["check_id"], resource, where(c), reason), set()).add(c["resource"])
for (check_id, resource, location, reason), instances in sorted(grouped.items()):
    count = f" (x{len(instances)})" if len(instances) > 1 else ""
    print(f"checkov: skipped {check_id} on {resource}{count} at {location}: {reason}")
    if reason in ("", "No comment provided"):
        unjustified.append(f"{check_id} on {resource} at {location}")

print(f"checkov: {passed} passed, {len(failures)} failed, {len(skipped)} skipped")
problems = []
if failures:
    problems.append(f"{len(failures)} failed check(s), listed above")
if unjustified:
    problems.append("skip(s) without a reason (write #checkov:skip=CKV_...:<why>): " + ", ".join(unjustified))
if parsing_errors:
    problems.append(f"{parsing_errors} file(s) checkov could not parse (their resources went unchecked)")
if passed + len(failures) + len(skipped) == 0:
    problems.append("no check ran: checkov found no Terraform resource to scan")
if status not in (0, 1):
    problems.append(f"checkov exited {status} (a crash or a usage error, not a verdict)")
if problems:
    for p in problems:
        print(f"checkov: FAILED: {p}", file=sys.stderr)
    sys.exit(1)
PYEOF
}

case "${1:-}" in
  ensure-venv) ensure_venv; say "venv ready: ${VENV} (checkov ${CHECKOV_VERSION})" ;;
  terraform) scan "${ROOT}/terraform" terraform ;;
  scan)
    [[ -n "${2:-}" ]] || die "usage: $0 scan <dir>"
    scan "$(cd "$2" && pwd)" "$(basename "$2")" ;;
  *) echo "usage: $0 ensure-venv|terraform|scan <dir>" >&2; exit 64 ;;
esac
