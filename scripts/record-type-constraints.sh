#!/usr/bin/env bash
# Records Terraform's conversions of input-variable values to type
# constraints: each line `TYPE ;; VALUE` of
# tests/fixtures/conformance/types/cases.txt becomes a configuration with
# `variable "v" { type = TYPE }` and `v = VALUE` in terraform.tfvars, and
# `terraform console` prints `jsonencode(var.v)`, or the error's detail.
# The answers go to tests/fixtures/conformance/types/terraform.json, which
# src/eval/type_conformance.rs compares gantry's conversions against.
#
# Usage: scripts/record-type-constraints.sh
# Needs terraform (1.11.x is the reference) and python3; the tests need neither.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$root/tests/fixtures/conformance/types"
command -v terraform >/dev/null || { echo "terraform is not installed" >&2; exit 1; }
TF_CLI_CONFIG_FILE=/dev/null terraform version | sed -n 1p >&2

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

TF_CLI_CONFIG_FILE=/dev/null CHECKPOINT_DISABLE=1 python3 - "$dir" "$work" <<'PY'
import json, os, re, subprocess, sys

dir, work = sys.argv[1:3]

def cases():
    for line in open(os.path.join(dir, "cases.txt"), encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            ty, value = (part.strip() for part in line.split(";;", 1))
            yield ty, value

def record(ty, value):
    with open(os.path.join(work, "main.tf"), "w", encoding="utf-8") as f:
        f.write('variable "v" {\n  type = ' + ty + "\n}\n")
    with open(os.path.join(work, "terraform.tfvars"), "w", encoding="utf-8") as f:
        f.write("v = " + value + "\n")
    p = subprocess.run(["terraform", "console", "-no-color"], input="jsonencode(var.v)\n",
                       cwd=work, capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    if "Error: " not in out:
        answer = (p.stdout.strip().split("\n") or [""])[-1]
        return {"type": ty, "value": value, "json": json.loads(answer)}
    # "The given value is not suitable for var.v declared at main.tf:1,1-13: DETAIL."
    text = " ".join(out.split())
    m = re.search(r"declared at main\.tf:[0-9,.-]+: (.*?\.)(?: |$)", text)
    if m:
        return {"type": ty, "value": value, "error": m.group(1)}
    summary = next((l.split("Error: ", 1)[1].strip() for l in out.split("\n") if "Error: " in l), "error")
    return {"type": ty, "value": value, "error": summary}

out = [record(ty, value) for ty, value in cases()]
with open(os.path.join(dir, "terraform.json"), "w", encoding="utf-8") as f:
    json.dump(out, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"{len(out)} cases recorded", file=sys.stderr)
PY
