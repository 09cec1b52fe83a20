//! Names left to the provider: `name` omitted, `name_prefix`,
//! `bucket_prefix`. Apply names each object prefix + the provider's
//! 26-character suffix (`terraform-` when no prefix is given), state and
//! outputs hold the name, a second plan has no changes, a changed prefix
//! replaces the object under a fresh name, a create cut short is adopted
//! under the name the journal holds, and destroy removes everything.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

/// Characters the provider's generated suffix adds after the prefix.
const SUFFIX: usize = 26;

const STACK: &str = r#"
variable "prefix" {
  type = string
}

resource "aws_s3_bucket" "logs" {
  bucket_prefix = "${var.prefix}-logs-"
  tags = {
    team = "web"
  }
}

resource "aws_s3_bucket" "bare" {
  force_destroy = true
}

resource "aws_iam_role" "app" {
  name_prefix = "${var.prefix}-app-"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ec2.amazonaws.com" }
    }]
  })
}

resource "aws_iam_instance_profile" "app" {
  name_prefix = "${var.prefix}-"
  role        = aws_iam_role.app.name
}

resource "aws_iam_policy" "read" {
  name_prefix = "${var.prefix}-read-"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "${aws_s3_bucket.logs.arn}/*" }]
  })
}

resource "aws_security_group" "web" {
  name_prefix = "${var.prefix}-web-"
}

resource "aws_security_group" "bare" {
  description = "named by the provider"
}

resource "aws_cloudwatch_log_group" "app" {
  retention_in_days = 7
}

output "bucket" {
  value = aws_s3_bucket.logs.bucket
}
"#;

fn stack(g: &Gantry, text: &str) -> PathBuf {
    let file = g.write("names/main.tf", text);
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]);
    cmd
}

fn edit(stack: &Path, from: &str, to: &str) {
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    assert!(text.contains(from), "{from} is not in the stack");
    std::fs::write(&main, text.replacen(from, to, 1)).unwrap();
}

