#!/usr/bin/env bash
# Runs the moto AWS emulator on a loopback port for local work with gantry.
#
# The pieces are functions so that other scripts (scripts/test.sh) can source
# this file and reuse `moto_install` without starting anything.
set -euo pipefail

MOTO_VERSION="5.1.22"
# moto 5.2.x answers GetBucketVersioning with a root element the Rust SDK
# rejects; keep the pin until that is fixed upstream.
MOTO_REQUIREMENT="moto[server]==${MOTO_VERSION}"
# The OPA runtime on PyPI: tests/plan_json.rs runs a Rego policy on
# `gantry show -json` with it (conftest itself is not on PyPI).
REGOPY_REQUIREMENT="regopy==1.5.2"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_DIR="${GANTRY_VENV:-${REPO_ROOT}/.venv}"
RUN_DIR="${REPO_ROOT}/.gantry-run"
PID_FILE="${RUN_DIR}/moto.pid"
PORT_FILE="${RUN_DIR}/moto.port"
LOG_FILE="${RUN_DIR}/moto.log"
READY_TIMEOUT_SECS="${GANTRY_MOTO_READY_TIMEOUT:-30}"

moto_usage() {
    cat <<EOF
Usage: scripts/moto.sh COMMAND

Runs the moto AWS emulator (${MOTO_REQUIREMENT}) on 127.0.0.1 for gantry.

Commands:
  install   create .venv (if missing) and install ${MOTO_REQUIREMENT} into it
  start     install if needed, start moto_server on a free loopback port, wait
            until it answers, and print the environment to use it:
                eval "\$(scripts/moto.sh start)"
  env       print the environment lines for the running server
            (AWS_ENDPOINT_URL, test credentials, region, no EC2 metadata probe)
  status    say whether the server is running, and where
  stop      stop the server started by 'start' (by its PID) and remove its files
  help      show this text

Files (under .gantry-run/): moto.pid, moto.port, and moto.log, which keeps
moto's request log: one line per API call.

Environment:
  GANTRY_VENV                 virtualenv to use (default: .venv in the repo)
  GANTRY_MOTO_READY_TIMEOUT   seconds to wait for the server (default: 30)
EOF
}

log() {
    printf 'moto.sh: %s\n' "$*" >&2
}

# True when the venv holds the pinned moto with its server extras. pip is
# slow even when there is nothing to do, so ask the installed metadata first.
moto_installed() {
    [[ -x "${VENV_DIR}/bin/python" && -x "${VENV_DIR}/bin/moto_server" ]] || return 1
    "${VENV_DIR}/bin/python" - "${MOTO_VERSION}" <<'PY' >/dev/null 2>&1
import importlib.metadata as md
import sys
if md.version("moto") != sys.argv[1]:
    sys.exit(1)
import flask, flask_cors  # noqa: F401  (the [server] extra)
import moto.server  # noqa: F401
PY
}

moto_install() {
    if [[ ! -x "${VENV_DIR}/bin/python" ]]; then
        log "creating virtualenv ${VENV_DIR}"
        python3 -m venv "${VENV_DIR}"
    fi
    if ! "${VENV_DIR}/bin/python" -c 'import regopy' 2>/dev/null; then
        log "installing ${REGOPY_REQUIREMENT} into ${VENV_DIR}"
        "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check "${REGOPY_REQUIREMENT}"
    fi
    if moto_installed; then
        return 0
    fi
    log "installing ${MOTO_REQUIREMENT} into ${VENV_DIR}"
    "${VENV_DIR}/bin/python" -m pip install --quiet --disable-pip-version-check "${MOTO_REQUIREMENT}"
    if ! moto_installed; then
        log "moto was installed but does not import; see the pip output above"
        return 1
    fi
}

