#!/usr/bin/env bash
# Checks that gantry's stacks are also valid Terraform configurations.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/tf-validate.sh [STACK_DIR...]

Runs `terraform fmt -check` and `terraform validate` on each stack (default:
every folder under stacks/ and tests/fixtures/ holding .tf files, except the
corpus of public configurations in tests/fixtures/corpus, kept exactly as
published: it needs providers and registry modules this offline mirror does
not have), each in a temporary copy, so no .terraform folder or lock file
lands in the repo.

Terraform must be installed and the AWS provider must be available offline,
in a provider mirror folder (found under /opt and /usr/share, or given as
TF_PLUGIN_DIR: the folder holding registry.terraform.io/).

Exit codes: 0 all valid, 1 a stack failed, 3 terraform or the provider mirror
is missing (nothing was checked).
EOF
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    usage
    exit 0
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v terraform >/dev/null 2>&1; then
    echo "tf-validate.sh: terraform is not installed; skipping" >&2
    exit 3
fi

find_plugin_dir() {
    if [[ -n "${TF_PLUGIN_DIR:-}" ]]; then
        printf '%s\n' "${TF_PLUGIN_DIR}"
        return 0
    fi
    local binary
    binary="$(find /opt /usr/share /usr/local/share -path '*/registry.terraform.io/hashicorp/aws/*' \
        -name 'terraform-provider-aws*' -type f 2>/dev/null | head -n 1)"
    [[ -n "${binary}" ]] || return 1
    # <root>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/<binary>
    printf '%s\n' "${binary%/registry.terraform.io/*}"
}

if ! plugin_dir="$(find_plugin_dir)"; then
    echo "tf-validate.sh: no offline terraform-provider-aws mirror found (set TF_PLUGIN_DIR); skipping" >&2
    exit 3
fi

stacks=("$@")
if ((${#stacks[@]} == 0)); then
    while IFS= read -r dir; do
        stacks+=("${dir}")
    done < <(find "${REPO_ROOT}/stacks" "${REPO_ROOT}/tests/fixtures" -name '*.tf' -not -path '*/.terraform/*' \
        -not -path "${REPO_ROOT}/tests/fixtures/corpus/*" -printf '%h\n' 2>/dev/null | sort -u)
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/gantry-tf-validate.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

# No user CLI config (credentials helpers, network mirrors): offline only.
export TF_CLI_CONFIG_FILE=/dev/null
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1

# One copy of the trees the stacks live in, laid out as in the repo, so
# that module sources such as ../shared-module resolve as they do for gantry.
for tree in stacks tests/fixtures; do
    mkdir -p "${work}/${tree}"
    cp -R "${REPO_ROOT}/${tree}/." "${work}/${tree}/"
done
find "${work}" \( -name .terraform -o -name .terraform.lock.hcl \) -prune -exec rm -rf {} +

failed=0
for stack in "${stacks[@]}"; do
    name="${stack#"${REPO_ROOT}"/}"
    copy="${work}/${name}"
    if [[ ! -d "${copy}" ]]; then
        mkdir -p "${copy}"
        cp -R "${stack}/." "${copy}/"
    fi
    if ! out="$(cd "${copy}" && terraform fmt -check -diff -recursive 2>&1)"; then
        echo "FAIL ${name}: not terraform-fmt formatted" >&2
        printf '%s\n' "${out}" >&2
        failed=1
        continue
    fi
    if ! out="$(cd "${copy}" && terraform init -backend=false -input=false -no-color \
        -plugin-dir="${plugin_dir}" 2>&1)"; then
        echo "FAIL ${name}: terraform init" >&2
        printf '%s\n' "${out}" >&2
        failed=1
        continue
    fi
    if out="$(cd "${copy}" && terraform validate -no-color 2>&1)"; then
        echo "ok   ${name}: ${out//$'\n'/ }"
    else
        echo "FAIL ${name}: terraform validate" >&2
        printf '%s\n' "${out}" >&2
        failed=1
    fi
done
exit "${failed}"
