#!/usr/bin/env bash
# Records what the Terraform AWS provider makes of every
# `data "aws_iam_policy_document"` case in
# tests/fixtures/policy_documents/cases.tf, into expected.json next to it
# (per case: json, minified_json, id). gantry's unit tests compare its own
# output to these bytes.
#
# The data source is computed by the provider offline: the provider block
# only has to avoid every call it would otherwise make at configure time
# (credential validation, metadata API, account id lookup), so no AWS and no
# emulator is needed.
#
# Needs terraform and the AWS provider in a local mirror (TF_PLUGIN_DIR,
# default /opt/tf-plugins). Exit 3 when either is missing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="${REPO_ROOT}/tests/fixtures/policy_documents"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"

if ! command -v terraform >/dev/null 2>&1; then
    echo "record-policy-documents.sh: terraform is not installed" >&2
    exit 3
fi
if [[ ! -d "${PLUGIN_DIR}/registry.terraform.io/hashicorp/aws" ]]; then
    echo "record-policy-documents.sh: no AWS provider under ${PLUGIN_DIR}" >&2
    exit 3
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

cp "${FIXTURES}/cases.tf" "${work}/cases.tf"
cat >"${work}/provider.tf" <<'HCL'
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
}
HCL

# One output per case, holding the three computed attributes.
{
    echo 'output "cases" {'
    echo '  value = {'
    grep -o '^data "aws_iam_policy_document" "[A-Za-z0-9_-]*"' "${FIXTURES}/cases.tf" |
        sed -E 's/^data "aws_iam_policy_document" "(.*)"$/\1/' |
        while read -r name; do
            printf '    %s = { json = data.aws_iam_policy_document.%s.json, minified_json = data.aws_iam_policy_document.%s.minified_json, id = data.aws_iam_policy_document.%s.id }\n' \
                "${name}" "${name}" "${name}" "${name}"
        done
    echo '  }'
    echo '}'
} >"${work}/outputs.tf"

export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1
(
    cd "${work}"
    terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >/dev/null
    terraform apply -input=false -no-color -auto-approve >/dev/null
    terraform output -json cases
) | python3 -c 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=2, sort_keys=True, ensure_ascii=False); print()' \
    >"${FIXTURES}/expected.json"

version="$(cd "${work}" && terraform version -json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["terraform_version"], d["provider_selections"]["registry.terraform.io/hashicorp/aws"])')"
echo "recorded $(grep -c '^data "aws_iam_policy_document"' "${FIXTURES}/cases.tf") cases with terraform/provider ${version} into ${FIXTURES#"${REPO_ROOT}"/}/expected.json"
