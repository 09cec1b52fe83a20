//! AWS's eventual consistency, emulated by the fault proxy (moto has none),
//! one case at a time, each for [`WINDOW`]: longer than every retry the
//! SDK makes on its own (25 ms doubling, six attempts, as configured here),
//! so only gantry's own waiting gets an apply through. Each test checks that
//! the emulation answered (the proxy's trace), that the apply converged
//! (exit 0, then a clean plan) and that destroy leaves nothing.

use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::fault_proxy::{Consistency, FaultProxy, Schedule};
use crate::support::{block_on, Aws, Gantry};

const WINDOW: Duration = Duration::from_secs(3);

fn proxy_with(consistency: Consistency) -> FaultProxy {
    FaultProxy::start(crate::support::moto().addr(), Schedule { consistency, ..Schedule::clean() })
}

fn run(g: &Gantry, args: &[&str]) -> Output {
    g.cmd(args)
        .args(["-s", "s", "-var", &g.prefix_var()])
        .env("GANTRY_RETRY_INITIAL_BACKOFF_MS", "25")
        .output()
        .expect("running gantry")
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed\n{}", text(out));
}

fn assert_clean_plan(g: &Gantry) {
    let out = run(g, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "the plan after apply is not clean\n{}", text(&out));
}

fn answered(proxy: &FaultProxy, operation: &str) -> usize {
    proxy.consistency_answers().get(operation).copied().unwrap_or(0)
}

/// Waits until the proxy has passed `operation` on (and moto acted), then
/// kills `child` with SIGKILL.
fn kill_after_call(proxy: &FaultProxy, child: &mut std::process::Child, operation: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !proxy.trace().iter().any(|c| c.operation == operation && c.fault.is_none()) {
        assert!(Instant::now() < deadline, "gantry never called {operation}");
        assert!(child.try_wait().unwrap().is_none(), "gantry ended before calling {operation}");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Into the wait that follows the call.
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none(), "gantry ended before it could be killed mid-wait");
    child.kill().unwrap();
    child.wait().unwrap();
}

const PROFILE_STACK: &str = r#"variable "prefix" {
  type = string
}

variable "profile" {
  type    = string
  default = "a"
}

resource "aws_iam_role" "r" {
  name = "${var.prefix}-r"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_instance_profile" "p" {
  for_each = toset([var.profile])
  name     = "${var.prefix}-${each.key}"
  role     = aws_iam_role.r.name
}

resource "aws_instance" "i" {
  ami                  = "ami-12c6146b"
  instance_type        = "t3.micro"
  iam_instance_profile = aws_iam_instance_profile.p[var.profile].name
}
"#;

/// A new instance profile (and the role just added to it) is unknown to EC2
/// for a while: RunInstances, and the association of a new profile with a
/// running instance, answer InvalidParameterValue "Invalid IAM Instance
/// Profile name" until it propagates.
#[test]
fn a_new_instance_profile_is_waited_for_by_run_instances_and_association() {
    let proxy = proxy_with(Consistency { instance_profile: WINDOW, ..Consistency::default() });
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", PROFILE_STACK);
    let started = Instant::now();
    assert_ok(&run(&g, &["apply", "--auto-approve"]), "apply");
    assert!(answered(&proxy, "RunInstances") >= 1, "RunInstances never met the new profile: {:?}", proxy.trace());
    assert!(started.elapsed() >= WINDOW, "the apply did not wait for the profile");
    assert_clean_plan(&g);

    // A second profile replaces the first on the running instance.
    let out = run(&g, &["apply", "--auto-approve", "-var", "profile=b"]);
    assert_ok(&out, "the apply that switches profiles");
    let associations =
        answered(&proxy, "AssociateIamInstanceProfile") + answered(&proxy, "ReplaceIamInstanceProfileAssociation");
    assert!(associations >= 1, "the association never met the new profile: {:?}", proxy.consistency_answers());
    let out = run(&g, &["plan", "--detailed-exitcode", "-var", "profile=b"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_ok(&run(&g, &["destroy", "--auto-approve", "-var", "profile=b"]), "destroy");
}

const TABLE_STACK: &str = r#"variable "prefix" {
  type = string
}

variable "billing" {
  type    = string
  default = "PAY_PER_REQUEST"
}

resource "aws_dynamodb_table" "t" {
  name           = "${var.prefix}-t"
  billing_mode   = var.billing
  read_capacity  = var.billing == "PROVISIONED" ? 2 : null
  write_capacity = var.billing == "PROVISIONED" ? 2 : null
  hash_key       = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expires"
    enabled        = true
  }
}
"#;

