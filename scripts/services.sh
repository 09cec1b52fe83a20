#!/usr/bin/env bash
# Runs the services the deploy tests need, all on 127.0.0.1: a Docker daemon
# of its own (own socket, data and exec roots, no bridge, no iptables), a
# Docker registry, and an sshd whose sessions reach that Docker daemon.
#
# The pieces are functions so that other scripts (scripts/test.sh) can source
# this file and reuse them without starting anything.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES_DIR="${REPO_ROOT}/.gantry-run/services"
SERVICES_ENV="${SERVICES_DIR}/services.env"
READY_TIMEOUT_SECS="${GANTRY_SERVICES_READY_TIMEOUT:-60}"
REGISTRY_PORT="${GANTRY_REGISTRY_PORT:-5000}"
SSH_PORT="${GANTRY_SSH_PORT:-2222}"

# Docker. Short names below: a unix socket path must stay under 108 bytes,
# and containerd puts its sockets under the exec root.
DOCKER_DIR="${SERVICES_DIR}/docker"
DOCKER_SOCK="${DOCKER_DIR}/docker.sock"
DOCKER_PID_FILE="${DOCKER_DIR}/dockerd.pid"   # written by dockerd itself
DOCKER_OWN_PID="${DOCKER_DIR}/started.pid"   # the PID this script started
DOCKER_LOG="${DOCKER_DIR}/dockerd.log"
# Registry.
REGISTRY_DIR="${SERVICES_DIR}/registry"
REGISTRY_PID="${REGISTRY_DIR}/started.pid"
REGISTRY_LOG="${REGISTRY_DIR}/registry.log"
# sshd and the client's files.
SSH_DIR="${SERVICES_DIR}/ssh"
SSHD_PID="${SSH_DIR}/started.pid"
SSHD_LOG="${SSH_DIR}/sshd.log"
SSH_HOST_KEY="${SSH_DIR}/host_ed25519"
SSH_CLIENT_KEY="${SSH_DIR}/client_ed25519"
SSH_AUTHORIZED_KEYS="${SSH_DIR}/authorized_keys"
SSH_KNOWN_HOSTS="${SSH_DIR}/known_hosts"

services_usage() {
    cat <<EOF
Usage: scripts/services.sh COMMAND

Runs the services gantry's deploy tests use, all on 127.0.0.1:

  dockerd           its own socket (.gantry-run/services/docker/docker.sock),
                    data and exec roots; no bridge, no iptables rules
                    (containers use network_mode: host)
  docker-registry   http://127.0.0.1:${REGISTRY_PORT} (GANTRY_REGISTRY_PORT)
  sshd              127.0.0.1:${SSH_PORT} (GANTRY_SSH_PORT), key login only,
                    its sessions get DOCKER_HOST of the dockerd above

Commands:
  start    start whatever of them is not running, wait until each answers,
           and print the environment to use them:
               eval "\$(scripts/services.sh start)"
  env      print that environment for the running services
  status   say which services run, with their PIDs
  check    exit 0 when this machine can run them (root, programs installed);
           otherwise name what is missing
  remove-project NAME
           remove the containers of compose project NAME from the dockerd
  stop     stop exactly the processes 'start' started (by their PIDs), after
           removing any container left in that dockerd (a killed test run)
  help     show this text

Files live in .gantry-run/services/: PID files, logs, the generated ssh
keys, known_hosts, and services.env (the lines 'env' prints), which
scripts/test.sh and the test harness read.

Needs (Debian): docker.io docker-compose docker-registry openssh-server
busybox-static. Runs as root (dockerd needs it).

Environment:
  GANTRY_REGISTRY_PORT            registry port (default 5000)
  GANTRY_SSH_PORT                 sshd port (default 2222)
  GANTRY_SERVICES_READY_TIMEOUT   seconds to wait for each (default 60)
EOF
}

log() {
    printf 'services.sh: %s\n' "$*" >&2
}

