//! Bad input gets a clear error naming file and line, exit code 1, and no
//! panic; nothing in state is touched.

use predicates::prelude::*;

use crate::support::Gantry;

/// Writes a one-file stack and runs `gantry ARGS -s s`.
fn check(source: &str, args: &[&str], expected: &[&str]) {
    let g = Gantry::offline();
    g.write("s/main.tf", source);
    let mut assert = g.cmd(args).args(["-s", "s"]).assert().code(1).stderr(predicate::str::contains("panicked").not());
    for e in expected {
        assert = assert.stderr(predicate::str::contains(*e));
    }
}

#[test]
fn syntax_error_names_file_line_and_column() {
    check("resource \"aws_s3_bucket\" \"b\" {\n  bucket = \n}\n", &["validate"], &["Syntax error", "main.tf:2:12"]);
}

#[test]
fn unknown_resource_type_lists_supported_ones() {
    check(
        "resource \"aws_lambda_function\" \"f\" {\n}\n",
        &["validate"],
        &["Unsupported resource type \"aws_lambda_function\"", "main.tf:1:1", "aws_ssm_parameter"],
    );
}

#[test]
fn unknown_attribute_and_missing_required_one() {
    check(
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n  colour = \"blue\"\n}\nresource \"aws_ecr_repository\" \"r\" {\n}\n",
        &["validate"],
        &["Unsupported argument \"colour\"", "main.tf:3:3", "Missing required argument \"name\"", "main.tf:5:1"],
    );
}

#[test]
fn computed_attribute_cannot_be_set() {
    check(
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n  arn = \"nope\"\n}\n",
        &["validate"],
        &["\"arn\" cannot be set", "main.tf:3:3"],
    );
}

#[test]
fn undeclared_reference() {
    check(
        "resource \"aws_s3_bucket\" \"b\" {\n  bucket = var.missing\n}\n",
        &["validate"],
        &["Reference to undeclared input variable var.missing", "main.tf:2:12"],
    );
}

#[test]
fn cycle_is_printed_as_addresses() {
    check(
        "resource \"aws_s3_bucket\" \"a\" {\n  bucket = aws_s3_bucket.b.id\n}\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = aws_s3_bucket.a.id\n}\n",
        &["validate"],
        &["Cycle:", "aws_s3_bucket.a", "aws_s3_bucket.b", "main.tf:1:1", "main.tf:4:1"],
    );
}

#[test]
fn a_local_that_refers_to_itself_is_a_named_cycle() {
    check(
        "locals {\n  a = 1\n}\nlocals {\n  b = local.b\n}\n",
        &["validate"],
        &["Cycle: local.b -> local.b", "main.tf:5"],
    );
}

#[test]
fn unsupported_block_names_what_is_supported() {
    check(
        "import {\n  to = aws_s3_bucket.b\n  id = \"b\"\n}\n",
        &["validate"],
        &["Unsupported block type \"import\"", "main.tf:1:1", "resource"],
    );
}

#[test]
fn wrong_variable_type() {
    let g = Gantry::offline();
    g.write("s/main.tf", "variable \"n\" {\n  type = number\n}\n");
    g.cmd(["plan", "-s", "s", "-var", "n=lots"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Invalid value for variable \"n\""))
        .stderr(predicate::str::contains("main.tf:1:1"));
}