/// A table is CREATING after CreateTable and UPDATING after UpdateTable;
/// meanwhile UpdateTable and DeleteTable are refused with
/// ResourceInUseException. An apply killed while it waited for CREATING is
/// picked up by the next one, and an update right after waits for the
/// adopted table to be ACTIVE; a destroy right after an update killed while
/// UPDATING waits for the table, then deletes it.
#[test]
fn tables_creating_and_updating_are_waited_for() {
    // Long enough that the apply after the killed one, and the update after
    // that, start while the table is still CREATING, however loaded the
    // machine is.
    let proxy = proxy_with(Consistency { table: Duration::from_secs(8), ..Consistency::default() });
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", TABLE_STACK);
    let prefix = g.prefix_var();
    let args = |extra: &[&'static str]| {
        let mut a: Vec<String> = vec!["apply".into(), "--auto-approve".into(), "-s".into(), "s".into()];
        a.extend(["-var".into(), prefix.clone()]);
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };

    // Killed while the new table is CREATING: the next apply adopts it.
    let mut child = g.spawn(args(&[]));
    kill_after_call(&proxy, &mut child, "CreateTable");
    assert_ok(&run(&g, &["apply", "--auto-approve"]), "the apply after the killed one");
    assert!(answered(&proxy, "DescribeTable") >= 1, "DescribeTable never said CREATING");
    assert_clean_plan(&g);

    // An update of a table still CREATING waits for it; then it waits out
    // UPDATING before the next call.
    assert_ok(&run(&g, &["apply", "--auto-approve", "-var", "billing=PROVISIONED"]), "the update");
    let out = run(&g, &["plan", "--detailed-exitcode", "-var", "billing=PROVISIONED"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Killed while UPDATING, then destroyed at once: DeleteTable is refused
    // until the table is ACTIVE again.
    let mut child = g.spawn(args(&["-var", "billing=PAY_PER_REQUEST"]));
    let updates_before = proxy.trace().iter().filter(|c| c.operation == "UpdateTable").count();
    let deadline = Instant::now() + Duration::from_secs(60);
    while proxy.trace().iter().filter(|c| c.operation == "UpdateTable" && c.fault.is_none()).count() <= updates_before {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "no UpdateTable");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let refused_before = answered(&proxy, "DeleteTable");
    assert_ok(&run(&g, &["destroy", "--auto-approve", "-var", "billing=PAY_PER_REQUEST"]), "destroy");
    assert!(answered(&proxy, "DeleteTable") > refused_before, "DeleteTable was never refused: {:?}", proxy.trace());
    let tables = block_on(Aws::for_moto(crate::support::moto()).dynamodb.list_tables().send()).unwrap();
    assert!(!tables.table_names().iter().any(|t| t.starts_with(g.prefix())), "{tables:?}");
}

const GROUP_STACK: &str = r#"variable "prefix" {
  type = string
}

resource "aws_security_group" "g" {
  name        = "${var.prefix}-g"
  description = "consistency test"
}

resource "aws_instance" "i" {
  ami                    = "ami-12c6146b"
  instance_type          = "t3.micro"
  vpc_security_group_ids = [aws_security_group.g.id]
}
"#;

/// A terminated instance stays shutting-down for a while, and its security
/// groups refuse deletion with DependencyViolation meanwhile. Destroy waits
/// until its own instance is terminated before it deletes the group; a
/// group held by an instance someone else terminated a moment before is
/// retried until the instance is gone.
#[test]
fn a_security_group_held_by_a_shutting_down_instance_is_deleted_after_it() {
    let proxy = proxy_with(Consistency { shutting_down: WINDOW, ..Consistency::default() });
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", GROUP_STACK);
    assert_ok(&run(&g, &["apply", "--auto-approve"]), "apply");
    assert_clean_plan(&g);
    let started = Instant::now();
    assert_ok(&run(&g, &["destroy", "--auto-approve"]), "destroy");
    assert!(answered(&proxy, "DescribeInstances") >= 1, "the instance was never shown shutting-down");
    assert!(started.elapsed() >= WINDOW, "destroy did not wait for the instance");

    // The group alone, and an instance in it launched and terminated
    // behind gantry's back (through the proxy) just before destroy.
    let group_only = &GROUP_STACK[..GROUP_STACK.find("resource \"aws_instance\"").unwrap()];
    g.write("s/main.tf", group_only);
    assert_ok(&run(&g, &["apply", "--auto-approve"]), "apply of the group alone");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(g.state_dir().join("s/default.json")).unwrap()).unwrap();
    let group = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "aws_security_group")
        .and_then(|r| r["id"].as_str())
        .unwrap()
        .to_string();
    let aws = Aws::for_endpoint(&proxy.endpoint());
    let launched = block_on(
        aws.ec2
            .run_instances()
            .image_id("ami-12c6146b")
            .instance_type("t3.micro".into())
            .min_count(1)
            .max_count(1)
            .security_group_ids(&group)
            .send(),
    )
    .unwrap();
    let other = launched.instances()[0].instance_id().unwrap().to_string();
    block_on(aws.ec2.terminate_instances().instance_ids(&other).send()).unwrap();
    let started = Instant::now();
    assert_ok(&run(&g, &["destroy", "--auto-approve"]), "destroy of the group");
    assert!(answered(&proxy, "DeleteSecurityGroup") >= 1, "DeleteSecurityGroup was never refused");
    assert!(started.elapsed() >= WINDOW / 2, "destroy did not wait for the other instance");
    let groups = block_on(aws.ec2.describe_security_groups().send()).unwrap();
    assert!(!groups.security_groups().iter().any(|s| s.group_id() == Some(group.as_str())), "the group is left");
}

