#!/usr/bin/env bash
# Records what Terraform makes of tests/fixtures/tfstate/<name>/*.tf on moto:
# its terraform.tfstate (format 4), and moto's recording of every request
# Terraform sent, from which tests rebuild the same objects with the same ids.
#
# moto's state dies with the server, and EC2 ids (instances, security groups,
# rules) are random. The script seeds moto's random generator before
# Terraform runs and has moto record the requests; a test starts its own
# moto, seeds it the same way and replays the recording, which recreates
# every object under the id the recorded state names. Terraform runs with
# -parallelism=1 so the recorded order is the order moto handled the requests.
#
# Usage: scripts/record-tfstate-fixtures.sh [NAME...]   (default: every fixture)
# Needs terraform and the AWS provider in a local mirror (TF_PLUGIN_DIR,
# default /opt/tf-plugins) and moto in .venv (GANTRY_VENV); exit 3 when missing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="${REPO_ROOT}/tests/fixtures/tfstate"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
VENV_DIR="${GANTRY_VENV:-${REPO_ROOT}/.venv}"
# The seed tests give moto before replaying (tests/tfstate.rs uses the same).
SEED=42
# The SecureString value Terraform is given: it must appear in the recorded
# state (Terraform keeps it in clear) and in no gantry file or output.
CANARY="tfimport-canary-5e1f0c7a"

log() { printf 'record-tfstate-fixtures.sh: %s\n' "$*" >&2; }

command -v terraform >/dev/null 2>&1 || { log "terraform is not installed"; exit 3; }
[[ -d "${PLUGIN_DIR}/registry.terraform.io/hashicorp/aws" ]] || { log "no AWS provider under ${PLUGIN_DIR}"; exit 3; }
[[ -x "${VENV_DIR}/bin/moto_server" ]] || { log "no moto_server in ${VENV_DIR} (run scripts/moto.sh install)"; exit 3; }

work="$(mktemp -d)"
moto_pid=""
cleanup() {
    if [[ -n "${moto_pid}" ]]; then
        kill "${moto_pid}" 2>/dev/null || true
        wait "${moto_pid}" 2>/dev/null || true
    fi
    rm -rf "${work}"
}
trap cleanup EXIT

free_port() {
    "${VENV_DIR}/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

moto_api() { # PATH
    curl -fsS -X POST "http://127.0.0.1:${port}$1" >/dev/null
}

record() { # NAME
    local name="$1" src="${FIXTURES}/$1" dir="${work}/$1"
    [[ -f "${src}/main.tf" ]] || { log "no fixture ${src}/main.tf"; return 1; }
    mkdir -p "${dir}"
    # The configuration only: .tf files, keeping the module folders.
    (cd "${src}" && find . -name '*.tf' -exec cp --parents {} "${dir}" \;)

    port="$(free_port)"
    MOTO_IAM_LOAD_MANAGED_POLICIES=false MOTO_RECORDER_FILEPATH="${dir}/recording.jsonl" \
        "${VENV_DIR}/bin/moto_server" -H 127.0.0.1 -p "${port}" >"${dir}/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:${port}/moto-api/" >/dev/null 2>&1 && break
        sleep 0.2
    done
    moto_api "/moto-api/seed?a=${SEED}"
    moto_api "/moto-api/recorder/reset-recording"
    moto_api "/moto-api/recorder/start-recording"

    # Only Terraform's copy gets the emulator's provider settings: the
    # fixture's provider block stays the one gantry reads.
    cat >"${dir}/moto_override.tf" <<'HCL'
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
        cd "${dir}"
        export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1 AWS_ENDPOINT_URL="http://127.0.0.1:${port}"
        export AWS_EC2_METADATA_DISABLED=true TF_VAR_session_secret="${CANARY}"
        terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >"${dir}/init.log"
        terraform apply -input=false -no-color -auto-approve -parallelism=1 >"${dir}/apply.log" ||
            { cat "${dir}/apply.log" >&2; exit 1; }
        moto_api "/moto-api/recorder/stop-recording"
        # Terraform's own verdict on what it just made: must be no changes.
        terraform plan -input=false -no-color -detailed-exitcode -parallelism=1 >"${dir}/plan.log" ||
            { cat "${dir}/plan.log" >&2; log "terraform plan after apply is not clean"; exit 1; }
    )
    cp "${dir}/terraform.tfstate" "${src}/terraform.tfstate"
    cp "${dir}/recording.jsonl" "${src}/moto-recording.jsonl"
    kill "${moto_pid}"
    wait "${moto_pid}" 2>/dev/null || true
    moto_pid=""
    log "recorded ${name}: $(grep -c '"index_key"\|"attributes"' "${src}/terraform.tfstate") instances, $(wc -l <"${src}/moto-recording.jsonl") requests"
}

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
    for d in "${FIXTURES}"/*/; do names+=("$(basename "${d}")"); done
fi
for name in "${names[@]}"; do
    record "${name}"
done
version="$(TF_CLI_CONFIG_FILE=/dev/null terraform version -json | "${VENV_DIR}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])')"
log "terraform ${version}, seed ${SEED}"