#[test]
fn failed_validation_shows_its_message() {
    let g = Gantry::offline();
    g.write(
        "s/main.tf",
        "variable \"env\" {\n  type = string\n  validation {\n    condition     = contains([\"dev\", \"prod\"], var.env)\n    error_message = \"env must be dev or prod.\"\n  }\n}\n",
    );
    g.cmd(["plan", "-s", "s", "-var", "env=qa"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("env must be dev or prod."))
        .stderr(predicate::str::contains("main.tf:3:3"));
}

#[test]
fn missing_required_variable() {
    let g = Gantry::offline();
    g.write("s/main.tf", "variable \"region\" {\n  type = string\n}\n");
    g.cmd(["plan", "-s", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("No value for required variable \"region\""))
        .stderr(predicate::str::contains("TF_VAR_region"));
}

#[test]
fn unknown_environment_lists_known_ones() {
    let g = Gantry::offline();
    g.write("s/main.tf", "locals {\n  a = 1\n}\n");
    g.write("s/envs/staging.tfvars", "");
    g.cmd(["plan", "-s", "s", "-e", "stagin"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Unknown environment \"stagin\""))
        .stderr(predicate::str::contains("staging"));
}

#[test]
fn corrupt_state_is_reported_and_left_untouched() {
    let g = Gantry::offline();
    g.write("s/main.tf", "locals {\n  a = 1\n}\n");
    let state = g.write("state/s/default.json", "{\n  \"version\": 1,\n  garbage\n}\n");
    g.cmd(["plan", "-s", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not valid gantry state (line 3"))
        .stderr(predicate::str::contains("left untouched"));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{\n  \"version\": 1,\n  garbage\n}\n");
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let g = Gantry::offline();
    g.write("s/main.tf", "locals {\n  a = 1\n}\n");
    g.cmd(["apply", "-s", "s"]).assert().code(1).stderr(predicate::str::contains("--auto-approve"));
}

#[test]
fn graph_prints_dot_of_resources() {
    let g = Gantry::offline();
    g.write(
        "s/main.tf",
        "resource \"aws_s3_bucket\" \"a\" {\n  bucket = \"a\"\n}\nresource \"aws_s3_bucket_versioning\" \"v\" {\n  bucket = aws_s3_bucket.a.id\n  versioning_configuration {\n    status = \"Enabled\"\n  }\n}\n",
    );
    g.cmd(["graph", "-s", "s"])
        .assert()
        .success()
        .stdout(predicate::str::contains("digraph"))
        .stdout(predicate::str::contains("\"aws_s3_bucket_versioning.v\" -> \"aws_s3_bucket.a\""));
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let g = Gantry::offline();
    g.write("s/main.tf", "resource \"aws_s3_bucket\" \"a\" {\n  bucket = \"a\"\n}\n");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' graph -s s --all | head -c 1 >/dev/null; sleep 0.2", env!("CARGO_BIN_EXE_gantry")))
        .current_dir(g.path())
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn destroy_refuses_a_plan_that_is_not_a_destroy_plan() {
    let g = Gantry::offline();
    g.write("s/main.tf", "locals {\n  a = 1\n}\n");
    g.cmd(["plan", "-s", "s", "--out", "p.json"]).assert().success();
    g.cmd(["destroy", "-s", "s", "p.json"]).assert().code(1).stderr(predicate::str::contains("not a destroy plan"));
}

#[test]
fn an_absurd_count_is_an_error_not_a_crash() {
    let g = Gantry::offline();
    g.write("s/main.tf", "resource \"aws_s3_bucket\" \"b\" {\n  count  = 1e19\n  bucket = \"b${count.index}\"\n}\n");
    g.cmd(["plan", "-s", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("count must be a whole number from 0 to 100000"))
        .stderr(predicate::str::contains("main.tf:2:3"))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn state_list_refuses_a_resource_type_plan_refuses() {
    let g = Gantry::offline();
    g.write("s/main.tf", "variable \"x\" {\n  default = 1\n}\n");
    let state = r#"{"version": 1, "lineage": "l", "serial": 1, "gantry_version": "0", "hash_key": "00",
      "resources": [{"address": "aws_lambda_function.f", "type": "aws_lambda_function", "id": "f", "attributes": {}}]}"#;
    g.write("state/s/default.json", state);
    g.cmd(["state", "list", "-s", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unsupported resource type aws_lambda_function"))
        .stderr(predicate::str::contains("gantry state rm 'aws_lambda_function.f'"));
}
