//! `gantry bootstrap` from an empty account: state bucket (versioned,
//! encrypted, not public), lock table, an adopted GitHub OIDC provider, CI
//! roles pinned to one repository, gantry.hcl and a workflow; a second run
//! changes nothing; the environment then plans and applies through S3.
//! Own emulator: the OIDC provider is one per account.

use predicates::prelude::*;

use crate::support::{block_on, copy_dir, repo_root, Aws, Gantry, Moto};

fn trust_subject(aws: &Aws, role: &str) -> String {
    let role = block_on(aws.iam.get_role().role_name(role).send()).expect("role exists");
    let doc = role.role().and_then(|r| r.assume_role_policy_document()).unwrap_or_default().to_string();
    let doc = percent_decode(&doc);
    let json: serde_json::Value = serde_json::from_str(&doc).expect("trust policy is JSON");
    let condition = &json["Statement"][0]["Condition"]["StringEquals"];
    assert_eq!(condition["token.actions.githubusercontent.com:aud"], "sts.amazonaws.com");
    condition["token.actions.githubusercontent.com:sub"].as_str().unwrap_or_default().to_string()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn bootstrap_from_empty_then_rerun_is_a_no_op() {
    let moto = Moto::start();
    let aws = Aws::for_moto(&moto);
    let g = Gantry::with_moto(&moto);
    copy_dir(&repo_root().join("tests/fixtures/basic"), &g.path().join("stacks/app")).unwrap();
    // An account that already has a GitHub OIDC provider: it is adopted.
    block_on(
        aws.iam
            .create_open_id_connect_provider()
            .url("https://token.actions.githubusercontent.com")
            .client_id_list("sts.amazonaws.com")
            .thumbprint_list("a".repeat(40))
            .send(),
    )
    .unwrap();

    let bootstrap = || {
        let mut c =
            g.cmd(["bootstrap", "-s", "stacks/app", "-e", "test", "--github-repo", "acme/app", "--auto-approve"]);
        c.env("TF_VAR_secret", "x");
        c
    };
    bootstrap()
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Adopting the account's GitHub OIDC provider arn:aws:iam::123456789012:oidc-provider/",
        ))
        .stdout(predicate::str::contains(
            "Added environment \"test\" with backend s3://gantry-state-123456789012-us-east-1",
        ));

    let bucket = "gantry-state-123456789012-us-east-1";
    let versioning = block_on(aws.s3.get_bucket_versioning().bucket(bucket).send()).unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));
    block_on(aws.s3.get_bucket_encryption().bucket(bucket).send()).expect("default encryption is set");
    let pab = block_on(aws.s3.get_public_access_block().bucket(bucket).send()).unwrap();
    assert_eq!(pab.public_access_block_configuration().and_then(|c| c.block_public_acls()), Some(true));
    block_on(aws.dynamodb.describe_table().table_name("gantry-locks").send()).expect("lock table exists");
    let providers = block_on(aws.iam.list_open_id_connect_providers().send()).unwrap();
    assert_eq!(providers.open_id_connect_provider_list().len(), 1, "the provider is reused, not duplicated");
    assert_eq!(trust_subject(&aws, "gantry-app-test-apply"), "repo:acme/app:environment:test");
    assert_eq!(trust_subject(&aws, "gantry-app-test-plan"), "repo:acme/app:pull_request");
    let workflow = std::fs::read_to_string(g.path().join(".github/workflows/gantry.yml")).unwrap();
    assert!(workflow.contains("role-to-assume: arn:aws:iam::123456789012:role/gantry-app-test-apply"), "{workflow}");
    assert!(workflow.contains("environment: 'test'"), "{workflow}");

    // Safe to re-run: nothing changes, and it says so.
    let hcl_before = std::fs::read_to_string(g.path().join("stacks/app/gantry.hcl")).unwrap();
    bootstrap()
        .assert()
        .success()
        .stdout(predicate::str::contains("No changes."))
        .stdout(predicate::str::contains("Bootstrap of app/test is up to date: nothing changed."));
    assert_eq!(std::fs::read_to_string(g.path().join("stacks/app/gantry.hcl")).unwrap(), hcl_before);

    // The environment now keeps its state in the bucket.
    let run = |args: &[&str]| {
        let mut c = g.cmd(args);
        c.args(["-s", "stacks/app", "-e", "test", "-var", &g.prefix_var()]).env("TF_VAR_secret", "x");
        c
    };
    run(&["apply", "--auto-approve"]).assert().success();
    block_on(aws.s3.head_object().bucket(bucket).key("app/test.json").send()).expect("state is in S3");
    assert!(!g.state_dir().join("app/test.json").exists(), "no local state file");
    run(&["plan", "--detailed-exitcode"]).assert().code(0);
    run(&["destroy", "--auto-approve"]).assert().success();

    // A second environment in the same account shares the bucket, the lock
    // table and the provider: referred to, neither created twice nor
    // adopted by a second state.
    g.cmd([
        "bootstrap",
        "-s",
        "stacks/app",
        "-e",
        "test2",
        "--github-repo",
        "acme/app",
        "--auto-approve",
        "--no-workflow",
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains(format!(
        "Using the state bucket {bucket}, which gantry stack app-bootstrap (environment test) manages"
    )))
    .stdout(predicate::str::contains(
        "Using the lock table gantry-locks, which gantry stack app-bootstrap (environment test) manages",
    ))
    .stdout(predicate::str::contains("Using the account's GitHub OIDC provider"))
    .stdout(predicate::str::contains("Adopting").not());
    assert_eq!(trust_subject(&aws, "gantry-app-test2-apply"), "repo:acme/app:environment:test2");
    let test2 = g.cmd(["state", "list", "-s", "stacks/app-bootstrap", "-e", "test2"]).output().unwrap();
    let test2 = String::from_utf8_lossy(&test2.stdout);
    for shared in ["aws_s3_bucket.state", "aws_dynamodb_table.locks", "aws_iam_openid_connect_provider.github"] {
        assert!(!test2.contains(shared), "{shared} is in test2's state too:\n{test2}");
    }

    // The bootstrap stack is a stack like any other; its bucket is protected.
    g.cmd(["plan", "-s", "stacks/app-bootstrap", "-e", "test", "--detailed-exitcode"]).assert().code(0);
    g.cmd(["destroy", "-s", "stacks/app-bootstrap", "-e", "test", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Instance cannot be destroyed: aws_s3_bucket.state"));
}

/// An app stack that manages the account's GitHub OIDC provider (or, with
/// `manage_provider = false`, refers to it) and one role trusting it.
const OIDC_APP: &str = r#"
provider "aws" {
  region = "us-east-1"
}

variable "manage_provider" {
  type    = bool
  default = true
}

data "aws_caller_identity" "current" {}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.manage_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

resource "aws_iam_role" "deploy" {
  name = "app-deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/token.actions.githubusercontent.com" }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
          "token.actions.githubusercontent.com:sub" = "repo:acme/app:ref:refs/heads/main"
        }
      }
    }]
  })
  depends_on = [aws_iam_openid_connect_provider.github]
}
"#;

