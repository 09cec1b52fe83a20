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
#        scripts/record-tfstate-fixtures.sh --shapes      (src/tfstate/provider_shapes.json only)
# Needs terraform and the AWS provider in a local mirror (TF_PLUGIN_DIR,
# default /opt/tf-plugins) and moto in .venv (GANTRY_VENV); exit 3 when missing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="${REPO_ROOT}/tests/fixtures/tfstate"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1
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
        export AWS_ENDPOINT_URL="http://127.0.0.1:${port}"
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

# What export-terraform needs to write states the provider accepts, for
# every type gantry supports: schema_version and the kind of each attribute
# from the provider's schema, and from the recorded states the `private`
# data and the values Terraform writes for its arguments that are neither
# computed nor sensitive (defaults such as source_dest_check = true).
record_shapes() {
    local dir="${work}/shapes"
    mkdir -p "${dir}"
    printf 'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n' >"${dir}/main.tf"
    (
        cd "${dir}"
        terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >/dev/null
        terraform providers schema -json >"${dir}/schema.json"
        terraform version -json >"${dir}/version.json"
    )
    grep -rhoE '"aws_[a-z0-9_]+"' "${REPO_ROOT}/src/resources"/*.rs | tr -d '"' | sort -u >"${dir}/types"
    "${VENV_DIR}/bin/python" - "${dir}" "${FIXTURES}" "${REPO_ROOT}/src/tfstate/provider_shapes.json" <<'PY'
import glob, json, os, sys
work, fixtures, out = sys.argv[1:4]
schema = json.load(open(os.path.join(work, "schema.json")))
version = json.load(open(os.path.join(work, "version.json")))
provider = "registry.terraform.io/hashicorp/aws"
resources = schema["provider_schemas"][provider]["resource_schemas"]
wanted = [t.strip() for t in open(os.path.join(work, "types")) if t.strip() in resources]
recorded = {}
for path in sorted(glob.glob(os.path.join(fixtures, "*", "terraform.tfstate"))):
    for r in json.load(open(path))["resources"]:
        if r["mode"] == "managed" and r["instances"]:
            recorded.setdefault(r["type"], r["instances"][0])
types = {}
for t in wanted:
    block = resources[t]["block"]
    kinds = {}
    for name, a in block.get("attributes", {}).items():
        if a.get("sensitive"):
            kinds[name] = "sensitive"
        elif a.get("computed") and not a.get("optional") and not a.get("required"):
            kinds[name] = "computed"
        elif a.get("computed"):
            kinds[name] = "optional_computed"
        else:
            kinds[name] = "argument"
    for name, b in block.get("block_types", {}).items():
        # A list or set of objects in state; a single block is an object or null.
        kinds[name] = "block" if b["nesting_mode"] in ("list", "set") else "single_block"
    entry = {"schema_version": resources[t].get("version", 0), "attributes": kinds}
    inst = recorded.get(t)
    if inst is not None:
        entry["template"] = {k: v for k, v in inst["attributes"].items() if kinds.get(k) == "argument"}
        if inst.get("private"):
            entry["private"] = inst["private"]
    types[t] = entry
doc = {
    "terraform_version": version["terraform_version"],
    "provider": provider,
    "provider_version": version["provider_selections"][provider],
    "types": types,
}
with open(out, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"shapes of {len(types)} types ({len(recorded)} with recorded values)", file=sys.stderr)
PY
}

names=("$@")
if [[ "${1:-}" == "--shapes" ]]; then
    names=()
elif [[ ${#names[@]} -eq 0 ]]; then
    for d in "${FIXTURES}"/*/; do names+=("$(basename "${d}")"); done
fi
for name in "${names[@]+"${names[@]}"}"; do
    record "${name}"
done
record_shapes
version="$(terraform version -json | "${VENV_DIR}/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["terraform_version"])')"
log "terraform ${version}, seed ${SEED}"
