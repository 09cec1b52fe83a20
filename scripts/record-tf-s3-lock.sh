#!/usr/bin/env bash
# Records what Terraform's S3 backend writes, so gantry's import from S3 can
# be checked against it without Terraform (tests/tfstate_s3.rs):
#
#   - the state object and its key for the default and a named workspace
#     (workspace_key_prefix);
#   - the DynamoDB lock item (LockID = "<bucket>/<key>", Info = JSON of
#     Terraform's LockInfo) and the `<key>.tflock` object use_lockfile
#     writes, both taken while Terraform holds its lock (an apply waiting
#     at its confirmation prompt);
#   - the `<bucket>/<key>-md5` digest item Terraform keeps beside the lock.
#
# Terraform 1.11.4 with the AWS provider from the local mirror, on moto
# 5.1.22 started here on 127.0.0.1 and stopped by its PID.
#
# Usage: scripts/record-tf-s3-lock.sh
# Writes tests/fixtures/tfstate/s3-backend/recorded.json. Exit 3 when a
# tool is missing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURE="${REPO_ROOT}/tests/fixtures/tfstate/s3-backend"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
VENV_DIR="${GANTRY_VENV:-${REPO_ROOT}/.venv}"
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1

log() { printf 'record-tf-s3-lock.sh: %s\n' "$*" >&2; }

command -v terraform >/dev/null 2>&1 || { log "terraform is not installed"; exit 3; }
[[ -d "${PLUGIN_DIR}/registry.terraform.io/hashicorp/aws" ]] || { log "no AWS provider under ${PLUGIN_DIR}"; exit 3; }
[[ -x "${VENV_DIR}/bin/moto_server" ]] || { log "no moto_server in ${VENV_DIR} (run scripts/moto.sh install)"; exit 3; }

work="$(mktemp -d)"
moto_pid=""
tf_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [[ -n "${tf_pid}" ]]; then
        kill "${tf_pid}" 2>/dev/null || true
        wait "${tf_pid}" 2>/dev/null || true
    fi
    if [[ -n "${moto_pid}" ]]; then
        kill "${moto_pid}" 2>/dev/null || true
        wait "${moto_pid}" 2>/dev/null || true
    fi
    rm -rf "${work}"
}
trap cleanup EXIT

port="$("${VENV_DIR}/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"${VENV_DIR}/bin/moto_server" -H 127.0.0.1 -p "${port}" >"${work}/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:${port}/moto-api/" >/dev/null 2>&1 && break
    sleep 0.2
done

export AWS_ENDPOINT_URL="http://127.0.0.1:${port}" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

py() { "${VENV_DIR}/bin/python" - "$@"; }

py <<'PY'
import boto3, os
url = os.environ["AWS_ENDPOINT_URL"]
boto3.client("s3", endpoint_url=url).create_bucket(Bucket="tf-lock-fixture")
boto3.client("dynamodb", endpoint_url=url).create_table(
    TableName="tf-locks",
    KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
)
PY

stack="${work}/stack"
mkdir -p "${stack}"
cp "${FIXTURE}/main.tf" "${stack}/main.tf"
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

cd "${stack}"
terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >"${work}/init.log" 2>&1 ||
    { cat "${work}/init.log" >&2; exit 1; }
terraform apply -input=false -no-color -auto-approve >"${work}/apply.log" 2>&1 ||
    { cat "${work}/apply.log" >&2; exit 1; }

# An apply that waits at its prompt holds the lock until it is answered.
mkfifo "${work}/answer"
terraform apply -no-color -var 'note=changed' <"${work}/answer" >"${work}/held.log" 2>&1 &
tf_pid=$!
exec 7>"${work}/answer"
for _ in $(seq 300); do
    grep -q "Enter a value" "${work}/held.log" 2>/dev/null && break
    sleep 0.2
done
grep -q "Enter a value" "${work}/held.log" || { cat "${work}/held.log" >&2; log "terraform never reached its prompt"; exit 1; }

py "${work}/held.json" <<'PY'
import boto3, json, os, sys
url = os.environ["AWS_ENDPOINT_URL"]
s3 = boto3.client("s3", endpoint_url=url)
items = boto3.client("dynamodb", endpoint_url=url).scan(TableName="tf-locks")["Items"]
objects = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="tf-lock-fixture").get("Contents", []))
lockfile = [k for k in objects if k.endswith(".tflock")]
held = {
    "dynamodb_items": sorted(items, key=lambda i: i["LockID"]["S"]),
    "objects_while_locked": objects,
    "lockfile": {k: json.loads(s3.get_object(Bucket="tf-lock-fixture", Key=k)["Body"].read()) for k in lockfile},
}
json.dump(held, open(sys.argv[1], "w"))
PY
echo no >&7
exec 7>&-
wait "${tf_pid}" || true
tf_pid=""

# A named workspace: where its state and lock go.
terraform workspace new staging -no-color >/dev/null
terraform apply -input=false -no-color -auto-approve -var 'param=/tfs3/staging/note' >"${work}/apply-staging.log" 2>&1 ||
    { cat "${work}/apply-staging.log" >&2; exit 1; }
terraform workspace select default -no-color >/dev/null

py "${work}/held.json" "${FIXTURE}/recorded.json" "$(terraform version -json)" <<'PY'
import boto3, json, os, sys
url = os.environ["AWS_ENDPOINT_URL"]
held = json.load(open(sys.argv[1]))
version = json.loads(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=url)
items = boto3.client("dynamodb", endpoint_url=url).scan(TableName="tf-locks")["Items"]
objects = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="tf-lock-fixture").get("Contents", []))
out = {
    "terraform_version": version["terraform_version"],
    "provider_selections": version["provider_selections"],
    "bucket": "tf-lock-fixture",
    "table": "tf-locks",
    "held": held,
    "dynamodb_items_after": sorted(items, key=lambda i: i["LockID"]["S"]),
    "objects_after": objects,
}
with open(sys.argv[2], "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
PY
# The states themselves: the tests make their own with gantry's import input.
s3get() { py "$1" "$2" <<'PY'
import boto3, os, sys
url = os.environ["AWS_ENDPOINT_URL"]
body = boto3.client("s3", endpoint_url=url).get_object(Bucket="tf-lock-fixture", Key=sys.argv[1])["Body"].read()
open(sys.argv[2], "wb").write(body)
PY
}
s3get "env/app.tfstate" "${FIXTURE}/default.tfstate"
s3get "env:/staging/env/app.tfstate" "${FIXTURE}/staging.tfstate"

log "recorded $(wc -c <"${FIXTURE}/recorded.json") bytes to ${FIXTURE}/recorded.json ($(terraform version | head -n1))"
