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

moto_install

cd "${REPO_ROOT}"
export GANTRY_MOTO_SERVER="${VENV_DIR}/bin/moto_server"
exec cargo test "$@"
