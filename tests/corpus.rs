//! The corpus: public Terraform configurations (terraform-aws-modules
//! roots and examples, terratest examples, small app repositories), kept
//! unchanged under tests/fixtures/corpus with their licences, each taken
//! through validate → plan → apply → plan ("No changes.") → destroy against
//! moto. `tests/fixtures/corpus/ENTRIES` lists them; the entries marked `ci`
//! run here, `scripts/corpus.sh` runs all of them and prints a table.
//!
//! An entry's folder may hold `gantry.tfvars` (the variables it needs) and
//! `EXPECTED`, for an entry that cannot pass yet: the stage it must stop at
//! and the error lines it must print there, so that the test fails as soon
//! as the behaviour changes, for better or worse:
//!
//! ```text
//! # why, in comments
//! stage: validate
//! error: Unsupported block "server_side_encryption" in aws_dynamodb_table.example
//! error: terraform-aws-dynamodb-example/main.tf:33:3
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

use crate::support::{repo_root, Gantry, Moto};

const STAGES: [&str; 5] = ["validate", "plan", "apply", "noop", "destroy"];

struct Entry {
    name: String,
    stack: PathBuf,
    ci: bool,
}

fn corpus_dir() -> PathBuf {
    repo_root().join("tests/fixtures/corpus")
}

fn entries() -> Vec<Entry> {
    let list = std::fs::read_to_string(corpus_dir().join("ENTRIES")).expect("reading tests/fixtures/corpus/ENTRIES");
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(fields.len(), 3, "ENTRIES line {line:?}: NAME FOLDER SUBSET");
            Entry { name: fields[0].to_string(), stack: corpus_dir().join(fields[1]), ci: fields[2] == "ci" }
        })
        .collect()
}

/// What an entry's `EXPECTED` file says.
struct Expected {
    stage: String,
    errors: Vec<String>,
}

fn expected(stack: &Path) -> Option<Expected> {
    let text = std::fs::read_to_string(stack.join("EXPECTED")).ok()?;
    let mut stage = None;
    let mut errors = Vec::new();
    for line in text.lines() {
        if let Some(s) = line.strip_prefix("stage:") {
            stage = Some(s.trim().to_string());
        } else if let Some(e) = line.strip_prefix("error:") {
            errors.push(e.trim().to_string());
        }
    }
    let stage = stage.unwrap_or_else(|| panic!("{}/EXPECTED has no `stage:` line", stack.display()));
    assert!(STAGES.contains(&stage.as_str()), "{}/EXPECTED: unknown stage {stage}", stack.display());
    assert!(!errors.is_empty(), "{}/EXPECTED has no `error:` line", stack.display());
    Some(Expected { stage, errors })
}

