#!/usr/bin/env bash
# Records Terraform's answers to the expressions in
# tests/fixtures/conformance/cases/*.txt as tests/fixtures/conformance/*.json,
# which src/eval/conformance.rs compares gantry's evaluator against.
#
# Case files hold one expression per line; a block between two lines `---`
# is one multi-line expression (heredocs); lines starting with `#` and blank
# lines are skipped. Each expression becomes `locals { v = EXPR }` in an
# otherwise empty configuration (with a copy of
# tests/fixtures/conformance/files/ beside it, for the file functions), and
# `terraform console` prints `jsonencode(local.v)`: the value, or an error.
#
# Usage: scripts/record-conformance.sh [FAMILY...]   (default: every case file)
# Needs terraform (1.11.x is the reference) and python3; the tests need neither.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/tests/fixtures/conformance"
command -v terraform >/dev/null || { echo "terraform is not installed" >&2; exit 1; }
TF_CLI_CONFIG_FILE=/dev/null terraform version | sed -n 1p >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ $# -eq 0 ]; then
    for case in "$dir"/cases/*.txt; do
        name="${case##*/}"
        set -- "$@" "${name%.txt}"
    done
fi

for family in "$@"; do
    TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 python3 - "$dir" "$family" "$work" <<'PY'
import json, os, shutil, subprocess, sys

dir, family, work = sys.argv[1:4]

def cases(path):
    block = None
    for line in open(path, encoding="utf-8").read().split("\n"):
        if block is not None:
            if line == "---":
                yield "\n".join(block)
                block = None
            else:
                block.append(line)
        elif line == "---":
            block = []
        elif line.strip() and not line.startswith("#"):
            yield line

def record(expr):
    run = os.path.join(work, family)
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(os.path.join(dir, "files"), run)
    with open(os.path.join(run, "main.tf"), "w", encoding="utf-8") as f:
        f.write("locals {\n  v = " + expr + "\n}\n")
    p = subprocess.run(["terraform", "console", "-no-color"], input="jsonencode(local.v)\n",
                       cwd=run, capture_output=True, text=True, timeout=60)
    # A configuration error still exits 0, with the error on stderr.
    if p.returncode == 0 and "Error: " not in p.stderr:
        # The console prints the JSON text as an HCL string literal, in
        # which template introductions are escaped by doubling.
        # The answer is the last line; a notice may come before it.
        answer = (p.stdout.strip().split("\n") or [""])[-1]
        if answer == "(known after apply)":
            return {"expr": expr, "unknown": True}
        try:
            text = json.loads(answer)
        except ValueError:
            sys.exit(f"cannot read the console's answer to {expr!r}: {p.stdout!r} {p.stderr!r}")
        text = text.replace("$${", "${").replace("%%{", "%{")
        return {"expr": expr, "json": text}
    summary = next((l.split("Error: ", 1)[1].strip() for l in (p.stderr + p.stdout).split("\n") if "Error: " in l),
                   "error")
    return {"expr": expr, "error": summary}

out = [record(e) for e in cases(os.path.join(dir, "cases", family + ".txt"))]
with open(os.path.join(dir, family + ".json"), "w", encoding="utf-8") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
errors = sum(1 for c in out if "error" in c)
print(f"{family}: {len(out)} expressions, {errors} errors", file=sys.stderr)
PY
done
