#!/usr/bin/env bash
# Installs a gantry release: downloads the archive for this machine and the
# release's SHA256SUMS, checks the archive against it (or against --sha256),
# and only then unpacks the binary into --dir. A mismatch installs nothing.
#
#   install.sh --version 0.1.0 --release-url BASE [--dir DIR] [--sha256 HEX] [--target TRIPLE]
#
# BASE is where releases live: the files are read from
#   BASE/v<version>/gantry-<version>-<target>.tar.gz
#   BASE/v<version>/SHA256SUMS
# (for GitHub releases, BASE is <server>/<owner>/<repo>/releases/download).
set -euo pipefail

usage() {
    sed -n '2,11s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

version="" base="" dir="${HOME}/.local/bin" pinned="" target=""
while (($#)); do
    case "$1" in
        --version) version="${2:-}" ;;
        --release-url) base="${2:-}" ;;
        --dir) dir="${2:-}" ;;
        --sha256) pinned="${2:-}" ;;
        --target) target="${2:-}" ;;
        -h | --help) usage ;;
        *)
            echo "install.sh: unknown argument: $1" >&2
            usage
            ;;
    esac
    shift 2 || usage
done
[[ -n "${version}" && -n "${base}" ]] || usage
version="${version#v}"
if ! [[ "${version}" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
    echo "install.sh: --version must look like 1.2.3, not '${version}'" >&2
    exit 2
fi

if [[ -z "${target}" ]]; then
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64 | Linux-amd64) target="x86_64-unknown-linux-gnu" ;;
        Linux-aarch64 | Linux-arm64) target="aarch64-unknown-linux-gnu" ;;
        *)
            echo "install.sh: no gantry release for $(uname -s) $(uname -m); releases are built for Linux x86_64 and aarch64" >&2
            exit 1
            ;;
    esac
fi

asset="gantry-${version}-${target}.tar.gz"
url="${base%/}/v${version}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

fetch() {
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
}

echo "Downloading ${url}/${asset}"
fetch "${url}/${asset}" "${work}/${asset}"
if [[ -n "${pinned}" ]]; then
    expected="${pinned}"
else
    fetch "${url}/SHA256SUMS" "${work}/SHA256SUMS"
    # Lines are "<hex>  <file>" (sha256sum's format); take the one for our file.
    expected="$(awk -v f="${asset}" '$2 == f || $2 == "*" f { print $1 }' "${work}/SHA256SUMS")"
    if [[ -z "${expected}" ]]; then
        echo "install.sh: SHA256SUMS of v${version} lists no ${asset}" >&2
        exit 1
    fi
fi
actual="$(sha256sum "${work}/${asset}" | awk '{ print $1 }')"
if [[ "${actual}" != "${expected,,}" ]]; then
    echo "install.sh: checksum mismatch for ${asset}: expected ${expected}, got ${actual}; nothing installed" >&2
    exit 1
fi
echo "Checksum of ${asset} verified (sha256 ${actual})"

tar -xzf "${work}/${asset}" -C "${work}" gantry
mkdir -p "${dir}"
install -m 0755 "${work}/gantry" "${dir}/gantry"
echo "Installed gantry ${version} (${target}) in ${dir}"
