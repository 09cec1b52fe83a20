//! Modules pass every optional input through to every argument, most of
//! them null: an argument gantry deliberately does not support is accepted
//! while it is null (or asks for what gantry does anyway), a `dynamic`
//! block of such a type while it yields nothing, and refused at its line
//! once it would do something. Also: local secondary indexes of a DynamoDB
//! table, fed through a variable whose object type has `optional(T, default)`.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

const STACK: &str = r#"
variable "prefix" {
  type = string
}

variable "restore_date_time" {
  type    = string
  default = null
}

variable "replicas" {
  type    = list(object({ region_name = string }))
  default = []
}

variable "indexes" {
  type = list(object({
    name            = string
    range_key       = string
    projection_type = optional(string, "ALL")
  }))
  default = [{ name = "by-created", range_key = "created" }]
}

resource "aws_dynamodb_table" "t" {
  name              = "${var.prefix}-lsi"
  billing_mode      = "PAY_PER_REQUEST"
  hash_key          = "id"
  range_key         = "sk"
  restore_date_time = var.restore_date_time

  attribute {
    name = "id"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "created"
    type = "N"
  }

  dynamic "local_secondary_index" {
    for_each = var.indexes
    content {
      name            = local_secondary_index.value.name
      range_key       = local_secondary_index.value.range_key
      projection_type = local_secondary_index.value.projection_type
    }
  }

  dynamic "replica" {
    for_each = var.replicas
    content {
      region_name = replica.value.region_name
    }
  }
}
"#;

fn stack(g: &Gantry) -> PathBuf {
    let file = g.write("inert/main.tf", STACK);
    file.parent().map(Path::to_path_buf).unwrap_or_default()
}

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]);
    cmd
}

#[test]
fn null_omitted_arguments_pass_and_local_indexes_round_trip() {
    let g = Gantry::new();
    let dir = stack(&g);
    run(&g, &dir, &["validate"]).assert().success();
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();

    let table = block_on(aws().dynamodb.describe_table().table_name(format!("{}-lsi", g.prefix())).send()).unwrap();
    let table = table.table().unwrap();
    let lsis = table.local_secondary_indexes();
    assert_eq!(lsis.len(), 1, "{lsis:?}");
    assert_eq!(lsis[0].index_name(), Some("by-created"));
    let projection = lsis[0].projection().and_then(|p| p.projection_type()).map(|p| p.as_str());
    assert_eq!(projection, Some("ALL"), "the optional() default reached the index");

    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));

    // A local index cannot be changed in place: the table is replaced.
    let plan = run(
        &g,
        &dir,
        &["plan", "-var", r#"indexes=[{name="by-created",range_key="created",projection_type="KEYS_ONLY"}]"#],
    )
    .output()
    .unwrap();
    let text = String::from_utf8_lossy(&plan.stdout);
    assert!(text.contains("must be replaced"), "{text}");

    // Set, an omitted argument is refused at its line, with the reason.
    run(&g, &dir, &["plan", "-var", "restore_date_time=2026-01-01T00:00:00Z"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("\"restore_date_time\" in aws_dynamodb_table.t is not supported by gantry"))
        .stderr(predicate::str::contains("main.tf:30"));
    // A dynamic block of an omitted type that yields a block is refused too.
    run(&g, &dir, &["plan", "-var", r#"replicas=[{region_name="eu-west-1"}]"#])
        .assert()
        .failure()
        .stderr(predicate::str::contains("\"replica\" in aws_dynamodb_table.t is not supported by gantry"))
        .stderr(predicate::str::contains("main.tf:54"));

    run(&g, &dir, &["destroy", "--auto-approve"]).assert().success();
}
