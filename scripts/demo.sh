#!/usr/bin/env bash
# The demo: gantry's whole life cycle on the reference stack, against a private
# moto emulator on loopback. Read top to bottom, it is also a walkthrough.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/demo.sh

Runs gantry end to end on a fresh machine, against the moto AWS emulator on
127.0.0.1 (nothing reaches real AWS):

  1. validate  the reference stack (stacks/vaultsphere, environment "local")
  2. plan      what an empty account needs: every resource is a create
  3. apply     it (--auto-approve)
  4. plan      again: "No changes", exit code 0 (--detailed-exitcode)
  5. output    the environment's outputs
  6. drift     change one SSM parameter behind gantry's back (boto3)
  7. plan      shows the drift, exit code 2
  8. apply     puts the parameter back
  then, when Docker is installed (Debian: docker.io docker-compose
  docker-registry busybox-static) and the demo runs as root:
  9. deploy    build a tiny stand-in app, push it to a local registry,
               release it on this machine, health-check it, sync the
               frontend folder to the bucket
 10. deploy    a broken release: the health check fails and the previous
               release is put back
 11. releases  the release history
 12. destroy   everything (--auto-approve)

What it sets up first:
  - moto in .venv (scripts/moto.sh install), if it is not there yet;
  - gantry itself (cargo build; the first build takes several minutes);
  - its own moto server on a free loopback port, stopped (by its PID) when
    the demo ends, however it ends;
  - AWS_ENDPOINT_URL, fake credentials and a region pointing at that server;
  - a random session secret in TF_VAR_session_secret (never printed);
  - a state folder under a new temporary folder, so the repo's state/ is
    never touched. It is deleted after a successful run and kept (with moto's
    request log) when a step fails.

Exits 0 when every step did what it should, non-zero otherwise. Colors
follow NO_COLOR and are off when output is not a terminal.
EOF
}

case "${1:-}" in
    "") ;;
    -h | --help) usage; exit 0 ;;
    *) echo "demo.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

# moto.sh gives us moto_install and moto_start. Its run files (PID, port, log)
# normally live in .gantry-run/; the demo points them at its own temporary
# folder, so that it starts its own server even if another one is running.
# shellcheck source=scripts/moto.sh
source "$(dirname "${BASH_SOURCE[0]}")/moto.sh"

DEMO_DIR="$(mktemp -d "${TMPDIR:-/tmp}/gantry-demo.XXXXXX")"
RUN_DIR="${DEMO_DIR}/moto"
PID_FILE="${RUN_DIR}/moto.pid"
PORT_FILE="${RUN_DIR}/moto.port"
LOG_FILE="${RUN_DIR}/moto.log"
STATE_DIR="${DEMO_DIR}/state"
STACK="stacks/vaultsphere"
ENV_NAME="local"
GANTRY_BIN="${CARGO_TARGET_DIR:-${REPO_ROOT}/target}/debug/gantry"
MOTO_PID=""

# --- output helpers -------------------------------------------------------------
if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then
    BOLD=$'\e[1m' DIM=$'\e[2m' CYAN=$'\e[36m' RED=$'\e[31m' GREEN=$'\e[32m' RESET=$'\e[0m'
else
    BOLD="" DIM="" CYAN="" RED="" GREEN="" RESET=""
fi

STEP=0
heading() { # heading TITLE WHAT-YOU-SEE
    STEP=$((STEP + 1))
    printf '\n%s== %d. %s%s\n' "${BOLD}${CYAN}" "${STEP}" "$1" "${RESET}"
    printf '%s%s%s\n\n' "${DIM}" "$2" "${RESET}"
}
note() { printf 'demo: %s\n' "$*"; }
fail() {
    printf '\n%sdemo: FAILED: %s%s\n' "${BOLD}${RED}" "$*" "${RESET}" >&2
    exit 1
}

# Requests moto has answered so far (werkzeug logs one line per request).
api_calls() { grep -c '"[A-Z]* /[^"]* HTTP/[0-9.]*" [0-9]' "${LOG_FILE}" || true; }

