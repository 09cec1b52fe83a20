//! The core loop on a small stack: plan, apply, a second plan with no
//! changes, an update in place, a replace, destroy; checked through the
//! emulator behind gantry's back.

use std::path::Path;

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

const SECRET: &str = "lifecycle-secret-value";

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]).env("TF_VAR_secret", SECRET);
    cmd
}

fn parameter_value(name: &str) -> Option<String> {
    let out = block_on(aws().ssm.get_parameter().name(name).with_decryption(true).send()).ok()?;
    out.parameter().and_then(|p| p.value()).map(str::to_string)
}

#[test]
fn apply_noop_update_replace_destroy() {
    let g = Gantry::new();
    let stack = g.fixture("basic");
    let p = g.prefix().to_string();

    run(&g, &stack, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Plan: 6 to add, 0 to change, 0 to destroy."))
        .stdout(predicate::str::contains("(known after apply)"));

    run(&g, &stack, &["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Apply complete! Resources: 6 added, 0 changed, 0 destroyed."));
    assert_eq!(parameter_value(&format!("/{p}/GREETING")).as_deref(), Some(format!("hello from {p}").as_str()));
    assert_eq!(parameter_value(&format!("/{p}/SECRET")).as_deref(), Some(SECRET));
    block_on(aws().dynamodb.describe_table().table_name(format!("{p}-items")).send()).expect("table exists");

    // Created resources carry ownership tags.
    let tags = block_on(
        aws()
            .ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(format!("/{p}/GREETING"))
            .send(),
    )
    .expect("tags");
    let tags: Vec<(String, String)> =
        tags.tag_list().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
    assert!(tags.contains(&("gantry:address".into(), "aws_ssm_parameter.greeting".into())), "{tags:?}");
    assert!(tags.contains(&("gantry:env".into(), "test".into())), "{tags:?}");
    assert!(tags.contains(&("suite".into(), "gantry-tests".into())), "default tags applied: {tags:?}");

    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));

    g.cmd(["output", "-s"])
        .arg(&stack)
        .args(["-e", "test", "table_name"])
        .assert()
        .success()
        .stdout(format!("{p}-items\n"));

    // An in-place update.
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, text.replace("hello from", "greetings from")).unwrap();
    run(&g, &stack, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_ssm_parameter.greeting will be updated in-place"))
        .stdout(predicate::str::contains("Plan: 0 to add, 1 to change, 0 to destroy."));
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    assert_eq!(parameter_value(&format!("/{p}/GREETING")).as_deref(), Some(format!("greetings from {p}").as_str()));

    // A force-new attribute replaces.
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(&main, text.replace("\"${var.prefix}-items\"", "\"${var.prefix}-items2\"")).unwrap();
    run(&g, &stack, &["plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aws_dynamodb_table.items must be replaced"))
        .stdout(predicate::str::contains("# forces replacement"));
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    assert!(block_on(aws().dynamodb.describe_table().table_name(format!("{p}-items")).send()).is_err());
    block_on(aws().dynamodb.describe_table().table_name(format!("{p}-items2")).send()).expect("new table");

    run(&g, &stack, &["destroy", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Destroy complete! Resources: 6 destroyed."));
    assert_eq!(parameter_value(&format!("/{p}/GREETING")), None);
    assert!(block_on(aws().dynamodb.describe_table().table_name(format!("{p}-items2")).send()).is_err());
    assert!(block_on(aws().ecr.describe_repositories().repository_names(format!("{p}-app")).send()).is_err());
    let buckets = block_on(aws().s3.list_buckets().send()).unwrap();
    assert!(!buckets.buckets().iter().any(|b| b.name().unwrap_or("").starts_with(&p)));
    g.cmd(["state", "list", "-s"]).arg(&stack).args(["-e", "test"]).assert().success().stdout("");
}

#[test]
fn removing_a_block_deletes_its_resource() {
    let g = Gantry::new();
    let stack = g.fixture("basic");
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    let start = text.find("resource \"aws_ecr_repository\"").unwrap();
    let end = start + text[start..].find("}\n").unwrap() + 2;
    let text = format!("{}{}", &text[..start], &text[end..])
        .replace("output \"repository_url\" {\n  value = aws_ecr_repository.app.repository_url\n}\n", "");
    std::fs::write(&main, text).unwrap();
    run(&g, &stack, &["plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aws_ecr_repository.app will be destroyed"))
        .stdout(predicate::str::contains("its resource block was removed"));
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let p = g.prefix();
    assert!(block_on(aws().ecr.describe_repositories().repository_names(format!("{p}-app")).send()).is_err());
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn drift_is_reported_and_corrected() {
    let g = Gantry::new();
    let stack = g.fixture("basic");
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let name = format!("/{}/GREETING", g.prefix());
    block_on(aws().ssm.put_parameter().name(&name).value("changed by hand").overwrite(true).send()).unwrap();
    run(&g, &stack, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Objects have changed outside of gantry"))
        .stdout(predicate::str::contains("\"changed by hand\""))
        .stdout(predicate::str::contains("1 to change"));
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    assert_eq!(parameter_value(&name), Some(format!("hello from {}", g.prefix())));
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn prevent_destroy_blocks_destroy() {
    let g = Gantry::new();
    let stack = g.fixture("basic");
    let main = stack.join("main.tf");
    let text = std::fs::read_to_string(&main).unwrap();
    std::fs::write(
        &main,
        text.replace(
            "  force_delete = true\n",
            "  force_delete = true\n  lifecycle {\n    prevent_destroy = true\n  }\n",
        ),
    )
    .unwrap();
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    run(&g, &stack, &["destroy", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Instance cannot be destroyed: aws_ecr_repository.app"))
        .stderr(predicate::str::contains("main.tf:"));
    std::fs::write(&main, text).unwrap();
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn bucket_default_encryption_round_trips() {
    let g = Gantry::new();
    g.write(
        "s/main.tf",
        r#"variable "prefix" {
  type = string
}

resource "aws_s3_bucket" "b" {
  bucket = "${var.prefix}-encrypted"
}

resource "aws_s3_bucket_server_side_encryption_configuration" "b" {
  bucket = aws_s3_bucket.b.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
"#,
    );
    let args = |extra: &[&str]| {
        let mut c = g.cmd(extra);
        c.args(["-s", "s", "-var", &g.prefix_var()]);
        c
    };
    args(&["plan"]).assert().success().stdout(predicate::str::contains("+ apply_server_side_encryption_by_default {"));
    args(&["apply", "--auto-approve"]).assert().success();
    let enc = block_on(aws().s3.get_bucket_encryption().bucket(format!("{}-encrypted", g.prefix())).send()).unwrap();
    let algorithm = enc
        .server_side_encryption_configuration()
        .and_then(|c| c.rules().first())
        .and_then(|r| r.apply_server_side_encryption_by_default())
        .map(|d| d.sse_algorithm().as_str().to_string());
    assert_eq!(algorithm.as_deref(), Some("AES256"));
    args(&["plan", "--detailed-exitcode"]).assert().code(0);
    args(&["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn a_failed_resource_stops_only_its_dependents() {
    let g = Gantry::new();
    g.write(
        "s/main.tf",
        r#"variable "prefix" {
  type = string
}

# AWS-side failure: a parameter may have value or insecure_value, not both.
resource "aws_ssm_parameter" "broken" {
  name           = "/${var.prefix}/BROKEN"
  type           = "String"
  value          = "a"
  insecure_value = "b"
}

resource "aws_ssm_parameter" "dependent" {
  name           = "/${var.prefix}/DEPENDENT"
  type           = "String"
  insecure_value = aws_ssm_parameter.broken.name
}

resource "aws_ssm_parameter" "independent" {
  name           = "/${var.prefix}/INDEPENDENT"
  type           = "String"
  insecure_value = "fine"
}
"#,
    );
    g.cmd(["apply", "--auto-approve", "-s", "s", "-var", &g.prefix_var()])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("aws_ssm_parameter.broken"))
        .stderr(predicate::str::contains("Not attempted (a dependency failed): aws_ssm_parameter.dependent"));
    g.cmd(["state", "list", "-s", "s"]).assert().success().stdout("aws_ssm_parameter.independent\n");
    assert_eq!(parameter_value(&format!("/{}/INDEPENDENT", g.prefix())).as_deref(), Some("fine"));
    assert_eq!(parameter_value(&format!("/{}/DEPENDENT", g.prefix())), None);
    g.cmd(["destroy", "--auto-approve", "-s", "s", "-var", &g.prefix_var()]).assert().success();
}

#[test]
fn create_before_destroy_and_ignore_changes() {
    let g = Gantry::new();
    let stack = |name: &str, description: &str| {
        format!(
            r#"variable "prefix" {{
  type = string
}}

resource "aws_ssm_parameter" "p" {{
  name           = "/${{var.prefix}}/{name}"
  type           = "String"
  description    = "{description}"
  insecure_value = "v"

  lifecycle {{
    create_before_destroy = true
    ignore_changes        = [description]
  }}
}}
"#
        )
    };
    let run = |args: &[&str]| {
        let mut c = g.cmd(args);
        c.args(["-s", "s", "-var", &g.prefix_var()]);
        c
    };
    g.write("s/main.tf", stack("OLD", "first"));
    run(&["apply", "--auto-approve"]).assert().success();

    // A description edited in the stack is ignored.
    g.write("s/main.tf", stack("OLD", "second"));
    run(&["plan", "--detailed-exitcode"]).assert().code(0);

    // A new name replaces, creating the new parameter before deleting the old.
    g.write("s/main.tf", stack("NEW", "second"));
    run(&["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("+/- create replacement and then destroy"))
        .stdout(predicate::str::contains("1 added, 0 changed, 1 destroyed"));
    assert_eq!(parameter_value(&format!("/{}/NEW", g.prefix())).as_deref(), Some("v"));
    assert_eq!(parameter_value(&format!("/{}/OLD", g.prefix())), None);
    run(&["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn a_failed_delete_of_a_removed_resource_holds_up_nothing_else() {
    let g = Gantry::new();
    let with_bucket = r#"variable "prefix" {
  type = string
}

resource "aws_s3_bucket" "old" {
  bucket = "${var.prefix}-old"
}

resource "aws_ssm_parameter" "a" {
  name           = "/${var.prefix}/A"
  type           = "String"
  insecure_value = "1"
}
"#;
    g.write("s/main.tf", with_bucket);
    let run = |args: &[&str]| {
        let mut c = g.cmd(args);
        c.args(["-s", "s", "-var", &g.prefix_var()]);
        c
    };
    run(&["apply", "--auto-approve"]).assert().success();
    // An object in the bucket makes its delete fail (no force_destroy).
    block_on(aws().s3.put_object().bucket(format!("{}-old", g.prefix())).key("k").body(b"x".to_vec().into()).send())
        .unwrap();
    let without = with_bucket
        .replace("resource \"aws_s3_bucket\" \"old\" {\n  bucket = \"${var.prefix}-old\"\n}\n", "")
        .replace("insecure_value = \"1\"", "insecure_value = \"2\"");
    g.write("s/main.tf", without);
    run(&["apply", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("aws_s3_bucket.old"))
        .stderr(predicate::str::contains("Not attempted").not());
    assert_eq!(parameter_value(&format!("/{}/A", g.prefix())).as_deref(), Some("2"), "the update still ran");
    block_on(aws().s3.delete_object().bucket(format!("{}-old", g.prefix())).key("k").send()).unwrap();
    run(&["apply", "--auto-approve"]).assert().success();
    run(&["destroy", "--auto-approve"]).assert().success();
}
