#!/usr/bin/env bash
# Records the schemas of the data sources gantry implements, as the Terraform
# AWS provider declares them (`terraform providers schema -json`), into
# tests/fixtures/data_source_schemas.json: per data source, each attribute's
# type and whether it is required, optional, computed or sensitive, and the
# nested blocks. A unit test checks gantry's schemas against it.
#
# Needs terraform and the AWS provider in a local mirror (TF_PLUGIN_DIR,
# default /opt/tf-plugins). Exit 3 when either is missing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${REPO_ROOT}/tests/fixtures/data_source_schemas.json"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
DATA_SOURCES=(
    aws_ami aws_availability_zones aws_caller_identity aws_canonical_user_id aws_ecr_repository
    aws_iam_openid_connect_provider aws_iam_policy aws_iam_policy_document aws_iam_role aws_partition
    aws_region aws_s3_bucket aws_security_group aws_ssm_parameter aws_subnets aws_vpc
)

if ! command -v terraform >/dev/null 2>&1; then
    echo "record-data-source-schemas.sh: terraform is not installed" >&2
    exit 3
fi
if [[ ! -d "${PLUGIN_DIR}/registry.terraform.io/hashicorp/aws" ]]; then
    echo "record-data-source-schemas.sh: no AWS provider under ${PLUGIN_DIR}" >&2
    exit 3
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
cat >"${work}/main.tf" <<'HCL'
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}
HCL
export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1
(cd "${work}" && terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >/dev/null)
(cd "${work}" && terraform providers schema -json) >"${work}/schema.json"

python3 - "${work}/schema.json" "${OUT}" "${DATA_SOURCES[@]}" <<'PY'
import json
import sys

schema_path, out_path, names = sys.argv[1], sys.argv[2], sys.argv[3:]
provider = json.load(open(schema_path))["provider_schemas"]["registry.terraform.io/hashicorp/aws"]


def block(b):
    attrs = {}
    for name, a in sorted(b.get("attributes", {}).items()):
        attrs[name] = {
            "type": a["type"],
            "required": a.get("required", False),
            "optional": a.get("optional", False),
            "computed": a.get("computed", False),
            "sensitive": a.get("sensitive", False),
            "deprecated": a.get("deprecated", False),
        }
    blocks = {}
    for name, nb in sorted(b.get("block_types", {}).items()):
        blocks[name] = {"nesting_mode": nb["nesting_mode"], "block": block(nb["block"])}
    return {"attributes": attrs, "block_types": blocks}


out = {n: block(provider["data_source_schemas"][n]["block"]) for n in names}
with open(out_path, "w") as f:
    json.dump(out, f, indent=1, sort_keys=True)
    f.write("\n")
print(f"recorded {len(out)} data source schemas (provider 5.100.0) into {out_path}")
PY
