#!/usr/bin/env bash
# Measures gantry (release build) against a private moto emulator on loopback
# and prints the numbers. Not a test: nothing here passes or fails on a
# threshold; compare the numbers with DESIGN.md's "Targets".
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/bench.sh
       scripts/bench.sh latency [DRIVER OPTIONS]

Builds gantry with `cargo build --release` (several minutes the first time),
starts its own moto server on a free 127.0.0.1 port, warms each AWS service
once (moto's first call per service takes about a second), then measures:

  a. startup: `gantry --version` and `gantry validate -s stacks/vaultsphere`,
     median of 20 runs (hyperfine when installed, else a shell loop)
  b. apply of the reference stack (stacks/vaultsphere, env local) from empty:
     wall time and AWS API calls
  c. no-op plan of the applied stack: median wall time of 10 runs, API calls
     per plan
  f. deploy (when root and Docker are available, see scripts/services.sh):
     the local environment's stand-in app built, pushed, released and
     health-checked (--build); the same tag released again; a frontend
     folder of BENCH_FRONTEND_FILES files synced, then synced again with
     nothing changed: wall time and API calls of each
  d. destroy of the stack: wall time and API calls
  e. the engine alone: `plan --no-refresh` against empty state of generated
     stacks of 10,000 aws_ssm_parameter resources (one block with count; 10,000
     blocks in a reference chain; 10,000 blocks fanning in to one local): wall
     time and peak RSS (/usr/bin/time -v), median of 3 runs

API calls are the request lines moto's server log gains during a command.
The table is printed and also written to target/bench/results.txt; the
command outputs are kept under target/bench/logs/.

`latency` measures round trips instead: a proxy (the fault proxy of the
integration tests, in its latency mode) adds a delay to every request
between gantry and moto, and generated stacks of 200 and 2,000 resources
(`ssm`: SSM parameters; `mix`: units of ten resources of the reference
stack's types) go through apply from empty, a no-op plan, an update of
one attribute and destroy. For each it prints wall time, API calls, calls
per resource, the sequential round trips on the critical path (from the
proxy's trace of when each call started and ended), how long moto was
busy (it serialises requests: near the wall time, it is the limit) and
peak RSS; beside
them Terraform's, when `terraform` and its provider mirror are installed.
Options go to the driver (benches/latency.rs): --latency-ms N (25),
--jitter-ms N (0), --sizes 200,2000, --stacks ssm,mix,
--terraform auto|off|PATH, --terraform-max N (largest stack Terraform
runs, 2000), --plugin-dir DIR (/opt/tf-plugins).

Environment:
  BENCH_STARTUP_RUNS   runs per startup measurement (default 20)
  BENCH_PLAN_RUNS      runs of the no-op plan (default 10)
  BENCH_ENGINE_RUNS    runs per engine measurement (default 3)
  BENCH_ENGINE_SIZE    resources in the generated stacks (default 10000)
  BENCH_FRONTEND_FILES files in the frontend folder of f (default 200)
  BENCH_HYPERFINE=0    time startup with the shell loop even if hyperfine is
                       installed (Debian: apt-get install hyperfine)
EOF
}

MODE=full
case "${1:-}" in
    "") ;;
    latency) MODE=latency; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
esac

STARTUP_RUNS="${BENCH_STARTUP_RUNS:-20}"
PLAN_RUNS="${BENCH_PLAN_RUNS:-10}"
ENGINE_RUNS="${BENCH_ENGINE_RUNS:-3}"
ENGINE_SIZE="${BENCH_ENGINE_SIZE:-10000}"
FRONTEND_FILES="${BENCH_FRONTEND_FILES:-200}"

# moto.sh gives us moto_install and moto_start; its run files are pointed at
# a temporary folder so that this script runs (and stops) its own server.
# shellcheck source=scripts/moto.sh
source "$(dirname "${BASH_SOURCE[0]}")/moto.sh"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/gantry-bench.XXXXXX")"
RUN_DIR="${WORK_DIR}/moto"
PID_FILE="${RUN_DIR}/moto.pid"
PORT_FILE="${RUN_DIR}/moto.port"
LOG_FILE="${RUN_DIR}/moto.log"
TARGET_DIR="${CARGO_TARGET_DIR:-${REPO_ROOT}/target}"
OUT_DIR="${TARGET_DIR}/bench"
CMD_LOGS="${OUT_DIR}/logs"
RESULTS="${OUT_DIR}/results.txt"
GANTRY="${TARGET_DIR}/release/gantry"
STACK="stacks/vaultsphere"
MOTO_PID=""

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