# The binaries the services need; prints the missing ones, false if any.
services_missing() {
    local bin missing=()
    for bin in dockerd docker docker-compose docker-registry /usr/sbin/sshd ssh ssh-keygen busybox python3; do
        command -v "${bin}" >/dev/null 2>&1 || missing+=("${bin}")
    done
    if ((${#missing[@]} > 0)); then
        printf '%s\n' "${missing[@]}"
        return 1
    fi
}

# pid_alive FILE PATTERN: prints the PID in FILE if that process is alive
# and its command line contains PATTERN (a PID file left from a reboot may
# name an unrelated process by now).
pid_alive() {
    local file="$1" pattern="$2" pid
    [[ -f "${file}" ]] || return 1
    pid="$(<"${file}")"
    [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
    kill -0 "${pid}" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/${pid}/cmdline" 2>/dev/null | grep -qF -- "${pattern}" || return 1
    printf '%s\n' "${pid}"
}

docker_running() { pid_alive "${DOCKER_OWN_PID}" "${DOCKER_SOCK}"; }
registry_running() { pid_alive "${REGISTRY_PID}" "${REGISTRY_DIR}/config.yml"; }
sshd_running() { pid_alive "${SSHD_PID}" "${SSH_DIR}/sshd_config"; }

# True when something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    python3 - "$1" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.close()
PY
}

# True when the registry answers GET /v2/ with 200.
registry_answers() {
    python3 - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
with opener.open("http://127.0.0.1:%s/v2/" % sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
PY
}

docker_answers() {
    DOCKER_HOST="unix://${DOCKER_SOCK}" docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# The ssh client command, with the generated key and known_hosts.
ssh_cmd() {
    ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
        -o "UserKnownHostsFile=${SSH_KNOWN_HOSTS}" -o IdentitiesOnly=yes -o ConnectTimeout=5 \
        -i "${SSH_CLIENT_KEY}" -p "${SSH_PORT}" -l "$(id -un)" 127.0.0.1 "$@"
}

# Logs in over ssh and reaches dockerd from the session: proves the keys,
# known_hosts, and SetEnv DOCKER_HOST together.
sshd_answers() {
    ssh_cmd 'docker version --format "{{.Server.Version}}"' >/dev/null 2>&1
}

# wait_until NAME PID CHECK...: polls CHECK until it succeeds, the process
# dies, or the time is up (then the process is stopped again).
wait_until() {
    local name="$1" pid="$2" log_file="$3"
    shift 3
    local deadline=$((SECONDS + READY_TIMEOUT_SECS))
    while ((SECONDS < deadline)); do
        if ! kill -0 "${pid}" 2>/dev/null; then
            log "${name} (PID ${pid}) exited at start; last lines of ${log_file}:"
            tail -n 20 "${log_file}" >&2 || true
            return 1
        fi
        if "$@"; then
            return 0
        fi
        sleep 0.2
    done
    log "${name} (PID ${pid}) did not answer within ${READY_TIMEOUT_SECS}s; last lines of ${log_file}:"
    tail -n 20 "${log_file}" >&2 || true
    stop_pid "${name}" "${pid}" 30
    return 1
}

docker_start() {
    local pid
    if pid="$(docker_running)"; then
        log "dockerd already running (PID ${pid})"
        return 0
    fi
    mkdir -p "${DOCKER_DIR}/data" "${DOCKER_DIR}/exec"
    if ((${#DOCKER_DIR} > 60)); then
        log "the path ${DOCKER_DIR} is too long for containerd's unix sockets; use a shorter clone path"
        return 1
    fi
    rm -f "${DOCKER_SOCK}" "${DOCKER_PID_FILE}"
    # `exec` in the subshell, so that $! is dockerd's own PID. Its output
    # goes to the log, never to the caller's stdout (which may be a pipe a
    # `$(...)` is waiting on).
    (
        exec dockerd --bridge=none --iptables=false --ip6tables=false \
            --data-root "${DOCKER_DIR}/data" --exec-root "${DOCKER_DIR}/exec" \
            -H "unix://${DOCKER_SOCK}" --pidfile "${DOCKER_PID_FILE}" \
            </dev/null >>"${DOCKER_LOG}" 2>&1
    ) &
    pid=$!
    printf '%s\n' "${pid}" >"${DOCKER_OWN_PID}"
    wait_until dockerd "${pid}" "${DOCKER_LOG}" docker_answers || return 1
    log "dockerd running (PID ${pid}, unix://${DOCKER_SOCK})"
}

registry_start() {
    local pid
    if pid="$(registry_running)"; then
        log "docker-registry already running (PID ${pid})"
        return 0
    fi
    if port_open "${REGISTRY_PORT}"; then
        log "127.0.0.1:${REGISTRY_PORT} is taken by another program; set GANTRY_REGISTRY_PORT to a free port"
        return 1
    fi
    mkdir -p "${REGISTRY_DIR}/data"
    cat >"${REGISTRY_DIR}/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${REGISTRY_DIR}/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${REGISTRY_PORT}
EOF
    (
        exec docker-registry serve "${REGISTRY_DIR}/config.yml" </dev/null >>"${REGISTRY_LOG}" 2>&1
    ) &
    pid=$!
    printf '%s\n' "${pid}" >"${REGISTRY_PID}"
    wait_until docker-registry "${pid}" "${REGISTRY_LOG}" registry_answers "${REGISTRY_PORT}" || return 1
    log "docker-registry running (PID ${pid}, http://127.0.0.1:${REGISTRY_PORT})"
}

# Keys and files are made once and kept, so known_hosts stays valid across
# restarts.
ssh_files() {
    mkdir -p "${SSH_DIR}"
    chmod 700 "${SSH_DIR}"
    [[ -f "${SSH_HOST_KEY}" ]] || ssh-keygen -q -t ed25519 -N '' -C gantry-test-host -f "${SSH_HOST_KEY}"
    [[ -f "${SSH_CLIENT_KEY}" ]] || ssh-keygen -q -t ed25519 -N '' -C gantry-test-client -f "${SSH_CLIENT_KEY}"
    cp "${SSH_CLIENT_KEY}.pub" "${SSH_AUTHORIZED_KEYS}"
    chmod 600 "${SSH_AUTHORIZED_KEYS}"
    local key_type key_data
    read -r key_type key_data _ <"${SSH_HOST_KEY}.pub"
    printf '[127.0.0.1]:%s %s %s\n' "${SSH_PORT}" "${key_type}" "${key_data}" >"${SSH_KNOWN_HOSTS}"
    cat >"${SSH_DIR}/sshd_config" <<EOF
# Written by scripts/services.sh: an sshd for gantry's deploy tests.
Port ${SSH_PORT}
ListenAddress 127.0.0.1
HostKey ${SSH_HOST_KEY}
PidFile ${SSH_DIR}/sshd.pid
AuthorizedKeysFile ${SSH_AUTHORIZED_KEYS}
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
# Sessions reach the Docker daemon above, not the default socket.
SetEnv DOCKER_HOST=unix://${DOCKER_SOCK} PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
EOF
}

sshd_start() {
    local pid
    if pid="$(sshd_running)"; then
        log "sshd already running (PID ${pid})"
        return 0
    fi
    ssh_files
    if port_open "${SSH_PORT}"; then
        log "127.0.0.1:${SSH_PORT} is taken by another program; set GANTRY_SSH_PORT to a free port"
        return 1
    fi
    mkdir -p /run/sshd
    /usr/sbin/sshd -t -f "${SSH_DIR}/sshd_config"
    # -D: stays in the foreground, so $! is the listener's PID; -e: logs to the log file.
    (
        exec /usr/sbin/sshd -D -e -f "${SSH_DIR}/sshd_config" </dev/null >>"${SSHD_LOG}" 2>&1
    ) &
    pid=$!
    printf '%s\n' "${pid}" >"${SSHD_PID}"
    wait_until sshd "${pid}" "${SSHD_LOG}" sshd_answers || return 1
    log "sshd running (PID ${pid}, 127.0.0.1:${SSH_PORT})"
}

# The environment for the running services: services.env as 'start' wrote
# it (with the ports they were started on).
services_env() {
    if ! docker_running >/dev/null || ! registry_running >/dev/null || ! sshd_running >/dev/null \
        || [[ ! -f "${SERVICES_ENV}" ]]; then
        log "the services are not (all) running; start them with: scripts/services.sh start"
        return 1
    fi
    cat "${SERVICES_ENV}"
}

services_env_lines() {
    cat <<EOF
export DOCKER_HOST=unix://${DOCKER_SOCK}
export GANTRY_TEST_REGISTRY=127.0.0.1:${REGISTRY_PORT}
export GANTRY_TEST_SSH_PORT=${SSH_PORT}
export GANTRY_TEST_SSH_USER=$(id -un)
export GANTRY_TEST_SSH_KEY=${SSH_CLIENT_KEY}
export GANTRY_TEST_SSH_KNOWN_HOSTS=${SSH_KNOWN_HOSTS}
EOF
}

services_start() {
    local missing started=$SECONDS
    if ! missing="$(services_missing)"; then
        log "missing programs: $(echo "${missing}" | tr '\n' ' ')"
        log "install them with: apt-get install docker.io docker-compose docker-registry openssh-server busybox-static"
        return 1
    fi
    if [[ "$(id -u)" != 0 ]]; then
        log "dockerd needs root; run this as root"
        return 1
    fi
    mkdir -p "${SERVICES_DIR}"
    if services_env >/dev/null 2>&1; then
        # All running already: keep the environment they were started with
        # (their ports may differ from this shell's GANTRY_*_PORT).
        log "already running: dockerd PID $(docker_running), docker-registry PID $(registry_running), sshd PID $(sshd_running)"
        services_env
        return 0
    fi
    docker_start
    registry_start
    sshd_start
    services_env_lines >"${SERVICES_ENV}.tmp"
    mv "${SERVICES_ENV}.tmp" "${SERVICES_ENV}"
    log "ready in $((SECONDS - started))s; environment in ${SERVICES_ENV}"
    services_env
}

# stop_pid NAME PID GRACE_SECS: SIGTERM, a bounded wait, then SIGKILL.
stop_pid() {
    local name="$1" pid="$2" grace="$3" i
    kill -TERM "${pid}" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
        kill -0 "${pid}" 2>/dev/null || break
        sleep 0.2
    done
    if kill -0 "${pid}" 2>/dev/null; then
        log "${name} (PID ${pid}) ignored SIGTERM for ${grace}s; sending SIGKILL"
        kill -KILL "${pid}" 2>/dev/null || true
    fi
}

# dockerd leaves mounts under its roots behind when it stops (its network
# namespace's bind mount, exec/netns/default); they would keep the folder
# from being deleted. Unmount what is under our Docker folder, innermost
# first.
docker_unmount() {
    local mnt
    while read -r _ mnt _; do
        case "${mnt}" in
            "${DOCKER_DIR}"/*)
                umount "${mnt}" 2>/dev/null || umount -l "${mnt}" 2>/dev/null || log "could not unmount ${mnt}"
                ;;
        esac
    done < <(tac /proc/self/mounts)
}

services_stop() {
    local pid
    rm -f "${SERVICES_ENV}"
    if pid="$(sshd_running)"; then
        stop_pid sshd "${pid}" 10
        log "sshd stopped (PID ${pid})"
    fi
    if pid="$(registry_running)"; then
        stop_pid docker-registry "${pid}" 10
        log "docker-registry stopped (PID ${pid})"
    fi
    if pid="$(docker_running)"; then
        # This daemon runs only what tests started. A run that was killed
        # never removed its containers, and with `restart: unless-stopped`
        # they would come back with the next dockerd: remove them now.
        local ids
        ids="$(DOCKER_HOST="unix://${DOCKER_SOCK}" docker ps -aq 2>/dev/null || true)"
        if [[ -n "${ids}" ]]; then
            # shellcheck disable=SC2086 # one ID per word
            DOCKER_HOST="unix://${DOCKER_SOCK}" docker rm -f ${ids} >/dev/null 2>&1 || true
            log "removed $(wc -w <<<"${ids}") container(s) left in the test dockerd"
        fi
        # dockerd stops its containerd itself; give it the time its own
        # shutdown timeout needs.
        stop_pid dockerd "${pid}" 40
        log "dockerd stopped (PID ${pid})"
    fi
    if ! docker_running >/dev/null; then
        docker_unmount
    fi
    rm -f "${SSHD_PID}" "${REGISTRY_PID}" "${DOCKER_OWN_PID}"
}

services_status() {
    local pid rc=0
    if pid="$(docker_running)"; then echo "dockerd: running, PID ${pid}, unix://${DOCKER_SOCK}"; else echo "dockerd: not running"; rc=3; fi
    if pid="$(registry_running)"; then echo "docker-registry: running, PID ${pid}, 127.0.0.1:${REGISTRY_PORT}"; else echo "docker-registry: not running"; rc=3; fi
    if pid="$(sshd_running)"; then echo "sshd: running, PID ${pid}, 127.0.0.1:${SSH_PORT}"; else echo "sshd: not running"; rc=3; fi
    return "${rc}"
}

# services_check: true when the services can run here; names what is missing.
services_check() {
    local missing
    if [[ "$(id -u)" != 0 ]]; then
        echo "not root (dockerd needs root)"
        return 1
    fi
    if ! missing="$(services_missing)"; then
        echo "missing: ${missing//$'\n'/ }"
        return 1
    fi
}

# services_remove_project NAME: removes compose project NAME's containers.
services_remove_project() {
    local ids
    ids="$(DOCKER_HOST="unix://${DOCKER_SOCK}" docker ps -aq --filter "label=com.docker.compose.project=$1" 2>/dev/null || true)"
    if [[ -n "${ids}" ]]; then
        # shellcheck disable=SC2086 # one ID per word
        DOCKER_HOST="unix://${DOCKER_SOCK}" docker rm -f ${ids} >/dev/null 2>&1 || true
    fi
}

services_main() {
    case "${1:-}" in
        check) services_check ;;
        remove-project) services_remove_project "${2:?remove-project needs a project name}" ;;
        start) services_start ;;
        stop) services_stop ;;
        env) services_env ;;
        status) services_status ;;
        help | -h | --help) services_usage ;;
        "") services_usage >&2; return 2 ;;
        *) log "unknown command: $1"; services_usage >&2; return 2 ;;
    esac
}

# Run only when executed, not when sourced.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    services_main "$@"
fi