# gantry_expect RC ARGS...: shows and runs `gantry ARGS`, then fails the demo
# unless gantry exited with RC. Also says how many AWS API calls it made.
gantry_expect() {
    local want="$1" rc=0 before
    shift
    printf '%s$ gantry %s%s\n' "${BOLD}" "$*" "${RESET}"
    before="$(api_calls)"
    "${GANTRY_BIN}" "$@" || rc=$?
    printf '%s(exit code %d; %d AWS API calls)%s\n' "${DIM}" "${rc}" "$(($(api_calls) - before))" "${RESET}"
    if ((rc != want)); then
        fail "\`gantry $*\` exited with ${rc}, expected ${want}"
    fi
}

# ssm_param get NAME | set NAME VALUE: talks to the emulator directly with
# boto3 (installed with moto), the way someone clicking in the console would.
ssm_param() {
    "${VENV_DIR}/bin/python" - "$@" <<'PY'
import os
import sys
import boto3

# Endpoint and credentials come from the environment; boto3 reads the region
# from AWS_DEFAULT_REGION only, so pass AWS_REGION on.
ssm = boto3.client("ssm", region_name=os.environ["AWS_REGION"])
if sys.argv[1] == "get":
    print(ssm.get_parameter(Name=sys.argv[2])["Parameter"]["Value"])
else:
    ssm.put_parameter(Name=sys.argv[2], Value=sys.argv[3], Type="String", Overwrite=True)
PY
}