SERVICES_STARTED=""
cleanup() {
    if [[ -n "${SERVICES_STARTED}" ]]; then
        remove_bench_containers
        "${SERVICES}" stop >/dev/null 2>&1 || true
    fi
    local rc=$?
    if [[ -n "${MOTO_PID}" ]] && kill -0 "${MOTO_PID}" 2>/dev/null; then
        kill -TERM "${MOTO_PID}" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "${MOTO_PID}" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "${MOTO_PID}" 2>/dev/null || true
        wait "${MOTO_PID}" 2>/dev/null || true
    fi
    rm -rf "${WORK_DIR}"
    ((rc == 0)) || say "failed (exit ${rc}); command outputs are in ${CMD_LOGS}"
    exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- measuring helpers ------------------------------------------------------------------

now_ns() { # wall clock in nanoseconds, without forking where bash allows it
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        local t="${EPOCHREALTIME/[.,]/}"
        printf '%s\n' "$((10#${t} * 1000))"
    else
        date +%s%N
    fi
}

median() { # median of the numbers on stdin
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) exit 1
        if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ms() { awk -v ns="$1" 'BEGIN { printf "%.1f ms", ns / 1e6 }'; }

api_calls() { grep -c '"[A-Z]* /[^"]* HTTP/[0-9.]*" [0-9]' "${LOG_FILE}" || true; }

# timed NAME WANT_RC CMD...: runs CMD once, output to logs/NAME.log; sets
# LAST_NS (wall time) and LAST_CALLS (API calls); dies unless it exits WANT_RC.
LAST_NS=0 LAST_CALLS=0
timed() {
    local name="$1" want="$2" rc=0 t0 t1 c0
    shift 2
    c0="$(api_calls)"
    t0="$(now_ns)"
    "$@" >"${CMD_LOGS}/${name}.log" 2>&1 || rc=$?
    t1="$(now_ns)"
    LAST_NS=$((t1 - t0))
    LAST_CALLS=$(($(api_calls) - c0))
    ((rc == want)) || die "${name}: \`$*\` exited ${rc} (expected ${want}); see ${CMD_LOGS}/${name}.log"
}

# startup_median NAME CMD...: sets STARTUP_NS, the median wall time of
# STARTUP_RUNS runs.
STARTUP_NS=0
startup_median() {
    local name="$1" i walls=""
    shift
    if [[ "${STARTUP_TOOL}" == hyperfine ]]; then
        hyperfine --shell=none --warmup 3 --runs "${STARTUP_RUNS}" \
            --export-json "${CMD_LOGS}/${name}.json" "${*@Q}" >"${CMD_LOGS}/${name}.log" 2>&1 ||
            die "hyperfine ${name} failed; see ${CMD_LOGS}/${name}.log"
        STARTUP_NS="$(python3 -c 'import json, sys
print(int(json.load(open(sys.argv[1]))["results"][0]["median"] * 1e9))' "${CMD_LOGS}/${name}.json")"
    else
        timed "${name}" 0 "$@" # warm the page cache
        for ((i = 0; i < STARTUP_RUNS; i++)); do
            timed "${name}" 0 "$@"
            walls+="${LAST_NS}"$'\n'
        done
        STARTUP_NS="$(printf '%s' "${walls}" | median)"
    fi
}

# engine NAME STACK_DIR: plan --no-refresh against empty state, ENGINE_RUNS
# times under /usr/bin/time -v; sets ENGINE_NS (median wall), ENGINE_KB (max
# peak RSS) and ENGINE_CALLS (API calls of all runs).
engine() {
    local name="$1" dir="$2" i walls="" kb=0 rss c0
    c0="$(api_calls)"
    for ((i = 0; i < ENGINE_RUNS; i++)); do
        rm -rf "${WORK_DIR}/engine-state"
        timed "${name}" 0 /usr/bin/time -v -o "${CMD_LOGS}/${name}.time" \
            "${GANTRY}" --no-color plan -s "${dir}" --state-dir "${WORK_DIR}/engine-state" --no-refresh
        grep -q "Plan: ${ENGINE_SIZE} to add" "${CMD_LOGS}/${name}.log" ||
            die "${name}: the plan does not say 'Plan: ${ENGINE_SIZE} to add'; see ${CMD_LOGS}/${name}.log"
        walls+="${LAST_NS}"$'\n'
        rss="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "${CMD_LOGS}/${name}.time")"
        if ((rss > kb)); then kb="${rss}"; fi
    done
    ENGINE_NS="$(printf '%s' "${walls}" | median)"
    ENGINE_KB="${kb}"
    ENGINE_CALLS=$(($(api_calls) - c0))
}

# --- the table ----------------------------------------------------------------------------
LABELS=() VALUES=()
row() { LABELS+=("$1"); VALUES+=("$2"); }

# --- setup ------------------------------------------------------------------------------
cd "${REPO_ROOT}"
command -v cargo >/dev/null || die "cargo is not installed"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing (Debian package: time)"
mkdir -p "${CMD_LOGS}" "${RUN_DIR}"

say "building gantry: cargo build --release (takes a while: ~10 min cold on 2 cores)"
cargo build --release --quiet --bin gantry || die "cargo build --release failed"

COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no -- src Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
    COMMIT+=" + uncommitted changes in src/"
fi
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)" # other work on the machine skews numbers
CPU="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
if [[ "${BENCH_HYPERFINE:-1}" != 0 ]] && command -v hyperfine >/dev/null; then
    STARTUP_TOOL=hyperfine
