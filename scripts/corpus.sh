#!/usr/bin/env bash
# Runs every entry of the corpus of public Terraform configurations
# (tests/fixtures/corpus/ENTRIES) through validate, plan, apply, a no-op plan
# and destroy against a moto emulator of its own, and prints a table.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/corpus.sh [NAME...]

Takes each corpus entry (all of them, or the NAMEs given) through
  validate -> plan -> apply -> plan ("No changes.") -> destroy
with gantry against a fresh moto server on 127.0.0.1, and prints one line per
entry: resources created, the result of each stage, and the seconds taken.

A stage is "ok", "FAIL", "-" (not reached) or "expected" when the entry's
EXPECTED file names that stage and gantry stopped there with the expected
error. Exits 1 when any entry did something else than it should.

Environment:
  GANTRY_BIN     the gantry binary (default: target/debug/gantry, built if missing)
  CORPUS_KEEP    a folder to keep each entry's work dir and outputs in
EOF
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    usage
    exit 0
fi

# shellcheck source=scripts/moto.sh
source "$(dirname "${BASH_SOURCE[0]}")/moto.sh"

cd "${REPO_ROOT}"
CORPUS="${REPO_ROOT}/tests/fixtures/corpus"
GANTRY="${GANTRY_BIN:-${REPO_ROOT}/target/debug/gantry}"
if [[ -z "${GANTRY_BIN:-}" ]]; then
    cargo build --quiet --bin gantry
fi

work="$(mktemp -d /tmp/corpus-run.XXXXXX)"
moto_pid=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [[ -n "${moto_pid}" ]]; then
        kill -TERM "${moto_pid}" 2>/dev/null || true
        wait "${moto_pid}" 2>/dev/null || true
    fi
    if [[ -z "${CORPUS_KEEP:-}" ]]; then
        rm -rf "${work}"
    fi
}
trap cleanup EXIT

moto_install
port="$(free_port)"
# AWS-managed IAM policies (terratest's example attaches one) exist only when asked for.
env MOTO_IAM_LOAD_MANAGED_POLICIES=true PYTHONUNBUFFERED=1 \
    "${VENV_DIR}/bin/moto_server" -H 127.0.0.1 -p "${port}" </dev/null >"${work}/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 300); do
    http_answers "${port}" && break
    sleep 0.2
done
http_answers "${port}" || { log "moto did not start; see ${work}/moto.log"; exit 1; }

# Only the emulator: no profile, no credentials or endpoint from outside.
while IFS='=' read -r name _; do
    case "${name}" in AWS_* | TF_* | GANTRY_*) unset "${name}" ;; esac
done < <(env)
export AWS_ENDPOINT_URL="http://127.0.0.1:${port}" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true NO_COLOR=1
export AWS_CONFIG_FILE="${work}/none" AWS_SHARED_CREDENTIALS_FILE="${work}/none"

reset_moto() {
    python3 - "${port}" <<'PY' >/dev/null
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
opener.open(urllib.request.Request("http://127.0.0.1:%s/moto-api/reset" % sys.argv[1], method="POST"), timeout=120)
PY
}

# The EXPECTED file's stage, or nothing.
expected_stage() {
    local file="$1/EXPECTED"
    if [[ -f "${file}" ]]; then
        sed -n 's/^stage: *//p' "${file}" | head -n 1
    fi
}

# True when every `error:` line of EXPECTED is in the output file.
expected_matches() {
    local file="$1/EXPECTED" out="$2" line
    while IFS= read -r line; do
        grep -qF -- "${line#error: }" "${out}" || return 1
    done < <(grep '^error: ' "${file}")
}

failed=0
printf '%-26s %5s  %-9s %-9s %-9s %-9s %-9s %6s\n' entry res validate plan apply noop destroy secs
while read -r name path _subset; do
    [[ -z "${name}" || "${name}" == \#* ]] && continue
    if (($# > 0)) && [[ " $* " != *" ${name} "* ]]; then
        continue
    fi
    stack="${CORPUS}/${path}"
    dir="${work}/${name}"
    mkdir -p "${dir}/state"
    reset_moto
    args=(-s "${stack}" -e corpus)
    if [[ -f "${stack}/gantry.tfvars" ]]; then
        args+=(--var-file "${stack}/gantry.tfvars")
    fi
    expect="$(expected_stage "${stack}")"
    declare -A result=([validate]=- [plan]=- [apply]=- [noop]=- [destroy]=-)
    start=${SECONDS}
    ok=1
    for stage in validate plan apply noop destroy; do
        out="${dir}/${stage}.out"
        case "${stage}" in
            validate) cmd=(validate "${args[@]}") ;;
            plan) cmd=(plan "${args[@]}") ;;
            apply) cmd=(apply --auto-approve "${args[@]}") ;;
            noop) cmd=(plan --detailed-exitcode "${args[@]}") ;;
            destroy) cmd=(destroy --auto-approve "${args[@]}") ;;
        esac
        rc=0
        (cd "${dir}" && "${GANTRY}" --state-dir "${dir}/state" "${cmd[@]}") >"${out}" 2>&1 || rc=$?
        if [[ "${stage}" == noop && ${rc} -eq 0 ]] && ! grep -q 'No changes' "${out}"; then
            rc=1
        fi
        if ((rc == 0)); then
            result[${stage}]=ok
            if [[ "${expect}" == "${stage}" ]]; then
                result[${stage}]="ok!"   # expected to fail here, but passed
                ok=0
            fi
            continue
        fi
        if [[ "${expect}" == "${stage}" ]] && expected_matches "${stack}" "${out}"; then
            result[${stage}]=expected
        else
            result[${stage}]=FAIL
            ok=0
        fi
        # After a failed apply or no-op plan, still try to clean up.
        if [[ "${stage}" == apply || "${stage}" == noop ]]; then
            (cd "${dir}" && "${GANTRY}" --state-dir "${dir}/state" destroy --auto-approve "${args[@]}") \
                >"${dir}/cleanup.out" 2>&1 || true
        fi
        break
    done
    resources=0
    if [[ -f "${dir}/apply.out" ]]; then
        resources="$(sed -n 's/.*Apply complete! Resources: \([0-9]*\) added.*/\1/p' "${dir}/apply.out" | tail -n 1)"
        resources="${resources:-0}"
    fi
    ((ok)) || failed=1
    printf '%-26s %5s  %-9s %-9s %-9s %-9s %-9s %6s\n' "${name}" "${resources}" "${result[validate]}" \
        "${result[plan]}" "${result[apply]}" "${result[noop]}" "${result[destroy]}" "$((SECONDS - start))"
    unset result
done <"${CORPUS}/ENTRIES"

if [[ -n "${CORPUS_KEEP:-}" ]]; then
    mkdir -p "${CORPUS_KEEP}"
    cp -r "${work}/." "${CORPUS_KEEP}/"
    log "outputs kept in ${CORPUS_KEEP}"
fi
exit "${failed}"
