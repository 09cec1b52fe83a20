#!/usr/bin/env bash
# The way back, checked by Terraform itself (a development-machine check, not
# CI: it needs terraform and the provider mirror). On a moto of its own that
# replays Terraform's recorded requests (see tests/fixtures/tfstate/README.md):
#
#   gantry state import-terraform  (Terraform's recorded state)
#   gantry apply                   (a small change: a parameter's value, a tag)
#   gantry state export-terraform
#   terraform plan                 (same .tf files, the exported state, refresh on)
#
# and reports "No changes" or Terraform's diff. Exit 0 when Terraform sees no
# changes, 1 when it does, 3 when a tool is missing.
#
# Usage: scripts/tf-plan-exported.sh [FIXTURE]   (default: small)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:-small}"
FIXTURE="${REPO_ROOT}/tests/fixtures/tfstate/${NAME}"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
VENV_DIR="${GANTRY_VENV:-${REPO_ROOT}/.venv}"
GANTRY="${GANTRY_BIN:-${REPO_ROOT}/target/debug/gantry}"
SEED=42
CANARY="tfimport-canary-5e1f0c7a"
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1

log() { printf 'tf-plan-exported.sh: %s\n' "$*" >&2; }

command -v terraform >/dev/null 2>&1 || { log "terraform is not installed"; exit 3; }
[[ -d "${PLUGIN_DIR}/registry.terraform.io/hashicorp/aws" ]] || { log "no AWS provider under ${PLUGIN_DIR}"; exit 3; }
[[ -x "${VENV_DIR}/bin/moto_server" ]] || { log "no moto_server in ${VENV_DIR}"; exit 3; }
[[ -x "${GANTRY}" ]] || { log "no gantry binary at ${GANTRY} (cargo build)"; exit 3; }

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
MOTO_IAM_LOAD_MANAGED_POLICIES=false MOTO_RECORDER_FILEPATH="${work}/recording.jsonl" "${VENV_DIR}/bin/moto_server" -H 127.0.0.1 -p "${port}" >"${work}/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:${port}/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
done
api() { curl -fsS -X POST -H 'Content-Type: application/octet-stream' "$@" >/dev/null; }
api "http://127.0.0.1:${port}/moto-api/seed?a=${SEED}"
api --data-binary @"${FIXTURE}/moto-recording.jsonl" "http://127.0.0.1:${port}/moto-api/recorder/upload-recording"
api "http://127.0.0.1:${port}/moto-api/recorder/replay-recording"

stack="${work}/${NAME}"
mkdir -p "${stack}"
(cd "${FIXTURE}" && find . \( -name '*.tf' -o -name '*.tfvars' \) -exec cp --parents {} "${stack}" \;)

export AWS_ENDPOINT_URL="http://127.0.0.1:${port}" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true TF_VAR_session_secret="${CANARY}"
g() { "${GANTRY}" --state-dir "${work}/state" "$@" -s "${stack}" -e local; }

g state import-terraform "${FIXTURE}/terraform.tfstate" >"${work}/import.log" 2>&1 || { cat "${work}/import.log" >&2; exit 1; }
g plan --detailed-exitcode --no-color >"${work}/gantry-plan.log" 2>&1 ||
    { cat "${work}/gantry-plan.log" >&2; log "gantry plan after import is not clean"; exit 1; }
log "gantry: $(grep -m1 'Imported' "${work}/import.log"); gantry plan: no changes"

# A small change, made by gantry: a parameter's value and a bucket tag.
sed -i 's/value = "8080"/value = "8081"/; s/purpose = "assets"/purpose = "static-assets"/' "${stack}/main.tf"
g apply --auto-approve --no-color >"${work}/apply.log" 2>&1 || { cat "${work}/apply.log" >&2; exit 1; }
log "gantry apply: $(grep -m1 -E 'Apply complete|applied' "${work}/apply.log" || tail -n1 "${work}/apply.log")"

g state export-terraform --out "${stack}/terraform.tfstate" 2>"${work}/export.log" || { cat "${work}/export.log" >&2; exit 1; }
if grep -rq "${CANARY}" "${work}/state" "${stack}/terraform.tfstate" "${work}"/*.log; then
    log "the secret canary reached a gantry file or output"
    exit 1
fi

cat >"${stack}/moto_override.tf" <<'HCL'
provider "aws" {
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true

  # gantry's ownership tags stay on what it created or updated; Terraform
  # is told to leave them alone (docs/from-terraform.md).
  ignore_tags {
    key_prefixes = ["gantry:"]
  }
}
HCL
(
    cd "${stack}"
    terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >"${work}/init.log"
    set +e
    terraform plan -input=false -no-color -detailed-exitcode -parallelism=1 >"${work}/tf-plan.log" 2>&1
    echo $? >"${work}/tf-plan.rc"
)
rc="$(cat "${work}/tf-plan.rc")"
case "${rc}" in
    0) log "terraform plan on the exported state: No changes."; exit 0 ;;
    2) cat "${work}/tf-plan.log"; log "terraform plan on the exported state shows changes (above)"; exit 1 ;;
    *) cat "${work}/tf-plan.log"; log "terraform plan failed (exit ${rc})"; exit 1 ;;
esac