else
    STARTUP_TOOL="shell loop"
fi

moto_install
say "starting a private moto server on 127.0.0.1"
moto_start >"${RUN_DIR}/env" || die "moto did not start"
MOTO_PID="$(<"${PID_FILE}")"
# shellcheck disable=SC1091
source "${RUN_DIR}/env"
[[ "${AWS_ENDPOINT_URL}" == http://127.0.0.1:* ]] || die "moto is not on 127.0.0.1: ${AWS_ENDPOINT_URL}"
TF_VAR_session_secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
export TF_VAR_session_secret
export GANTRY_STATE_DIR="${WORK_DIR}/state"
export GANTRY_KEY_DIR="${WORK_DIR}/keys"
export NO_COLOR=1

say "warming moto: one call per service"
"${VENV_DIR}/bin/python" - <<'PY' || die "warming moto failed"
import os
import boto3

s = boto3.session.Session(region_name=os.environ["AWS_REGION"])
s.client("sts").get_caller_identity()
s.client("ssm").describe_parameters()
s.client("s3").list_buckets()
s.client("dynamodb").list_tables()
s.client("ecr").describe_repositories()
s.client("resourcegroupstaggingapi").get_resources()
PY

# --- latency: the driver does the rest ----------------------------------------------------
if [[ "${MODE}" == latency ]]; then
    say "building the latency driver: cargo build --bench latency"
    DRIVER="$(cargo build --quiet --bench latency --message-format=json |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "latency" and m.get("executable"):
        print(m["executable"])')"
    [[ -x "${DRIVER}" ]] || die "cargo did not build the latency driver"
    say "commit ${COMMIT}; load before: ${LOAD_BEFORE}; CPU: ${CPU}"
    "${DRIVER}" --gantry "${GANTRY}" --moto "${AWS_ENDPOINT_URL}" --work "${WORK_DIR}/latency" "$@" |
        tee "${OUT_DIR}/latency.txt"
    say "written to ${OUT_DIR}/latency.txt"
    exit 0
fi

# --- a. startup ------------------------------------------------------------------------
say "a. startup (${STARTUP_RUNS} runs each, ${STARTUP_TOOL})"
startup_median version "${GANTRY}" --version
row "a. gantry --version (median of ${STARTUP_RUNS})" "$(ms "${STARTUP_NS}")"
startup_median validate "${GANTRY}" validate -s "${STACK}"
row "a. gantry validate -s ${STACK} (median of ${STARTUP_RUNS})" "$(ms "${STARTUP_NS}")"

# --- b, c, d: the reference stack -----------------------------------------------------
G=(-s "${STACK}" -e local)

say "b. apply of ${STACK} from empty"
timed apply 0 "${GANTRY}" apply "${G[@]}" --auto-approve
RESOURCES="$("${GANTRY}" state list "${G[@]}" | grep -c . || true)"
RESOURCES_NOTE=" (${RESOURCES} resources)"
row "b. apply from empty${RESOURCES_NOTE}: wall" "$(ms "${LAST_NS}")"
row "b. apply from empty: API calls" "${LAST_CALLS}"

say "c. no-op plan, ${PLAN_RUNS} runs"
walls="" calls=""
for ((i = 0; i < PLAN_RUNS; i++)); do
    timed noop-plan 0 "${GANTRY}" plan "${G[@]}" --detailed-exitcode
    walls+="${LAST_NS}"$'\n'
    calls+="${LAST_CALLS}"$'\n'
done
calls_min="$(printf '%s' "${calls}" | sort -n | head -n1)"
calls_max="$(printf '%s' "${calls}" | sort -n | tail -n1)"
row "c. no-op plan (median of ${PLAN_RUNS}): wall" "$(ms "$(printf '%s' "${walls}" | median)")"
if [[ "${calls_min}" == "${calls_max}" ]]; then
    row "c. no-op plan: API calls per plan" "${calls_min}"
else
    row "c. no-op plan: API calls per plan (min-max)" "${calls_min}-${calls_max}"
fi

# --- f. deploy ------------------------------------------------------------------------------
SERVICES="${REPO_ROOT}/scripts/services.sh"
remove_bench_containers() { "${SERVICES}" remove-project vaultsphere; }

if why_not="$("${SERVICES}" check)"; then
    if ! "${SERVICES}" status >/dev/null 2>&1; then
        say "f. starting a Docker daemon and a registry (scripts/services.sh)"
        SERVICES_STARTED=1
        "${SERVICES}" start >/dev/null || die "the deploy services did not start"
    fi
    # shellcheck disable=SC1091 # DOCKER_HOST of the services' own daemon
    source "${REPO_ROOT}/.gantry-run/services/services.env"
    export DOCKER_HOST
    # A copy of the stack whose frontend folder is a generated one.
    BENCH_STACK="${WORK_DIR}/stacks/vaultsphere"
    mkdir -p "${BENCH_STACK%/*}"
    cp -r "${STACK}" "${BENCH_STACK}"
    FRONTEND="${WORK_DIR}/frontend"
    mkdir -p "${FRONTEND}/assets"
    for ((i = 0; i < FRONTEND_FILES; i++)); do
        head -c $((1024 + i * 37)) /dev/urandom | base64 >"${FRONTEND}/assets/chunk-${i}.js"
    done
    sed -i "s|folder        = \"deploy/demo-frontend\"|folder        = \"${FRONTEND}\"|" "${BENCH_STACK}/gantry.hcl"
    grep -q "${FRONTEND}" "${BENCH_STACK}/gantry.hcl" || die "could not point the bench stack at ${FRONTEND}"
    APP="${WORK_DIR}/app"
    cp -r "${STACK}/deploy/demo-app" "${APP}"
    cp "$(command -v busybox)" "${APP}/busybox"
    D=(-s "${BENCH_STACK}" -e local)
    export HOME="${WORK_DIR}/home"
    mkdir -p "${HOME}"

    say "f. deploy --build (build, push, release, health check; frontend skipped)"
    timed deploy-build 0 "${GANTRY}" deploy "${D[@]}" --build --build-context "${APP}" --tag bench-1 --skip-frontend
    row "f. deploy --build of the stand-in app: wall" "$(ms "${LAST_NS}")"
    row "f. deploy --build: API calls" "${LAST_CALLS}"
    timed deploy-again 0 "${GANTRY}" deploy "${D[@]}" --tag bench-1 --skip-frontend
    row "f. deploy of the same tag again: wall" "$(ms "${LAST_NS}")"
    row "f. deploy of the same tag again: API calls" "${LAST_CALLS}"
    timed frontend-first 0 "${GANTRY}" deploy "${D[@]}" --frontend-only
    row "f. frontend sync, ${FRONTEND_FILES} new files: wall" "$(ms "${LAST_NS}")"
    row "f. frontend sync, ${FRONTEND_FILES} new files: API calls" "${LAST_CALLS}"
    timed frontend-again 0 "${GANTRY}" deploy "${D[@]}" --frontend-only
    row "f. frontend sync, nothing changed: wall" "$(ms "${LAST_NS}")"
    row "f. frontend sync, nothing changed: API calls" "${LAST_CALLS}"
    remove_bench_containers
else
    say "f. skipped (${why_not}): deploys need root and Debian's docker.io docker-compose docker-registry openssh-server busybox-static"
fi

say "d. destroy"
timed destroy 0 "${GANTRY}" destroy "${G[@]}" --auto-approve
row "d. destroy${RESOURCES_NOTE}: wall" "$(ms "${LAST_NS}")"
row "d. destroy: API calls" "${LAST_CALLS}"

# --- e. the engine alone -------------------------------------------------------------------
# Three stacks of ENGINE_SIZE SSM parameters, planned against empty state with
# --no-refresh: no resource is read, so only the engine is at work (parse,
# graph, evaluation, diff, rendering of ENGINE_SIZE creates).
GEN="${WORK_DIR}/gen"
mkdir -p "${GEN}/count" "${GEN}/chain" "${GEN}/fanin"

# One block, count = N.
cat >"${GEN}/count/main.tf" <<EOF
resource "aws_ssm_parameter" "p" {
  count          = ${ENGINE_SIZE}
  name           = "/bench/count/p\${count.index}"
  type           = "String"
  insecure_value = "value \${count.index}"
}
EOF

# N blocks, each referring to the one before: a dependency chain N deep.
{
    printf 'resource "aws_ssm_parameter" "p0" {\n  name           = "/bench/chain/p0"\n'
    printf '  type           = "String"\n  insecure_value = "first"\n}\n'
    for ((i = 1; i < ENGINE_SIZE; i++)); do
        printf 'resource "aws_ssm_parameter" "p%d" {\n  name           = "/bench/chain/p%d"\n' "${i}" "${i}"
        printf '  type           = "String"\n  insecure_value = aws_ssm_parameter.p%d.name\n}\n' "$((i - 1))"
    done
} >"${GEN}/chain/main.tf"

# N blocks reading one local, and one local listing all N names (fan-in).
{
    printf 'locals {\n  prefix = "/bench/fanin"\n  names = [\n'
    for ((i = 0; i < ENGINE_SIZE; i++)); do
        printf '    aws_ssm_parameter.p%d.name,\n' "${i}"
    done
    printf '  ]\n}\n\noutput "parameters" {\n  value = length(local.names)\n}\n'
    for ((i = 0; i < ENGINE_SIZE; i++)); do
        # shellcheck disable=SC2016  # ${local.prefix} is for gantry, not bash
        printf 'resource "aws_ssm_parameter" "p%d" {\n  name           = "${local.prefix}/p%d"\n' "${i}" "${i}"
        printf '  type           = "String"\n  insecure_value = "value %d"\n}\n' "${i}"
    done
} >"${GEN}/fanin/main.tf"

for variant in count chain fanin; do
    case "${variant}" in
        count) what="1 block, count = ${ENGINE_SIZE}" ;;
        chain) what="${ENGINE_SIZE} blocks, reference chain" ;;
        fanin) what="${ENGINE_SIZE} blocks, fan-in to a local" ;;
    esac
    say "e. engine: plan --no-refresh of ${what} (${ENGINE_RUNS} runs)"
    engine "engine-${variant}" "${GEN}/${variant}"
    row "e. engine, ${what}: wall (median of ${ENGINE_RUNS})" "$(ms "${ENGINE_NS}")"
    row "e. engine, ${what}: peak RSS" "$(awk -v kb="${ENGINE_KB}" 'BEGIN { printf "%.1f MB", kb / 1024 }')"
    ((ENGINE_CALLS == 0)) || row "e. engine, ${what}: API calls (expected 0)" "${ENGINE_CALLS}"
done

# --- report -------------------------------------------------------------------------------
{
    echo "gantry bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "gantry:  ${COMMIT} (release build)"
    echo "machine: $(nproc) CPUs, ${CPU:-unknown CPU}, $(uname -sr)"
    echo "load:    ${LOAD_BEFORE} before, $(cut -d' ' -f1-3 /proc/loadavg) after (1, 5, 15 min)"
    echo "moto:    ${MOTO_VERSION} on ${AWS_ENDPOINT_URL} (warmed); startup timed with ${STARTUP_TOOL}"
    echo
    width=11
    for label in "${LABELS[@]}"; do
        if ((${#label} > width)); then width=${#label}; fi
    done
    printf '%-*s  %s\n' "${width}" "measurement" "value" "${width}" "-----------" "-----"
    for i in "${!LABELS[@]}"; do
        printf '%-*s  %s\n' "${width}" "${LABELS[i]}" "${VALUES[i]}"
    done
} >"${RESULTS}"
echo
cat "${RESULTS}"
echo
say "written to ${RESULTS}"
