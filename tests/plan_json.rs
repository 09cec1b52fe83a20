//! `gantry show -json`: a saved plan in Terraform's JSON plan format,
//! compared field by field with the plan Terraform 1.11 made of the same
//! stack (tests/fixtures/plan-json/terraform-plan.json, recorded by
//! scripts/record-plan-json.sh), and read by an OPA policy through regopy,
//! the OPA runtime on PyPI.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as J;

use crate::support::{copy_dir, repo_root, Gantry, Moto};

const CANARY: &str = "plan-json-canary-51c0ffee-0123456789abcdef";

/// Optional attributes the provider declares computed, so Terraform plans
/// them unknown when the configuration leaves them out, where gantry plans
/// null: AWS leaves them empty when not given (no key pair, no user data,
/// the value kept in `value`), which is what gantry's next read finds.
const PLANNED_NULL: &[(&str, &str)] =
    &[("aws_instance", "key_name"), ("aws_instance", "user_data_base64"), ("aws_ssm_parameter", "insecure_value")];

fn terraform_plan() -> J {
    let path = repo_root().join("tests/fixtures/plan-json/terraform-plan.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `gantry plan --out` of a stack on an empty emulator, then `show -json`
/// (Terraform's single-dash spelling).
fn gantry_plan(g: &Gantry, stack: &Path, file: &str, extra: &[&str]) -> J {
    let out = g.path().join(file);
    let mut plan = g.cmd(["plan", "--no-color", "--out"]);
    plan.arg(&out).arg("-s").arg(stack).args(["-e", "local"]).args(extra).env("TF_VAR_session_secret", CANARY);
    plan.assert().success();
    let show = g.cmd(["show", "-json"]).arg(&out).output().unwrap();
    assert!(show.status.success(), "{}", String::from_utf8_lossy(&show.stderr));
    let text = String::from_utf8(show.stdout).unwrap();
    assert!(!text.contains(CANARY), "a sensitive value reached show -json");
    assert!(!std::fs::read_to_string(&out).unwrap().contains(CANARY), "a sensitive value reached the plan file");
    serde_json::from_str(&text).unwrap()
}

/// A JSON document held in a string (a policy) compares by meaning: the
/// provider re-orders the keys `jsonencode` sorted.
fn json_text_parsed(v: &J) -> J {
    v.as_str().filter(|s| s.starts_with('{')).and_then(|s| serde_json::from_str(s).ok()).unwrap_or_else(|| v.clone())
}

fn by_address(list: &J) -> std::collections::BTreeMap<String, &J> {
    list.as_array().unwrap().iter().map(|r| (r["address"].as_str().unwrap().to_string(), r)).collect()
}

/// Every resource of a `planned_values`-style module tree, by address.
fn module_resources(module: &J, into: &mut Vec<String>) {
    for r in module["resources"].as_array().into_iter().flatten() {
        into.push(r["address"].as_str().unwrap().to_string());
    }
    for child in module["child_modules"].as_array().into_iter().flatten() {
        module_resources(child, into);
    }
}

fn small_stack(g: &Gantry) -> PathBuf {
    let stack = g.path().join("small");
    copy_dir(&repo_root().join("tests/fixtures/tfstate/small"), &stack).unwrap();
    stack
}

#[test]
fn show_json_matches_terraforms_plan_field_by_field() {
    let moto = Moto::start_lean();
    let g = Gantry::with_moto(&moto);
    let stack = small_stack(&g);
    let ours = gantry_plan(&g, &stack, "small.plan", &[]);
    let theirs = terraform_plan();

    assert_eq!(ours["format_version"], "1.2");
    assert_eq!(ours["format_version"], theirs["format_version"]);

    // The same resource changes, with the same identity and actions.
    let (a, b) = (by_address(&ours["resource_changes"]), by_address(&theirs["resource_changes"]));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "resource_changes addresses");
    let mut compared = 0;
    let mut null_for_unknown = Vec::new();
    for (address, t) in &b {
        let o = a[address];
        for field in ["mode", "type", "name", "index", "module_address", "provider_name"] {
            assert_eq!(o.get(field), t.get(field), "{address}: {field}");
        }
        assert_eq!(o["change"]["actions"], t["change"]["actions"], "{address}: actions");
        assert_eq!(o["change"]["before"], t["change"]["before"], "{address}: before");
        // Every attribute Terraform knows at plan time that gantry also
        // plans has the same value; sensitive ones are null in both (the
        // fixture's canary was scrubbed) and marked in gantry's mask.
        let (ta, oa) = (t["change"]["after"].as_object().unwrap(), o["change"]["after"].as_object().unwrap());
        for (attr, tv) in ta {
            if tv.is_null() || t["change"]["after_unknown"].get(attr) == Some(&J::Bool(true)) {
                continue;
            }
            if let Some(ov) = oa.get(attr) {
                if t["change"]["after_sensitive"].get(attr) == Some(&J::Bool(true)) {
                    assert_eq!(o["change"]["after_sensitive"][attr], true, "{address}.{attr} is marked sensitive");
                    assert!(ov.is_null(), "{address}.{attr}: a sensitive value is null");
                    continue;
                }
                assert_eq!(json_text_parsed(ov), json_text_parsed(tv), "{address}.{attr}");
                compared += 1;
            }
        }
        // What Terraform leaves unknown is unknown for gantry too, unless
        // gantry knows it (a name it generated before the plan, say).
        for (attr, unknown) in t["change"]["after_unknown"].as_object().unwrap() {
            let gantry_unknown = o["change"]["after_unknown"].get(attr) == Some(&J::Bool(true));
            let gantry_null = oa.get(attr).is_some_and(J::is_null);
            let planned_null = PLANNED_NULL.contains(&(t["type"].as_str().unwrap(), attr));
            if unknown == &J::Bool(true) && !gantry_unknown && gantry_null && !planned_null {
                null_for_unknown.push(format!("{address}.{attr}"));
            }
        }
    }
    assert!(compared >= 25, "only {compared} attribute values compared");
    assert_eq!(null_for_unknown, Vec::<String>::new(), "unknown for Terraform, null for gantry");

    // planned_values and prior_state hold the same resource tree.
    let (mut ours_planned, mut theirs_planned) = (Vec::new(), Vec::new());
    module_resources(&ours["planned_values"]["root_module"], &mut ours_planned);
    module_resources(&theirs["planned_values"]["root_module"], &mut theirs_planned);
    ours_planned.sort();
    theirs_planned.sort();
    assert_eq!(ours_planned, theirs_planned, "planned_values resources");

    // The configuration: the same resources, module calls and variables.
    let (oc, tc) = (&ours["configuration"]["root_module"], &theirs["configuration"]["root_module"]);
    assert_eq!(
        by_address(&oc["resources"]).keys().collect::<Vec<_>>(),
        by_address(&tc["resources"]).keys().collect::<Vec<_>>()
    );
    for (address, t) in by_address(&tc["resources"]) {
        let o = by_address(&oc["resources"])[&address].clone();
        assert_eq!(o["provider_config_key"], t["provider_config_key"], "{address}");
        let empty = serde_json::Map::new();
        let oe = o["expressions"].as_object().unwrap_or(&empty);
        for (attr, texpr) in t["expressions"].as_object().unwrap_or(&empty) {
            if let Some(constant) = texpr.get("constant_value") {
                assert_eq!(oe[attr].get("constant_value"), Some(constant), "{address}.{attr} constant");
            }
        }
    }
    assert_eq!(
        oc["module_calls"].as_object().unwrap().keys().collect::<Vec<_>>(),
        tc["module_calls"].as_object().unwrap().keys().collect::<Vec<_>>()
    );
    assert_eq!(oc["module_calls"]["params"]["source"], tc["module_calls"]["params"]["source"]);
    assert_eq!(
        ours["output_changes"].as_object().map(|o| o.keys().collect::<Vec<_>>()),
        theirs["output_changes"].as_object().map(|o| o.keys().collect::<Vec<_>>())
    );
    // The sensitive variable: set, but never written.
    assert_eq!(ours["variables"]["session_secret"]["value"], J::Null);
}

/// regopy's interpreter, when the venv has it (scripts/moto.sh installs it).
fn python() -> Option<PathBuf> {
    let venv = std::env::var_os("GANTRY_VENV").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv"));
    let python = venv.join("bin/python");
    let ok = Command::new(&python).args(["-c", "import regopy"]).output().is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// The policy's `deny` set for a plan document.
fn deny(python: &Path, plan: &J) -> Vec<String> {
    let policy = repo_root().join("tests/fixtures/plan-json/policy/deny_public_s3.rego");
    let script = r#"
import json, sys
from regopy import Interpreter
rego = Interpreter()
rego.add_module("policy", open(sys.argv[1]).read())
rego.set_input_term(sys.stdin.read())
print(rego.query("data.gantry.plan.deny"))
"#;
    let mut child = Command::new(python)
        .args(["-c", script])
        .arg(&policy)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(plan.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "regopy failed");
    let answer: J = serde_json::from_slice(&out.stdout).unwrap();
    answer["expressions"][0].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

#[test]
fn an_opa_policy_denies_a_public_bucket_in_the_reference_stack() {
    let Some(python) = python() else {
        assert!(std::env::var_os("CI").is_none(), "CI installs regopy (scripts/moto.sh install)");
        eprintln!("skipped: regopy is not installed in the venv (scripts/moto.sh install)");
        return;
    };
    let moto = Moto::start_lean();
    let g = Gantry::with_moto(&moto);
    let stack = g.path().join("vaultsphere");
    copy_dir(&repo_root().join("stacks/vaultsphere"), &stack).unwrap();
    let prefix = format!("name_prefix={}", g.prefix());

    // As shipped: the frontend bucket blocks public access; nothing denied.
    let plan = gantry_plan(&g, &stack, "shipped.plan", &["-var", &prefix]);
    assert_eq!(deny(&python, &plan), Vec::<String>::new());

    // Opened to the public: the policy names the resource.
    let s3 = stack.join("s3.tf");
    let text = std::fs::read_to_string(&s3).unwrap();
    let opened = text.replacen("block_public_policy     = true", "block_public_policy     = false", 1);
    assert_ne!(opened, text, "the reference stack's public access block changed shape");
    std::fs::write(&s3, opened).unwrap();
    let plan = gantry_plan(&g, &stack, "opened.plan", &["-var", &prefix]);
    let denied = deny(&python, &plan);
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert!(denied[0].contains("aws_s3_bucket_public_access_block.frontend"), "{denied:?}");
}