fn bootstrap_cmd(g: &Gantry) -> assert_cmd::Command {
    g.cmd([
        "bootstrap",
        "-s",
        "stacks/app",
        "-e",
        "test",
        "--github-repo",
        "acme/app",
        "--auto-approve",
        "--no-workflow",
    ])
}

/// `gantry ARGS` on the app stack's test environment.
fn app_cmd(g: &Gantry, args: &[&str]) -> assert_cmd::Command {
    let mut c = g.cmd(args);
    c.args(["-s", "stacks/app", "-e", "test"]);
    c
}

/// A destroy of the bootstrap stack's test environment, limited by `targets`.
fn destroy_bootstrap(g: &Gantry, targets: &[&str]) -> assert_cmd::Command {
    let mut c = g.cmd(["destroy", "-s", "stacks/app-bootstrap", "-e", "test", "--auto-approve"]);
    c.args(targets);
    c
}

fn provider_owner(aws: &Aws) -> Option<String> {
    let list = block_on(aws.iam.list_open_id_connect_providers().send()).unwrap();
    assert_eq!(list.open_id_connect_provider_list().len(), 1, "one provider in the account");
    let arn = list.open_id_connect_provider_list()[0].arn().unwrap().to_string();
    let provider = block_on(aws.iam.get_open_id_connect_provider().open_id_connect_provider_arn(&arn).send()).unwrap();
    provider.tags().iter().find(|t| t.key() == "gantry:stack").map(|t| t.value().to_string())
}

