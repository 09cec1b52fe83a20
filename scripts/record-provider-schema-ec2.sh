#!/usr/bin/env bash
# Records the Terraform AWS provider's schema of the EC2-neighbour resource
# types gantry supports, as the fixture the schema unit test compares with
# (src/resources/provider_schema_ec2.rs).
set -euo pipefail

usage() {
    cat <<'USAGE'
Usage: scripts/record-provider-schema-ec2.sh

Runs `terraform providers schema -json` against the offline AWS provider
mirror and writes, for each type listed in TYPES below, its schema block to
tests/fixtures/provider-schema-ec2/aws.json (with the provider version).

Needs terraform, jq and a provider mirror (found under /opt, /usr/share and
/usr/local/share, or given as TF_PLUGIN_DIR: the folder holding
registry.terraform.io/). Exit codes: 0 recorded, 1 failure, 3 terraform or
the mirror is missing (nothing recorded).
USAGE
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    usage
    exit 0
fi

TYPES=(
    aws_security_group_rule
    aws_vpc_security_group_ingress_rule
    aws_vpc_security_group_egress_rule
    aws_eip
    aws_eip_association
    aws_key_pair
    aws_cloudwatch_log_group
)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${REPO_ROOT}/tests/fixtures/provider-schema-ec2/aws.json"

for tool in terraform jq; do
    if ! command -v "${tool}" >/dev/null 2>&1; then
        echo "record-provider-schema-ec2.sh: ${tool} is not installed; nothing recorded" >&2
        exit 3
    fi
done

find_plugin_dir() {
    if [[ -n "${TF_PLUGIN_DIR:-}" ]]; then
        printf '%s\n' "${TF_PLUGIN_DIR}"
        return 0
    fi
    local binary
    binary="$(find /opt /usr/share /usr/local/share -path '*/registry.terraform.io/hashicorp/aws/*' \
        -name 'terraform-provider-aws*' -type f 2>/dev/null | head -n 1)"
    [[ -n "${binary}" ]] || return 1
    printf '%s\n' "${binary%/registry.terraform.io/*}"
}

if ! plugin_dir="$(find_plugin_dir)"; then
    echo "record-provider-schema-ec2.sh: no offline terraform-provider-aws mirror found (set TF_PLUGIN_DIR)" >&2
    exit 3
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/gantry-schema-ec2.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# No user CLI config (credential helpers, network mirrors): offline only.
export TF_CLI_CONFIG_FILE=/dev/null
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1

cat >"${work}/main.tf" <<'TF'
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}
TF
(cd "${work}" && terraform init -input=false -no-color -plugin-dir="${plugin_dir}" >/dev/null)
(cd "${work}" && terraform providers schema -json >"${work}/schema.json")
version="$(cd "${work}" && terraform version -json | jq -r '.provider_selections["registry.terraform.io/hashicorp/aws"]')"

types_json="$(printf '%s\n' "${TYPES[@]}" | jq -R . | jq -s .)"
jq --arg version "${version}" --argjson types "${types_json}" '
    .provider_schemas["registry.terraform.io/hashicorp/aws"].resource_schemas as $all
    | {provider: "registry.terraform.io/hashicorp/aws", version: $version,
       resource_schemas: ($types | map({key: ., value: $all[.].block}) | from_entries)}
' "${work}/schema.json" >"${OUT}.tmp"
mv "${OUT}.tmp" "${OUT}"
echo "recorded ${#TYPES[@]} resource schemas of hashicorp/aws ${version} in ${OUT#"${REPO_ROOT}"/}"
