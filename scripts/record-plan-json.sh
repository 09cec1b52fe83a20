#!/usr/bin/env bash
# Records Terraform's JSON plan (`terraform show -json`) of the stack in
# tests/fixtures/tfstate/small, planned from nothing on a fresh moto, as
# tests/fixtures/plan-json/terraform-plan.json. tests/plan_json.rs
# compares `gantry show -json` of the same stack with it field by field.
#
# Terraform writes sensitive values in clear in its plan JSON; this script
# replaces the canary secret by null before saving, as gantry writes it.
#
# Usage: scripts/record-plan-json.sh   (needs terraform, the provider mirror
# and moto in .venv; the tests need none of them)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURE="${REPO_ROOT}/tests/fixtures/tfstate/small"
OUT="${REPO_ROOT}/tests/fixtures/plan-json/terraform-plan.json"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
VENV_DIR="${GANTRY_VENV:-${REPO_ROOT}/.venv}"
CANARY="planjson-canary-7d2e91"
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1

log() { printf 'record-plan-json.sh: %s\n' "$*" >&2; }

command -v terraform >/dev/null 2>&1 || { log "terraform is not installed"; exit 3; }
[[ -d "${PLUGIN_DIR}/registry.terraform.io/hashicorp/aws" ]] || { log "no AWS provider under ${PLUGIN_DIR}"; exit 3; }
[[ -x "${VENV_DIR}/bin/moto_server" ]] || { log "no moto_server in ${VENV_DIR} (run scripts/moto.sh install)"; exit 3; }

work="$(mktemp -d)"
moto_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [[ -n "${moto_pid}" ]]; then
        kill "${moto_pid}" 2>/dev/null || true
        wait "${moto_pid}" 2>/dev/null || true
    fi
    rm -rf "${work}"
}
trap cleanup EXIT

port="$("${VENV_DIR}/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
MOTO_IAM_LOAD_MANAGED_POLICIES=false "${VENV_DIR}/bin/moto_server" -H 127.0.0.1 -p "${port}" >"${work}/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:${port}/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
done

stack="${work}/small"
mkdir -p "${stack}"
(cd "${FIXTURE}" && find . \( -name '*.tf' -o -name '*.tfvars' \) -exec cp --parents {} "${stack}" \;)
cat >"${stack}/moto_override.tf" <<'HCL'
provider "aws" {
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
}
HCL
(
    cd "${stack}"
    export AWS_ENDPOINT_URL="http://127.0.0.1:${port}" AWS_EC2_METADATA_DISABLED=true
    export TF_VAR_session_secret="${CANARY}"
    terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >"${work}/init.log"
    terraform plan -input=false -no-color -var-file=envs/local.tfvars -out=plan.tfplan >"${work}/plan.log" ||
        { cat "${work}/plan.log" >&2; exit 1; }
    terraform show -json plan.tfplan >"${work}/plan.json"
)
"${VENV_DIR}/bin/python" - "${work}/plan.json" "${OUT}" "${CANARY}" <<'PY'
import json, sys
src, dst, canary = sys.argv[1:4]

def scrub(v):
    if v == canary:
        return None
    if isinstance(v, dict):
        return {k: scrub(x) for k, x in v.items()}
    if isinstance(v, list):
        return [scrub(x) for x in v]
    return v

doc = scrub(json.load(open(src)))
# The override file only points the provider at moto: not part of the stack.
doc.get("configuration", {}).get("provider_config", {}).get("aws", {}).pop("expressions", None)
doc.pop("timestamp", None)
text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
assert canary not in text
open(dst, "w").write(text)
PY
log "recorded ${OUT} ($(terraform version | sed -n 1p))"
