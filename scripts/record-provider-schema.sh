#!/usr/bin/env bash
# Records the Terraform AWS provider's schema of the given resource types as
# fixtures: tests/fixtures/provider-schema/<type>.json, one file per type, so
# that unit tests can compare gantry's schemas with the provider's without
# Terraform installed.
#
#   scripts/record-provider-schema.sh aws_s3_bucket_policy aws_iam_policy ...
#   scripts/record-provider-schema.sh --design   (the design's original types)
#
# Needs terraform and the provider in a plugin mirror (default /opt/tf-plugins,
# override with TF_PLUGIN_DIR). Only the mirror is used; nothing is downloaded.
set -euo pipefail

if (($# == 0)) || [[ "$1" == "-h" || "$1" == "--help" ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit $(( $# == 0 ? 2 : 0 ))
fi

# The resource types of the design (DESIGN.md), re-recorded together.
DESIGN_TYPES=(
    aws_iam_openid_connect_provider aws_iam_role aws_iam_role_policy aws_iam_role_policy_attachment
    aws_iam_instance_profile aws_ecr_repository aws_security_group aws_instance aws_ssm_parameter
    aws_dynamodb_table aws_s3_bucket aws_s3_bucket_versioning aws_s3_bucket_public_access_block
    aws_s3_bucket_server_side_encryption_configuration
)
if [[ "$1" == "--design" ]]; then
    shift
    set -- "${DESIGN_TYPES[@]}" "$@"
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT_DIR="${REPO_ROOT}/tests/fixtures/provider-schema"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"

scratch="$(mktemp -d)"
trap 'rm -rf "${scratch}"' EXIT

cat >"${scratch}/main.tf" <<'TF'
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
TF

export TF_CLI_CONFIG_FILE=/dev/null
terraform -chdir="${scratch}" init -input=false -plugin-dir="${PLUGIN_DIR}" >/dev/null
terraform -chdir="${scratch}" providers schema -json >"${scratch}/schema.json"
terraform -chdir="${scratch}" version -json >"${scratch}/version.json"

mkdir -p "${OUT_DIR}"
python3 - "${scratch}/schema.json" "${scratch}/version.json" "${OUT_DIR}" "$@" <<'PY'
import json
import sys

schema_path, version_path, out_dir, *types = sys.argv[1:]
with open(schema_path) as f:
    providers = json.load(f)["provider_schemas"]
with open(version_path) as f:
    versions = json.load(f)
aws_key = next(k for k in providers if k.endswith("/hashicorp/aws"))
resources = providers[aws_key]["resource_schemas"]
provider_version = versions.get("provider_selections", {}).get(aws_key, "unknown")

def strip(block):
    # Keep what the comparison needs: names, types, and who sets them.
    # Descriptions change between releases and would only add noise.
    out = {}
    attrs = {}
    for name, a in sorted(block.get("attributes", {}).items()):
        attrs[name] = {k: a[k] for k in ("type", "required", "optional", "computed", "sensitive") if k in a}
    if attrs:
        out["attributes"] = attrs
    blocks = {}
    for name, b in sorted(block.get("block_types", {}).items()):
        entry = {k: b[k] for k in ("nesting_mode", "min_items", "max_items") if k in b}
        entry["block"] = strip(b["block"])
        blocks[name] = entry
    if blocks:
        out["block_types"] = blocks
    return out

missing = [t for t in types if t not in resources]
if missing:
    sys.exit(f"not in the provider's schema: {', '.join(missing)}")
for t in types:
    doc = {
        "type": t,
        "provider": aws_key,
        "provider_version": provider_version,
        "terraform_version": versions.get("terraform_version", "unknown"),
        "block": strip(resources[t]["block"]),
    }
    with open(f"{out_dir}/{t}.json", "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{out_dir}/{t}.json")
PY