/// The app stack made the provider first: bootstrap refers to it, and
/// neither stack's destroy deletes it while the other's roles trust it.
#[test]
fn a_provider_an_app_stack_owns_is_referred_to_by_bootstrap_and_kept_while_trusted() {
    let moto = Moto::start();
    let aws = Aws::for_moto(&moto);
    let g = Gantry::with_moto(&moto);
    g.write("stacks/app/main.tf", OIDC_APP);
    let app = |args: &[&str]| app_cmd(&g, args);
    app(&["apply", "--auto-approve"]).assert().success();
    assert_eq!(provider_owner(&aws).as_deref(), Some("app"));

    bootstrap_cmd(&g)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Using the account's GitHub OIDC provider arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com, which gantry stack app (environment test) manages",
        ))
        .stdout(predicate::str::contains("Adopting").not());
    assert_eq!(provider_owner(&aws).as_deref(), Some("app"), "bootstrap left the provider's owner alone");
    let boot = g.cmd(["state", "list", "-s", "stacks/app-bootstrap", "-e", "test"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&boot.stdout).contains("openid_connect_provider"));

    // The app's destroy would delete a provider the bootstrap roles trust.
    app(&["destroy", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Instance cannot be destroyed: aws_iam_openid_connect_provider.github[0]"))
        .stderr(predicate::str::contains("gantry-app-test-apply"))
        .stderr(predicate::str::contains("gantry-app-test-plan"));
    assert_eq!(provider_owner(&aws).as_deref(), Some("app"), "nothing was deleted");

    // Once the roles that trust it are gone, it can go.
    destroy_bootstrap(&g, &["-target=aws_iam_role.apply", "-target=aws_iam_role.plan"]).assert().success();
    app(&["destroy", "--auto-approve"]).assert().success();
    let list = block_on(aws.iam.list_open_id_connect_providers().send()).unwrap();
    assert!(list.open_id_connect_provider_list().is_empty());
}

/// Bootstrap made the provider first: the app stack cannot take it over (an
/// import is refused, a create finds it taken), refers to it instead, and
/// bootstrap's provider cannot be destroyed while the app's role trusts it.
#[test]
fn a_provider_bootstrap_owns_is_never_adopted_by_an_app_stack() {
    let moto = Moto::start();
    let aws = Aws::for_moto(&moto);
    let g = Gantry::with_moto(&moto);
    g.write("stacks/app/main.tf", OIDC_APP);
    bootstrap_cmd(&g).assert().success();
    assert_eq!(provider_owner(&aws).as_deref(), Some("app-bootstrap"));
    let arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com";
    let app = |args: &[&str]| app_cmd(&g, args);

    app(&["import", "aws_iam_openid_connect_provider.github[0]", arn]).assert().code(1).stderr(
        predicate::str::contains(format!(
            "aws_iam_openid_connect_provider {arn} belongs to gantry stack app-bootstrap (environment test)"
        )),
    );
    app(&["apply", "--auto-approve"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("the account already has an OIDC provider for https://token.actions"));
    assert_eq!(provider_owner(&aws).as_deref(), Some("app-bootstrap"), "the app did not take the provider");

    app(&["apply", "--auto-approve", "-var", "manage_provider=false"]).assert().success();
    destroy_bootstrap(&g, &["-target=aws_iam_openid_connect_provider.github[0]"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Instance cannot be destroyed: aws_iam_openid_connect_provider.github[0]"))
        .stderr(predicate::str::contains("app-deploy"));

    app(&["destroy", "--auto-approve", "-var", "manage_provider=false"]).assert().success();
    destroy_bootstrap(&g, &["-target=aws_iam_openid_connect_provider.github[0]"]).assert().success();
}
