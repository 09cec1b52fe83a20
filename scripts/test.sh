#!/usr/bin/env bash
# The one test command: prepares the emulator, then runs every test.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: scripts/test.sh [CARGO TEST ARGS...]

Runs gantry's tests on a fresh machine: makes sure .venv holds the pinned
moto emulator (see scripts/moto.sh), then runs `cargo test` (unit tests and
the one integration test binary). The integration tests start their own moto
server on a free 127.0.0.1 port; nothing needs to be running beforehand.

The deploy tests also need a Docker daemon, a registry and sshd on
127.0.0.1 (scripts/services.sh). When they are running already (CI starts
them), their environment is read from .gantry-run/services/services.env.
Otherwise, when their programs are installed, this script starts them and
stops them again at the end. When the programs are missing, the deploy tests
fail and say what to install.

Arguments are passed to cargo test, e.g.:
  scripts/test.sh --test integration smoke
  scripts/test.sh -- --nocapture

Exits with cargo's exit code.
EOF
}

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    usage
    exit 0
fi

# shellcheck source=scripts/moto.sh
source "$(dirname "${BASH_SOURCE[0]}")/moto.sh"
# shellcheck source=scripts/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

moto_install

cd "${REPO_ROOT}"
export GANTRY_MOTO_SERVER="${VENV_DIR}/bin/moto_server"

# The deploy tests' services: use running ones, else start them (and stop
# them when the tests end), else leave the deploy tests to explain.
started_services=0
if services_env >/dev/null 2>&1; then
    :
elif services_missing >/dev/null; then
    started_services=1
    trap 'services_stop' EXIT
    services_start >/dev/null
else
    log "not starting the deploy tests' services; missing: $(services_missing | tr '\n' ' ')"
fi
if services_env >/dev/null 2>&1; then
    # shellcheck source=/dev/null
    source "${SERVICES_ENV}"
fi

if ((started_services)); then
    # Not exec: the trap stops the services when cargo is done.
    rc=0
    cargo test "$@" || rc=$?
    exit "${rc}"
fi
exec cargo test "$@"
