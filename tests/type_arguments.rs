//! Arguments and blocks of the design's types that real stacks use:
//! `aws_instance` (availability zone, private IP, encoded user data,
//! metadata options, credit specification), `aws_dynamodb_table`
//! (server-side encryption, TTL, point-in-time recovery) and `timeouts`
//! blocks. Each: apply sets it and moto holds it, a second plan has no
//! changes, a change is planned and applied, destroy removes everything.

use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

const STACK: &str = r#"
variable "prefix" {
  type = string
}

resource "aws_instance" "web" {
  ami               = "ami-12c6146b"
  instance_type     = "t3.micro"
  availability_zone = "us-east-1b"
  user_data_base64  = "ZWNobyBoZWxsbwo="

  metadata_options {
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  credit_specification {
    cpu_credits = "standard"
  }

  timeouts {
    create = "5m"
    delete = "15m"
  }
}

resource "aws_dynamodb_table" "t" {
  name         = "${var.prefix}-sse"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  server_side_encryption {
    enabled = true
  }

  ttl {
    attribute_name = "expires"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = false
  }

  timeouts {
    create = "10m"
  }
}
"#;

fn stack(g: &Gantry) -> PathBuf {
    let file = g.write("args/main.tf", STACK);
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

fn entry(g: &Gantry, address: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(g.state_dir().join("args/test.json")).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    state["resources"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["address"] == address).cloned())
        .unwrap_or_default()
}

fn instance(id: &str) -> aws_sdk_ec2::types::Instance {
    let out = block_on(aws().ec2.describe_instances().instance_ids(id).send()).unwrap();
    out.reservations()[0].instances()[0].clone()
}

#[test]
fn instance_and_table_arguments_round_trip() {
    let g = Gantry::new();
    let dir = stack(&g);
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success().stdout(predicate::str::contains("2 added"));

    let state = entry(&g, "aws_instance.web");
    let id = state["id"].as_str().unwrap().to_string();
    let live = instance(&id);
    assert_eq!(live.placement().and_then(|p| p.availability_zone()), Some("us-east-1b"));
    let options = live.metadata_options().expect("metadata options");
    assert_eq!(options.http_tokens().map(|t| t.as_str()), Some("required"));
    assert_eq!(state["attributes"]["metadata_options"][0]["http_tokens"], "required");
    assert_eq!(state["attributes"]["metadata_options"][0]["http_endpoint"], "enabled", "AWS's default, read back");
    assert_eq!(state["attributes"]["availability_zone"], "us-east-1b");
    assert_eq!(state["attributes"]["user_data_base64"], "ZWNobyBoZWxsbwo=");
    assert_eq!(state["attributes"]["credit_specification"][0]["cpu_credits"], "standard");
    assert_eq!(state["attributes"]["timeouts"][0]["create"], "5m");
    let data = block_on(
        aws()
            .ec2
            .describe_instance_attribute()
            .instance_id(&id)
            .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
            .send(),
    )
    .unwrap();
    assert_eq!(data.user_data().and_then(|v| v.value()), Some("ZWNobyBoZWxsbwo="), "sent as given, not encoded twice");

    let table_name = format!("{}-sse", g.prefix());
    let table = block_on(aws().dynamodb.describe_table().table_name(&table_name).send()).unwrap();
    let sse = table.table().and_then(|t| t.sse_description()).expect("encrypted with a KMS key");
    let key = sse.kms_master_key_arn().unwrap().to_string();
    let table_state = entry(&g, "aws_dynamodb_table.t");
    assert_eq!(table_state["attributes"]["server_side_encryption"][0]["enabled"], true);
    assert_eq!(table_state["attributes"]["server_side_encryption"][0]["kms_key_arn"], key.as_str());

    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));

    // A timeout alone is no change; metadata options and PITR change in
    // place; a new availability zone replaces the instance.
    edit(&dir, "create = \"5m\"", "create = \"7m\"");
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);
    edit(&dir, "http_tokens                 = \"required\"", "http_tokens                 = \"optional\"");
    edit(&dir, "enabled = false", "enabled = true");
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_instance.web will be updated in-place"))
        .stdout(predicate::str::contains("aws_dynamodb_table.t will be updated in-place"));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    assert_eq!(entry(&g, "aws_instance.web")["id"], id.as_str(), "updated in place");
    let options = instance(&id).metadata_options().cloned().expect("metadata options");
    assert_eq!(options.http_tokens().map(|t| t.as_str()), Some("optional"));
    let backups = block_on(aws().dynamodb.describe_continuous_backups().table_name(&table_name).send()).unwrap();
    let pitr = backups.continuous_backups_description().and_then(|d| d.point_in_time_recovery_description());
    assert_eq!(pitr.and_then(|p| p.point_in_time_recovery_status()).map(|s| s.as_str()), Some("ENABLED"));
    run(&g, &dir, &["plan", "--detailed-exitcode"]).assert().code(0);

    edit(&dir, "us-east-1b", "us-east-1c");
    run(&g, &dir, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("aws_instance.web must be replaced"));
    run(&g, &dir, &["apply", "--auto-approve"]).assert().success();
    let new_id = entry(&g, "aws_instance.web")["id"].as_str().unwrap().to_string();
    assert_ne!(new_id, id);
    assert_eq!(instance(&new_id).placement().and_then(|p| p.availability_zone()), Some("us-east-1c"));

    run(&g, &dir, &["destroy", "--auto-approve"]).assert().success();
    assert_eq!(instance(&new_id).state().and_then(|s| s.name()).map(|n| n.as_str()), Some("terminated"));
    assert!(block_on(aws().dynamodb.describe_table().table_name(&table_name).send()).is_err());
}

#[test]
fn bad_timeouts_and_refused_blocks_are_errors_with_their_line() {
    let g = Gantry::new();
    let text = r#"
variable "prefix" {
  type = string
}

resource "aws_dynamodb_table" "t" {
  name     = "${var.prefix}-t"
  hash_key = "id"
  read_capacity  = 1
  write_capacity = 1
  attribute {
    name = "id"
    type = "S"
  }
  timeouts {
    create = "ten minutes"
  }
}
"#;
    let file = g.write("bad/main.tf", text);
    let dir = file.parent().unwrap().to_path_buf();
    run(&g, &dir, &["plan"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("main.tf:6"))
        .stderr(predicate::str::contains("timeouts.create = \"ten minutes\" is not a duration"));

    g.write(
        "bad/main.tf",
        text.replace(
            "  timeouts {\n    create = \"ten minutes\"\n  }\n",
            "  replica {\n    region_name = \"eu-west-1\"\n  }\n",
        ),
    );
    run(&g, &dir, &["validate"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("\"replica\" in"))
        .stderr(predicate::str::contains("not supported by gantry"))
        .stderr(predicate::str::contains("ReplicaUpdates"));
}