const BUCKET_STACK: &str = r#"variable "prefix" {
  type = string
}

resource "aws_s3_bucket" "b" {
  bucket = "${var.prefix}-b"
  tags = {
    team = "web"
  }
}

resource "aws_s3_bucket_versioning" "b" {
  bucket = aws_s3_bucket.b.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "b" {
  bucket                  = aws_s3_bucket.b.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "b" {
  bucket = aws_s3_bucket.b.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}
"#;

/// A new bucket answers NoSuchBucket for a while: its tags, and the
/// resources configuring it, wait for it instead of failing. With the
/// answer to CreateBucket lost as well, the SDK's resend hears that the
/// bucket exists, and the search for it (to adopt it) must wait for it too.
#[test]
fn a_new_bucket_is_waited_for_by_its_tags_sub_resources_and_adoption() {
    let proxy = proxy_with(Consistency { bucket: WINDOW, ..Consistency::default() });
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", BUCKET_STACK);
    assert_ok(&run(&g, &["apply", "--auto-approve"]), "apply");
    let answers = proxy.consistency_answers();
    assert!(answers.get("PutBucketTagging").is_some_and(|n| *n >= 1), "tagging never met NoSuchBucket: {answers:?}");
    assert_clean_plan(&g);
    assert_ok(&run(&g, &["destroy", "--auto-approve"]), "destroy");

    proxy.set_schedule(Schedule {
        lost_creates: 1,
        consistency: Consistency { bucket: WINDOW, ..Consistency::default() },
        ..Schedule::clean()
    });
    assert_ok(&run(&g, &["apply", "--auto-approve"]), "apply with the answer to CreateBucket lost");
    assert_eq!(proxy.lost_creates(), 1);
    assert!(!proxy.consistency_answers().is_empty(), "nothing met NoSuchBucket");
    assert_clean_plan(&g);
    assert_ok(&run(&g, &["destroy", "--auto-approve"]), "destroy");
}