/// One entry's result: each stage's outcome, resources created, seconds.
struct Run {
    stages: Vec<(&'static str, String)>,
    resources: usize,
    seconds: f64,
    problems: Vec<String>,
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn run_entry(g: &Gantry, entry: &Entry) -> Run {
    let started = Instant::now();
    let expect = expected(&entry.stack);
    let tfvars = entry.stack.join("gantry.tfvars");
    let gantry = |args: &[&str]| -> Output {
        let mut cmd = g.cmd(args);
        cmd.arg("-s").arg(&entry.stack).args(["-e", "corpus"]);
        if tfvars.exists() {
            cmd.arg("--var-file").arg(&tfvars);
        }
        cmd.output().expect("running gantry")
    };
    let mut run = Run { stages: Vec::new(), resources: 0, seconds: 0.0, problems: Vec::new() };
    for stage in STAGES {
        let out = match stage {
            "validate" => gantry(&["validate"]),
            "plan" => gantry(&["plan"]),
            "apply" => gantry(&["apply", "--auto-approve"]),
            "noop" => gantry(&["plan", "--detailed-exitcode"]),
            _ => gantry(&["destroy", "--auto-approve"]),
        };
        let output = text(&out);
        let mut passed = out.status.success();
        if stage == "noop" && passed && !output.contains("No changes.") {
            passed = false;
        }
        if stage == "apply" {
            run.resources = applied(&output);
        }
        let expected_here = expect.as_ref().filter(|e| e.stage == stage);
        match (passed, expected_here) {
            (true, None) => run.stages.push((stage, "ok".into())),
            (true, Some(_)) => {
                run.stages.push((stage, "ok!".into()));
                run.problems.push(format!(
                    "{}: {stage} passed, but EXPECTED says it fails there: update or remove {}/EXPECTED",
                    entry.name,
                    entry.stack.display()
                ));
            }
            (false, Some(e)) => {
                let missing: Vec<&String> = e.errors.iter().filter(|line| !output.contains(line.as_str())).collect();
                if missing.is_empty() {
                    run.stages.push((stage, "expected".into()));
                } else {
                    run.stages.push((stage, "FAIL".into()));
                    run.problems.push(format!(
                        "{}: {stage} failed, but not with the EXPECTED error (missing {missing:?}):\n{output}",
                        entry.name
                    ));
                }
            }
            (false, None) => {
                run.stages.push((stage, "FAIL".into()));
                run.problems.push(format!("{}: {stage} failed:\n{output}", entry.name));
            }
        }
        if !passed {
            if stage == "apply" || stage == "noop" {
                // Leave nothing behind for the entries after this one.
                let _ = gantry(&["destroy", "--auto-approve"]);
            }
            break;
        }
    }
    if let Some(e) = &expect {
        if !run.stages.iter().any(|(s, _)| *s == e.stage) {
            run.problems.push(format!("{}: stopped before the EXPECTED stage {}", entry.name, e.stage));
        }
    }
    run.seconds = started.elapsed().as_secs_f64();
    run
}

/// N from "Apply complete! Resources: N added, ...".
fn applied(output: &str) -> usize {
    output
        .lines()
        .filter_map(|l| l.split("Apply complete! Resources: ").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse().ok())
        .next_back()
        .unwrap_or(0)
}

fn table(runs: &[(&Entry, Run)]) -> String {
    let mut out = format!("{:<26} {:>4}  ", "entry", "res");
    for stage in STAGES {
        let _ = write!(out, "{stage:<9} ");
    }
    out.push_str("  secs\n");
    for (entry, run) in runs {
        let _ = write!(out, "{:<26} {:>4}  ", entry.name, run.resources);
        for stage in STAGES {
            let result = run.stages.iter().find(|(s, _)| *s == stage).map(|(_, r)| r.as_str()).unwrap_or("-");
            let _ = write!(out, "{result:<9} ");
        }
        let _ = writeln!(out, "{:>6.1}", run.seconds);
    }
    out
}

/// The corpus entries marked `ci`, on an emulator of their own, one after
/// the other (several examples use the same fixed names).
#[test]
fn corpus_ci_subset_runs_unchanged() {
    let moto = Moto::start();
    let g = Gantry::with_moto(&moto);
    let all = entries();
    assert!(all.iter().all(|e| e.stack.is_dir()), "every ENTRIES folder exists");
    let mut runs = Vec::new();
    for entry in all.iter().filter(|e| e.ci) {
        let run = run_entry(&g, entry);
        runs.push((entry, run));
    }
    let report = table(&runs);
    eprintln!("{report}");
    let problems: Vec<&String> = runs.iter().flat_map(|(_, r)| &r.problems).collect();
    assert!(problems.is_empty(), "{report}\n{}", problems.iter().map(|p| p.as_str()).collect::<Vec<_>>().join("\n\n"));
}

#[test]
fn every_corpus_repository_keeps_its_licence_and_source() {
    for dir in std::fs::read_dir(corpus_dir()).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().any(|n| n.starts_with("LICENSE")), "{} has no LICENSE file", dir.display());
        let source = std::fs::read_to_string(dir.join("SOURCE")).unwrap_or_default();
        assert!(
            source.contains("repository: https://github.com/") && source.contains("commit: "),
            "{}/SOURCE names the repository and commit",
            dir.display()
        );
    }
}

#[test]
fn applied_reads_the_apply_summary() {
    assert_eq!(applied("...\nApply complete! Resources: 7 added, 0 changed, 0 destroyed.\n"), 7);
    assert_eq!(applied("Error: boom"), 0);
}

