//! The pull-request workflow: saved plans applied exactly or refused,
//! Markdown and JSON plans, --target, refresh, import and the state commands.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

const SECRET: &str = "workflow-secret-canary";

fn with_vars(g: &Gantry, stack: &Path, mut cmd: assert_cmd::Command) -> assert_cmd::Command {
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]).env("TF_VAR_secret", SECRET);
    cmd
}

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    with_vars(g, stack, g.cmd(args))
}

fn setup() -> (Gantry, PathBuf) {
    let g = Gantry::new();
    let stack = g.fixture("basic");
    (g, stack)
}

#[test]
fn saved_plan_is_applied_exactly_and_refused_when_anything_moved() {
    let (g, stack) = setup();
    let plan = g.path().join("plan.json");
    run(&g, &stack, &["plan", "--out", plan.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicate::str::contains("Saved the plan"));
    let saved = std::fs::read_to_string(&plan).unwrap();
    assert!(!saved.contains(SECRET), "a saved plan holds no secret");
    g.cmd(["show", "--json"]).arg(&plan).assert().success().stdout(predicate::str::contains("\"resource_changes\""));
    g.cmd(["show"]).arg(&plan).assert().success().stdout(predicate::str::contains("Plan: 6 to add"));

    // A different secret than the one planned with: refused, without the value.
    with_vars(&g, &stack, g.cmd(["apply"]))
        .arg(&plan)
        .env("TF_VAR_secret", "another-value")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("sensitive variable secret"))
        .stderr(predicate::str::contains("another-value").not());

    // The planned inputs: applied without a prompt.
    run(&g, &stack, &["apply"]).arg(&plan).assert().success().stdout(predicate::str::contains("6 added"));

    // The state moved on: the same file is refused. The generated workflow
    // tells a stale plan from a failed apply by the first sentence.
    run(&g, &stack, &["apply"])
        .arg(&plan)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("The saved plan cannot be applied: "))
        .stderr(predicate::str::contains("the state changed since the plan was made"));

    // The stack changed after planning: refused.
    run(&g, &stack, &["plan", "--out", plan.to_str().unwrap()]).assert().success();
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, text.replace("hello from", "hi from")).unwrap();
    run(&g, &stack, &["apply"]).arg(&plan).assert().code(1).stderr(predicate::str::contains("stack's files"));
    std::fs::write(&main, text).unwrap();

    // The world changed after planning (drift): the actions differ, refused.
    run(&g, &stack, &["plan", "--out", plan.to_str().unwrap()]).assert().success();
    let name = format!("/{}/GREETING", g.prefix());
    block_on(aws().ssm.put_parameter().name(&name).value("edited").overwrite(true).send()).unwrap();
    run(&g, &stack, &["apply"])
        .arg(&plan)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("aws_ssm_parameter.greeting: planned no-op, now update"));

    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn markdown_plan_and_job_summary() {
    let (g, stack) = setup();
    let summary = g.path().join("summary.md");
    run(&g, &stack, &["plan", "--markdown"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .assert()
        .success()
        .stdout(predicate::str::contains("**6 to add, 0 to change, 0 to destroy**"))
        .stdout(predicate::str::contains("<details><summary>Details</summary>"));
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.contains("### gantry plan: `basic` / `test`"), "{written}");
    assert!(!written.contains(SECRET));
}

#[test]
fn json_plan_masks_secrets_and_unknowns() {
    let (g, stack) = setup();
    let out = run(&g, &stack, &["plan", "--json"]).output().unwrap();
    assert!(out.status.success());
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["format_version"], "1");
    let secret = plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["address"] == "aws_ssm_parameter.secret")
        .unwrap();
    assert_eq!(secret["change"]["actions"], serde_json::json!(["create"]));
    assert_eq!(secret["change"]["after"]["value"], serde_json::Value::Null);
    assert_eq!(secret["change"]["after_sensitive"]["value"], true);
    assert_eq!(secret["change"]["after_unknown"]["arn"], true);
}

#[test]
fn target_limits_the_plan_to_an_address_and_its_dependencies() {
    let (g, stack) = setup();
    run(&g, &stack, &["apply", "--auto-approve", "--target", "aws_s3_bucket_versioning.assets"])
        .assert()
        .success()
        .stdout(predicate::str::contains("2 added"));
    g.cmd(["state", "list", "-s"])
        .arg(&stack)
        .args(["-e", "test"])
        .assert()
        .success()
        .stdout("aws_s3_bucket.assets\naws_s3_bucket_versioning.assets\n");
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn import_rm_mv_and_refresh() {
    let (g, stack) = setup();
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let state_cmd = |args: &[&str]| {
        let mut c = g.cmd(["state"]);
        c.args(args).arg("-s").arg(&stack).args(["-e", "test"]);
        c
    };

    // Forget the table, then adopt it back with import: no changes after.
    state_cmd(&["rm", "aws_dynamodb_table.items"])
        .assert()
        .success()
        .stdout(predicate::str::contains("still exist in AWS"));
    run(&g, &stack, &["plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aws_dynamodb_table.items will be created"));
    run(&g, &stack, &["import", "aws_dynamodb_table.items", &format!("{}-items", g.prefix())])
        .assert()
        .success()
        .stdout(predicate::str::contains("Imported aws_dynamodb_table.items"));
    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0);
    run(&g, &stack, &["import", "aws_dynamodb_table.items", "no-such-table"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already in state"));

    // Rename the parameter block and move its state along: no changes.
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        text.replace("\"aws_ssm_parameter\" \"greeting\"", "\"aws_ssm_parameter\" \"hello\"")
            .replace("aws_ssm_parameter.greeting.name", "aws_ssm_parameter.hello.name"),
    )
    .unwrap();
    state_cmd(&["mv", "aws_ssm_parameter.greeting", "aws_ssm_parameter.hello"]).assert().success();
    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0);
    state_cmd(&["mv", "aws_ssm_parameter.hello", "aws_s3_bucket.x"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("types differ"));

    // refresh records drift in state without changing AWS.
    let name = format!("/{}/GREETING", g.prefix());
    block_on(aws().ssm.put_parameter().name(&name).value("drifted").overwrite(true).send()).unwrap();
    run(&g, &stack, &["refresh"]).assert().success();
    state_cmd(&["show", "aws_ssm_parameter.hello"]).assert().success().stdout(predicate::str::contains("\"drifted\""));
    let live = block_on(aws().ssm.get_parameter().name(&name).send()).unwrap();
    assert_eq!(live.parameter().and_then(|p| p.value()), Some("drifted"));

    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn sensitive_outputs_are_not_stored_or_printed() {
    let (g, stack) = setup();
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, format!("{text}\noutput \"secret\" {{\n  value     = var.secret\n  sensitive = true\n}}\n"))
        .unwrap();
    run(&g, &stack, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"(?m)^secret += <sensitive>$").unwrap())
        .stdout(predicate::str::contains(SECRET).not());
    g.cmd(["output", "-s"])
        .arg(&stack)
        .args(["-e", "test", "--json"])
        .assert()
        .success()
        .stdout(predicate::str::contains(SECRET).not());
    g.cmd(["output", "-s"])
        .arg(&stack)
        .args(["-e", "test", "secret"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is sensitive"));
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}