# --- cleanup: stop exactly the moto this script started -----------------------------
SERVICES_STARTED=""
cleanup() {
    local rc=$?
    if [[ -n "${SERVICES_STARTED}" ]]; then
        remove_demo_containers
        "${SERVICES}" stop >/dev/null 2>&1 || true
    fi
    if [[ -n "${MOTO_PID}" ]] && kill -0 "${MOTO_PID}" 2>/dev/null; then
        kill -TERM "${MOTO_PID}" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "${MOTO_PID}" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "${MOTO_PID}" 2>/dev/null || true
        wait "${MOTO_PID}" 2>/dev/null || true
    fi
    if ((rc != 0)) && [[ -n "${MOTO_PID}" ]]; then
        printf 'demo: state and moto request log kept in %s\n' "${DEMO_DIR}" >&2
    else
        rm -rf "${DEMO_DIR}"
    fi
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- setup ------------------------------------------------------------------------------
cd "${REPO_ROOT}"
for tool in cargo python3; do
    command -v "${tool}" >/dev/null || fail "${tool} is not installed"
done

note "installing moto into ${VENV_DIR} if it is not there yet"
moto_install

note "building gantry (cargo build; the first build takes several minutes)"
build_start=${SECONDS}
cargo build --quiet --bin gantry || fail "cargo build failed"
note "built $("${GANTRY_BIN}" --version) in $((SECONDS - build_start))s"

note "starting a private moto server on 127.0.0.1"
mkdir -p "${RUN_DIR}"
# In this shell (not in $(...)) so that the server is this script's child.
moto_start >"${RUN_DIR}/env" || fail "moto did not start"
MOTO_PID="$(<"${PID_FILE}")"
# AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID/SECRET (fake), AWS_REGION and
# AWS_EC2_METADATA_DISABLED=true, for gantry and for boto3 below.
# shellcheck disable=SC1091
source "${RUN_DIR}/env"
note "moto: PID ${MOTO_PID}, ${AWS_ENDPOINT_URL}"

# The stack refuses a session secret under 32 characters; this one has 43.
TF_VAR_session_secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export TF_VAR_session_secret
export GANTRY_STATE_DIR="${STATE_DIR}"
export GANTRY_KEY_DIR="${DEMO_DIR}/keys"
note "state folder: ${STATE_DIR} (GANTRY_STATE_DIR; the repo's state/ is not used)"
note "state hash keys: ${GANTRY_KEY_DIR} (GANTRY_KEY_DIR; kept apart from the state)"
note "session secret: random, in TF_VAR_session_secret"

# --- the demo ---------------------------------------------------------------------------
G=(-s "${STACK}" -e "${ENV_NAME}")

heading "Validate the stack" \
    "Syntax, resource types, attributes, references and cycles are checked offline: no AWS call."
gantry_expect 0 validate -s "${STACK}"

heading "Plan against an empty account" \
    "Nothing exists yet, so every resource of the stack is planned as a create."
gantry_expect 0 plan "${G[@]}"

heading "Apply" \
    "gantry creates the resources in dependency order, several at a time, saving state after each."
gantry_expect 0 apply "${G[@]}" --auto-approve

heading "Plan again: nothing to do" \
    "Live resources match the stack. --detailed-exitcode exits 0 for no changes, 2 for changes."
gantry_expect 0 plan "${G[@]}" --detailed-exitcode

heading "Outputs" \
    "Values the stack exports for deploys and people: repository URL, bucket, table names, SSM path."
gantry_expect 0 output "${G[@]}"

DRIFT_PARAM="/vaultsphere/${ENV_NAME}/PORT"
heading "Drift: someone edits a parameter by hand" \
    "boto3 overwrites ${DRIFT_PARAM} (5001 -> 8080) directly in the emulator, behind gantry's back."
ssm_param set "${DRIFT_PARAM}" 8080 || fail "could not change ${DRIFT_PARAM}"
note "${DRIFT_PARAM} is now $(ssm_param get "${DRIFT_PARAM}")"

heading "Plan sees the drift" \
    "Refresh reads the live value and plans an update back to what the stack says; exit code 2."
gantry_expect 2 plan "${G[@]}" --detailed-exitcode

heading "Apply puts it back" \
    "Only the drifted parameter is updated."
gantry_expect 0 apply "${G[@]}" --auto-approve
value="$(ssm_param get "${DRIFT_PARAM}")"
[[ "${value}" == "5001" ]] || fail "${DRIFT_PARAM} is ${value} after apply, expected 5001"
note "${DRIFT_PARAM} is back to ${value}"

# --- deploy, when this machine can run Docker -------------------------------------------
SERVICES="${REPO_ROOT}/scripts/services.sh"
remove_demo_containers() { "${SERVICES}" remove-project vaultsphere; }

if why_not="$("${SERVICES}" check)"; then
    if ! "${SERVICES}" status >/dev/null 2>&1; then
        note "starting a Docker daemon and a registry on 127.0.0.1 (scripts/services.sh)"
        SERVICES_STARTED=1
        "${SERVICES}" start >/dev/null || fail "the deploy services did not start"
    fi
    # shellcheck disable=SC1091 # DOCKER_HOST of the services' own daemon
    source "${REPO_ROOT}/.gantry-run/services/services.env"
    export DOCKER_HOST
    # The local transport releases on this machine, under $HOME/.gantry:
    # point HOME into the demo folder so nothing is left behind.
    export HOME="${DEMO_DIR}/home"
    mkdir -p "${HOME}"
    APP_DIR="${DEMO_DIR}/app"
    cp -r "${STACK}/deploy/demo-app" "${APP_DIR}"
    cp "$(command -v busybox)" "${APP_DIR}/busybox"

    heading "Deploy: build, push, release, health-check" \
        "--build builds the stand-in app (busybox httpd), pushes it to the local registry that stands in for ECR, checks the contract against SSM, starts it with docker-compose on this machine and checks /health. Then the frontend folder is synced to the bucket."
    gantry_expect 0 deploy "${G[@]}" --build --build-context "${APP_DIR}" --tag demo-1
    note "the app answers: $(curl -fsS http://127.0.0.1:5001/health) (GET /health)"
    note "its environment came from SSM: $(curl -fsS http://127.0.0.1:5001/cgi-bin/env | tr '\n' ' ')"

    heading "Deploy a broken release" \
        "This build has no /health. The health check fails, gantry puts demo-1 (the last healthy release, not 'latest') back and exits 1."
    rm "${APP_DIR}/www/health"
    gantry_expect 1 deploy "${G[@]}" --build --build-context "${APP_DIR}" --tag demo-2
    body="$(curl -fsS http://127.0.0.1:5001/health)" || fail "nothing serves /health after the rollback"
    note "GET /health answers again: ${body}"

    heading "Release history" \
        "Kept beside the environment's state; no value of the app's environment is in it."
    gantry_expect 0 releases "${G[@]}"
    remove_demo_containers
else
    note "skipping the deploy steps (${why_not}): they need root and Debian's docker.io docker-compose docker-registry openssh-server busybox-static"
fi

heading "Destroy" \
    "Everything the environment's state holds is deleted, in reverse dependency order."
gantry_expect 0 destroy "${G[@]}" --auto-approve
gantry_expect 0 state list "${G[@]}"
note "the state lists nothing: the environment is gone"

printf '\n%sdemo: all steps passed (%d AWS API calls in all, %ds).%s\n' \
    "${BOLD}${GREEN}" "$(api_calls)" "${SECONDS}" "${RESET}"