/// Modules carry optional features as blocks of types gantry does not
/// support with `count = 0` (aws_appautoscaling_* in the DynamoDB module,
/// aws_ecr_registry_policy in the ECR module): such a block is accepted and
/// reads as an empty list, and refused, at its line, once it has instances.
#[test]
fn blocks_of_unsupported_types_count_only_once_they_have_instances() {
    let g = Gantry::new();
    g.write(
        "s/main.tf",
        r#"variable "prefix" {
  type = string
}
variable "scaling" {
  type    = bool
  default = false
}

resource "aws_appautoscaling_target" "read" {
  count              = var.scaling ? 1 : 0
  max_capacity       = 10
  min_capacity       = 1
  resource_id        = "table/${var.prefix}"
  scalable_dimension = "dynamodb:table:ReadCapacityUnits"
  service_namespace  = "dynamodb"
}

data "tls_certificate" "github" {
  for_each = {}
  url      = "https://token.actions.githubusercontent.com"
}

resource "aws_ssm_parameter" "p" {
  name  = "/${var.prefix}/scaling"
  type  = "String"
  value = try(aws_appautoscaling_target.read[0].id, "off")
}

output "targets" {
  value = length(aws_appautoscaling_target.read) + length(data.tls_certificate.github)
}
"#,
    );
    let gantry = |args: &[&str]| {
        let mut cmd = g.cmd(args);
        cmd.args(["-s", "s", "-e", "test", "-var", &g.prefix_var()]);
        cmd
    };
    gantry(&["validate"]).assert().success();
    gantry(&["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicates::str::contains("Apply complete! Resources: 1 added"));
    let out = g.cmd(["output", "targets", "-s", "s", "-e", "test"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    let out = gantry(&["plan", "-var", "scaling=true"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Unsupported resource type \"aws_appautoscaling_target\""), "{stderr}");
    assert!(stderr.contains("main.tf:9"), "{stderr}");
    assert!(stderr.contains("gives 1 instance"), "{stderr}");
    gantry(&["destroy", "--auto-approve"]).assert().success();
}

/// Found by terraform-aws-security-group's root (`egress_rules = ["all-all"]`):
/// the group's create revokes the allow-all egress rule AWS adds, as the
/// provider does, so a rule resource allowing all egress is not a duplicate;
/// and a group may leave its name to `name_prefix`.
#[test]
fn a_new_group_has_only_the_egress_the_stack_declares() {
    let g = Gantry::new();
    g.write(
        "s/main.tf",
        r#"variable "prefix" {
  type = string
}

resource "aws_security_group" "web" {
  name_prefix = "${var.prefix}-web-"
  description = "corpus"

  timeouts {
    create = "2m"
    delete = "5m"
  }
}

resource "aws_security_group_rule" "all_out" {
  type              = "egress"
  from_port         = 0
  to_port           = 0
  protocol          = "-1"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = aws_security_group.web.id
}

resource "aws_security_group" "quiet" {
  name_prefix = "${var.prefix}-quiet-"
}
"#,
    );
    let gantry = |args: &[&str]| {
        let mut cmd = g.cmd(args);
        cmd.args(["-s", "s", "-e", "test", "-var", &g.prefix_var()]);
        cmd
    };
    gantry(&["apply", "--auto-approve"]).assert().success();
    let groups = crate::support::block_on(
        crate::support::aws()
            .ec2
            .describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder().name("group-name").values(format!("{}-*", g.prefix())).build(),
            )
            .send(),
    )
    .unwrap();
    let groups = groups.security_groups();
    assert_eq!(groups.len(), 2);
    for group in groups {
        let name = group.group_name().unwrap();
        let egress = group.ip_permissions_egress();
        if name.starts_with(&format!("{}-quiet-", g.prefix())) {
            assert!(egress.is_empty(), "{name}: {egress:?}");
        } else {
            assert!(name.starts_with(&format!("{}-web-", g.prefix())), "{name}");
            assert_eq!(egress.len(), 1, "{name}: {egress:?}");
        }
    }
    gantry(&["plan", "--detailed-exitcode"]).assert().code(0);
    gantry(&["destroy", "--auto-approve"]).assert().success();
}

/// Found by terraform-aws-s3-bucket's root: a lifecycle rule writes its
/// `filter` as several `dynamic` blocks of which at most one yields. The
/// "at most 1" of the schema counts blocks after expansion, as Terraform does.
#[test]
fn block_limits_count_dynamic_blocks_once_expanded() {
    let g = Gantry::new();
    g.write(
        "s/main.tf",
        r#"variable "prefix" {
  type = string
}
variable "both" {
  type    = bool
  default = false
}

resource "aws_s3_bucket" "b" {
  bucket = "${var.prefix}-lifecycle"
}

resource "aws_s3_bucket_lifecycle_configuration" "lc" {
  bucket = aws_s3_bucket.b.id
  rule {
    id     = "expire"
    status = "Enabled"
    dynamic "filter" {
      for_each = var.both ? [1] : []
      content {
        prefix = "logs/"
      }
    }
    dynamic "filter" {
      for_each = [1]
      content {
        prefix = "tmp/"
      }
    }
    expiration {
      days = 30
    }
  }
}
"#,
    );
    let gantry = |args: &[&str]| {
        let mut cmd = g.cmd(args);
        cmd.args(["-s", "s", "-e", "test", "-var", &g.prefix_var()]);
        cmd
    };
    gantry(&["validate"]).assert().success();
    gantry(&["plan"]).assert().success().stdout(predicates::str::contains("Plan: 2 to add"));
    let out = gantry(&["plan", "-var", "both=true"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Too many \"filter\" blocks"), "{stderr}");
    assert!(stderr.contains("main.tf:18"), "{stderr}");
}