fn state(g: &Gantry) -> serde_json::Value {
    let text = std::fs::read_to_string(g.state_dir().join("names/test.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn entry(g: &Gantry, address: &str) -> serde_json::Value {
    state(g)["resources"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["address"] == address).cloned())
        .unwrap_or_default()
}

fn attr(g: &Gantry, address: &str, name: &str) -> String {
    entry(g, address)["attributes"][name].as_str().unwrap_or_default().to_string()
}

/// A generated name: the prefix, then 18 digits of UTC time and 8 hex digits.
fn assert_generated(name: &str, prefix: &str) {
    assert!(name.starts_with(prefix), "{name} does not start with {prefix}");
    assert_eq!(name.len(), prefix.len() + SUFFIX, "{name}");
    let (stamp, counter) = name[prefix.len()..].split_at(18);
    assert!(stamp.starts_with("20") && stamp.bytes().all(|b| b.is_ascii_digit()), "{name}");
    assert!(counter.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
}

/// Moves a resource from state into the journal of interrupted creates, as
/// the apply that created it leaves it when killed before saving: the
/// journal holds the name generated before the call.
fn forget_as_interrupted(g: &Gantry, address: &str, id: Option<&str>, operation: &str) {
    let path = g.state_dir().join("names/test.json");
    let mut state = state(g);
    let resources = state["resources"].as_array_mut().unwrap();
    let at = resources.iter().position(|r| r["address"] == address).expect("in state");
    let gone = resources.remove(at);
    state["pending"] = serde_json::json!([{
        "address": address,
        "type": gone["type"],
        "id": id,
        "operation_id": operation,
        "started_at": "2026-12-01T00:00:00Z",
    }]);
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
}

fn bucket_exists(name: &str) -> bool {
    block_on(aws().s3.head_bucket().bucket(name).send()).is_ok()
}

fn role_exists(name: &str) -> bool {
    block_on(aws().iam.get_role().role_name(name).send()).is_ok()
}

fn sg_operation_tag(id: &str) -> String {
    let out = block_on(aws().ec2.describe_security_groups().group_ids(id).send()).unwrap();
    let group = &out.security_groups()[0];
    group.tags().iter().find(|t| t.key() == Some("gantry:operation")).and_then(|t| t.value()).unwrap().to_string()
}

#[test]
fn names_left_to_the_provider_are_generated_kept_and_adopted() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    let dir = stack(&g, STACK);

    run(&g, &dir, &["plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("bucket_prefix").and(predicate::str::contains("(known after apply)")));
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Resources: 8 added"));

    let bucket = attr(&g, "aws_s3_bucket.logs", "bucket");
    assert_generated(&bucket, &format!("{p}-logs-"));
    assert_eq!(entry(&g, "aws_s3_bucket.logs")["id"], bucket.as_str());
    assert_eq!(attr(&g, "aws_s3_bucket.logs", "bucket_prefix"), format!("{p}-logs-"));
    assert_eq!(state(&g)["outputs"]["bucket"]["value"], bucket.as_str());
    assert!(bucket_exists(&bucket));
    let bare = attr(&g, "aws_s3_bucket.bare", "bucket");
    assert_generated(&bare, "terraform-");
    assert!(bucket_exists(&bare));

    let role = attr(&g, "aws_iam_role.app", "name");
    assert_generated(&role, &format!("{p}-app-"));
    assert!(role_exists(&role));
    let profile = attr(&g, "aws_iam_instance_profile.app", "name");
    assert_generated(&profile, &format!("{p}-"));
    let live = block_on(aws().iam.get_instance_profile().instance_profile_name(&profile).send()).unwrap();
    assert_eq!(live.instance_profile().map(|i| i.roles()[0].role_name()), Some(role.as_str()));
    assert_generated(&attr(&g, "aws_iam_policy.read", "name"), &format!("{p}-read-"));
    let group = attr(&g, "aws_security_group.web", "name");
    assert_generated(&group, &format!("{p}-web-"));
    let group_id = entry(&g, "aws_security_group.web")["id"].as_str().unwrap().to_string();
    let live = block_on(aws().ec2.describe_security_groups().group_ids(&group_id).send()).unwrap();
    assert_eq!(live.security_groups()[0].group_name(), Some(group.as_str()));
    assert_generated(&attr(&g, "aws_security_group.bare", "name"), "terraform-");
    let log_group = attr(&g, "aws_cloudwatch_log_group.app", "name");
    assert_generated(&log_group, "terraform-");

    // The generated names are what state holds: nothing to change.
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));

    // A tag change updates the bucket in place and keeps its name; a new
    // prefix replaces the role under a fresh name (and the profile follows).
    edit(&dir, "team = \"web\"", "team = \"platform\"");
    edit(&dir, "-app-\"", "-svc-\"");
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_s3_bucket.logs will be updated in-place"))
        .stdout(predicate::str::contains("aws_iam_role.app must be replaced"));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    assert_eq!(attr(&g, "aws_s3_bucket.logs", "bucket"), bucket);
    let new_role = attr(&g, "aws_iam_role.app", "name");
    assert_generated(&new_role, &format!("{p}-svc-"));
    assert!(role_exists(&new_role));
    assert!(!role_exists(&role), "the replaced role {role} is gone");
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);

    // Creates cut short before state was saved: the journal holds the
    // generated name (bucket, role) or the object carries the operation tag
    // (security group); the next plan adopts each instead of creating it.
    // (plan adopts in memory; apply adopts, saves, and has nothing to do.)
    forget_as_interrupted(&g, "aws_s3_bucket.logs", Some(&bucket), "op-bucket");
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("will be created").not());
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("will be created").not());
    assert_eq!(attr(&g, "aws_s3_bucket.logs", "bucket"), bucket, "adopted under its generated name");
    assert_eq!(attr(&g, "aws_s3_bucket.logs", "bucket_prefix"), format!("{p}-logs-"));
    forget_as_interrupted(&g, "aws_iam_role.app", Some(&new_role), "op-role");
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("will be created").not());
    assert_eq!(attr(&g, "aws_iam_role.app", "name"), new_role);
    let operation = sg_operation_tag(&group_id);
    forget_as_interrupted(&g, "aws_security_group.web", None, &operation);
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);
    run(&g, &dir, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("will be created").not());
    assert_eq!(entry(&g, "aws_security_group.web")["id"], group_id.as_str());

    run(&g, &dir, &["destroy", "--auto-approve"]).assert().success();
    assert!(!bucket_exists(&bucket) && !bucket_exists(&bare));
    assert!(!role_exists(&new_role));
    assert!(block_on(aws().ec2.describe_security_groups().group_ids(&group_id).send()).is_err());
}

#[test]
fn a_prefix_too_long_for_the_name_is_refused_at_plan() {
    let g = Gantry::new();
    let long = "b".repeat(38);
    let text =
        format!("variable \"prefix\" {{}}\n\nresource \"aws_s3_bucket\" \"b\" {{\n  bucket_prefix = \"{long}\"\n}}\n");
    let dir = stack(&g, &text);
    run(&g, &dir, &["plan"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("main.tf:3"))
        .stderr(predicate::str::contains("at most 37"));
}