# The PID in moto.pid, if that process is alive and is a moto_server (a PID
# file left over from a reboot may name some unrelated process by now).
moto_running_pid() {
    [[ -f "${PID_FILE}" ]] || return 1
    local pid
    pid="$(<"${PID_FILE}")"
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    kill -0 "${pid}" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -q 'moto_server' || return 1
    printf '%s\n' "${pid}"
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Exit 0 once an HTTP server answers on the port (any status code counts).
http_answers() {
    python3 - "$1" <<'PY' >/dev/null 2>&1
import sys
import urllib.error
import urllib.request
# No proxy: the request must stay on loopback whatever the environment says.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    opener.open("http://127.0.0.1:%s/moto-api/" % sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass
PY
}

moto_env() {
    local port
    if ! moto_running_pid >/dev/null || [[ ! -f "${PORT_FILE}" ]]; then
        log "no moto server is running; start one with: scripts/moto.sh start"
        return 1
    fi
    port="$(<"${PORT_FILE}")"
    cat <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:${port}
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
EOF
}

# Starts moto_server on one port; returns 0 when it answers, 1 if it exited
# (the port may have been taken between picking and binding it), 2 on timeout.
moto_try_start() {
    local port="$1" pid deadline
    # `exec` in the subshell, so that $! is moto_server's own PID.
    (
        cd "${RUN_DIR}"
        export PYTHONUNBUFFERED=1
        # AWS-managed IAM policies (AmazonEC2ContainerRegistryReadOnly, ...)
        # exist in moto 5 only when asked for.
        export MOTO_IAM_LOAD_MANAGED_POLICIES=true
        exec "${VENV_DIR}/bin/moto_server" -H 127.0.0.1 -p "${port}" </dev/null >>"${LOG_FILE}" 2>&1
    ) &
    pid=$!
    printf '%s\n' "${pid}" >"${PID_FILE}"
    printf '%s\n' "${port}" >"${PORT_FILE}"
    deadline=$((SECONDS + READY_TIMEOUT_SECS))
    while ((SECONDS < deadline)); do
        if ! kill -0 "${pid}" 2>/dev/null; then
            wait "${pid}" 2>/dev/null || true
            rm -f "${PID_FILE}" "${PORT_FILE}"
            return 1
        fi
        if http_answers "${port}"; then
            return 0
        fi
        sleep 0.2
    done
    log "moto_server (PID ${pid}) did not answer on port ${port} within ${READY_TIMEOUT_SECS}s; stopping it"
    moto_stop
    return 2
}

moto_start() {
    local attempt rc=1
    mkdir -p "${RUN_DIR}"
    if moto_running_pid >/dev/null; then
        log "already running (PID $(<"${PID_FILE}"), port $(<"${PORT_FILE}"))"
        moto_env
        return 0
    fi
    moto_install
    # One log per server: request counts start from zero.
    : >"${LOG_FILE}"
    for attempt in 1 2 3; do
        moto_try_start "$(free_port)" && rc=0 || rc=$?
        case "${rc}" in
            0) break ;;
            1) log "moto_server exited at start (attempt ${attempt}); last lines of ${LOG_FILE}:"
               tail -n 5 "${LOG_FILE}" >&2 ;;
            *) break ;;
        esac
    done
    if ((rc != 0)); then
        log "could not start moto_server"
        return 1
    fi
    log "moto ${MOTO_VERSION} running (PID $(<"${PID_FILE}"), port $(<"${PORT_FILE}"), log ${LOG_FILE})"
    moto_env
}

moto_stop() {
    local pid
    if ! pid="$(moto_running_pid)"; then
        log "not running"
        rm -f "${PID_FILE}" "${PORT_FILE}"
        return 0
    fi
    kill -TERM "${pid}" 2>/dev/null || true
    # werkzeug takes a second or two to wind down; give it ten, then insist.
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "${pid}" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "${pid}" 2>/dev/null; then
        log "PID ${pid} ignored SIGTERM; sending SIGKILL"
        kill -KILL "${pid}" 2>/dev/null || true
    fi
    rm -f "${PID_FILE}" "${PORT_FILE}"
    log "stopped (PID ${pid}); request log kept in ${LOG_FILE}"
}

moto_status() {
    local pid
    if pid="$(moto_running_pid)"; then
        echo "running: PID ${pid}, http://127.0.0.1:$(<"${PORT_FILE}"), log ${LOG_FILE}"
    else
        echo "not running"
        return 3
    fi
}

moto_main() {
    case "${1:-}" in
        install) moto_install ;;
        start) moto_start ;;
        stop) moto_stop ;;
        env) moto_env ;;
        status) moto_status ;;
        help | -h | --help) moto_usage ;;
        "") moto_usage >&2; return 2 ;;
        *) log "unknown command: $1"; moto_usage >&2; return 2 ;;
    esac
}

# Run only when executed, not when sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    moto_main "$@"
fi
