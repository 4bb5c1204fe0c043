#!/usr/bin/env bash
# Runs terraform with a Firebreak-owned CLI configuration so that every project command
# finds the hashicorp/aws provider the same way, whatever TF_CLI_CONFIG_FILE the machine sets
# (some machines point it at a file that does not exist, or have no registry access).
#
# Provider source, first match wins:
#   1. FIREBREAK_TF_PROVIDER_MIRROR=<dir>  - filesystem mirror for registry.terraform.io/hashicorp/*
#   2. registry.terraform.io answers        - ordinary direct install
#   3. a mirror holding hashicorp/aws in a conventional place (notice on stderr)
#   otherwise: fail, asking for FIREBREAK_TF_PROVIDER_MIRROR.
#
# Usage: scripts/terraform.sh [terraform args...]   e.g. scripts/terraform.sh -chdir=terraform init
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state_dir="${repo_root}/.firebreak"
cli_config="${state_dir}/terraformrc"
mkdir -p "${state_dir}"

terraform_bin="${FIREBREAK_TERRAFORM:-terraform}"
if ! command -v "${terraform_bin}" >/dev/null 2>&1; then
  echo "scripts/terraform.sh: '${terraform_bin}' not found on PATH (install Terraform >= 1.6 or set FIREBREAK_TERRAFORM)" >&2
  exit 127
fi

write_mirror_config() {
  local mirror="$1"
  cat >"${cli_config}.tmp" <<CONF
# Written by scripts/terraform.sh - do not edit; it is rewritten on every run.
provider_installation {
  filesystem_mirror {
    path    = "${mirror}"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
CONF
  mv "${cli_config}.tmp" "${cli_config}"
}

write_direct_config() {
  cat >"${cli_config}.tmp" <<'CONF'
# Written by scripts/terraform.sh - do not edit; it is rewritten on every run.
provider_installation {
  direct {}
}
CONF
  mv "${cli_config}.tmp" "${cli_config}"
}

find_conventional_mirror() {
  local dir
  for dir in \
    "${HOME:-/nonexistent}/.terraform.d/plugins" \
    /usr/local/share/terraform/plugins \
    /usr/share/terraform/plugins \
    /opt/tf-plugins; do
    if compgen -G "${dir}/registry.terraform.io/hashicorp/aws/*/*" >/dev/null 2>&1; then
      echo "${dir}"
      return 0
    fi
  done
  return 1
}

if [[ -n "${FIREBREAK_TF_PROVIDER_MIRROR:-}" ]]; then
  if [[ ! -d "${FIREBREAK_TF_PROVIDER_MIRROR}" ]]; then
    echo "scripts/terraform.sh: FIREBREAK_TF_PROVIDER_MIRROR=${FIREBREAK_TF_PROVIDER_MIRROR} is not a directory" >&2
    exit 1
  fi
  write_mirror_config "$(cd "${FIREBREAK_TF_PROVIDER_MIRROR}" && pwd)"
elif curl -fsS -m 3 -o /dev/null https://registry.terraform.io/.well-known/terraform.json 2>/dev/null; then
  write_direct_config
elif mirror="$(find_conventional_mirror)"; then
  echo "scripts/terraform.sh: registry.terraform.io unreachable; using provider mirror ${mirror}" >&2
  write_mirror_config "${mirror}"
else
  cat >&2 <<'MSG'
scripts/terraform.sh: cannot install the hashicorp/aws provider:
  registry.terraform.io is unreachable and no filesystem mirror holding hashicorp/aws was found in
  ~/.terraform.d/plugins, /usr/local/share/terraform/plugins, /usr/share/terraform/plugins or /opt/tf-plugins.
  Set FIREBREAK_TF_PROVIDER_MIRROR to a directory laid out as
  <dir>/registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/terraform-provider-aws_*.
MSG
  exit 1
fi

export TF_CLI_CONFIG_FILE="${cli_config}"
if [[ -z "${TF_PLUGIN_CACHE_DIR:-}" ]]; then
  export TF_PLUGIN_CACHE_DIR="${state_dir}/plugin-cache"
fi
mkdir -p "${TF_PLUGIN_CACHE_DIR}"

exec "${terraform_bin}" "$@"
