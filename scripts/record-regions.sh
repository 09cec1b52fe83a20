#!/usr/bin/env bash
# Records what the Terraform AWS provider's `data "aws_partition"` and
# `data "aws_region"` say for each region below (one aliased provider per
# region; both data sources are computed offline from the provider's endpoint
# tables) into tests/fixtures/regions.json. gantry's unit tests compare its
# partition table and region descriptions to it.
#
# Needs terraform and the AWS provider in a local mirror (TF_PLUGIN_DIR,
# default /opt/tf-plugins). Exit 3 when either is missing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${REPO_ROOT}/tests/fixtures/regions.json"
PLUGIN_DIR="${TF_PLUGIN_DIR:-/opt/tf-plugins}"
REGIONS=(
    af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-south-2
    ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-7
    ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 eu-west-1 eu-west-2
    eu-west-3 il-central-1 me-central-1 me-south-1 mx-central-1 sa-east-1 us-east-1 us-east-2 us-west-1
    us-west-2 cn-north-1 cn-northwest-1 us-gov-east-1 us-gov-west-1 us-iso-east-1 us-iso-west-1
    us-isob-east-1 eu-isoe-west-1 us-isof-east-1 us-isof-south-1
)

if ! command -v terraform >/dev/null 2>&1; then
    echo "record-regions.sh: terraform is not installed" >&2
    exit 3
fi
if [[ ! -d "${PLUGIN_DIR}/registry.terraform.io/hashicorp/aws" ]]; then
    echo "record-regions.sh: no AWS provider under ${PLUGIN_DIR}" >&2
    exit 3
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
{
    cat <<'HCL'
terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}
HCL
    for region in "${REGIONS[@]}"; do
        alias="${region//-/_}"
        cat <<HCL

provider "aws" {
  alias                       = "${alias}"
  region                      = "${region}"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  skip_region_validation      = true
}

data "aws_partition" "${alias}" {
  provider = aws.${alias}
}

data "aws_region" "${alias}" {
  provider = aws.${alias}
}
HCL
    done
    echo 'output "regions" {'
    echo '  value = {'
    for region in "${REGIONS[@]}"; do
        alias="${region//-/_}"
        echo "    \"${region}\" = { partition = data.aws_partition.${alias}, region = data.aws_region.${alias} }"
    done
    echo '  }'
    echo '}'
} >"${work}/main.tf"

export TF_CLI_CONFIG_FILE=/dev/null TF_IN_AUTOMATION=1
(
    cd "${work}"
    terraform init -input=false -no-color -plugin-dir="${PLUGIN_DIR}" >/dev/null
    terraform apply -input=false -no-color -auto-approve >/dev/null
    terraform output -json regions
) | python3 -c 'import json,sys; json.dump(json.load(sys.stdin), sys.stdout, indent=1, sort_keys=True); print()' >"${OUT}"
echo "recorded ${#REGIONS[@]} regions (provider 5.100.0) into ${OUT#"${REPO_ROOT}"/}"
