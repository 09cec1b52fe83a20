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
        .stdout(predicate::str::contains("Adopting the account's existing GitHub OIDC provider"))
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

    // A second environment in the same account shares the bucket and the
    // lock table: adopted, not created twice.
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
    .stdout(predicate::str::contains("Adopting the existing state bucket"))
    .stdout(predicate::str::contains("Adopting the existing lock table"));
    assert_eq!(trust_subject(&aws, "gantry-app-test2-apply"), "repo:acme/app:environment:test2");

    // The bootstrap stack is a stack like any other; its bucket is protected.
    g.cmd(["plan", "-s", "stacks/app-bootstrap", "-e", "test", "--detailed-exitcode"]).assert().code(0);
    g.cmd(["destroy", "-s", "stacks/app-bootstrap", "-e", "test", "--auto-approve"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Instance cannot be destroyed: aws_s3_bucket.state"));
}
