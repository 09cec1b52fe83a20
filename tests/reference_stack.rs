//! The whole reference stack from an empty account: apply, a plan with no
//! changes, a one-statement policy change planned as exactly one readable
//! update, an AMI change planned as a replace, and a destroy that leaves no
//! gantry-tagged resource behind. It runs on an emulator of its own: the
//! GitHub OIDC provider is one per account.

use std::path::PathBuf;

use predicates::prelude::*;

use crate::support::{block_on, copy_dir, repo_root, Aws, Gantry, Moto};

const SECRET: &str = "reference-stack-session-secret-0123456789";

struct Env {
    g: Gantry,
    stack: PathBuf,
}

impl Env {
    fn run(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.g.cmd(args);
        cmd.arg("-s")
            .arg(&self.stack)
            .args(["-e", "local", "-var", &format!("name_prefix={}", self.g.prefix())])
            .env("TF_VAR_session_secret", SECRET);
        cmd
    }
}

fn second_ami(aws: &Aws, not: &str) -> String {
    let images = block_on(aws.ec2.describe_images().send()).expect("DescribeImages");
    images
        .images()
        .iter()
        .filter_map(|i| i.image_id())
        .find(|id| *id != not)
        .expect("moto knows more than one image")
        .to_string()
}

fn gantry_tagged(aws: &Aws, stack: &str) -> Vec<String> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let out = block_on(
        aws.tagging.get_resources().tag_filters(TagFilter::builder().key("gantry:stack").values(stack).build()).send(),
    )
    .expect("GetResources");
    // Terminated instances stay listed for a while (on AWS too); the test
    // checks their state separately.
    out.resource_tag_mapping_list()
        .iter()
        .filter_map(|m| m.resource_arn().map(str::to_string))
        .filter(|arn| !arn.contains(":instance/"))
        .collect()
}

#[test]
fn reference_stack_from_empty_account_and_back() {
    let moto = Moto::start();
    let aws = Aws::for_moto(&moto);
    let g = Gantry::with_moto(&moto);
    let stack = g.path().join("vaultsphere");
    copy_dir(&repo_root().join("stacks/vaultsphere"), &stack).unwrap();
    let env = Env { g, stack };

    env.run(&["validate"]).assert().success();
    env.run(&["apply", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Apply complete! Resources: 22 added, 0 changed, 0 destroyed."));
    let before = moto.requests();
    env.run(&["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes."));
    eprintln!("no-op plan of the reference stack: {} API calls", moto.requests() - before);

    // One more action in one statement: exactly one update, shown as a line diff.
    let iam = env.stack.join("iam.tf");
    let text = std::fs::read_to_string(&iam).unwrap();
    std::fs::write(
        &iam,
        text.replace("\"ecr:DescribeImages\",", "\"ecr:DescribeImages\",\n          \"ecr:ListImages\","),
    )
    .unwrap();
    env.run(&["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Plan: 0 to add, 1 to change, 0 to destroy."))
        .stdout(predicate::str::contains("aws_iam_role_policy.ci_push will be updated in-place"))
        .stdout(predicate::str::is_match(r#"(?m)^ +\+ +"ecr:ListImages",$"#).unwrap());
    env.run(&["apply", "--auto-approve"]).assert().success();
    env.run(&["plan", "--detailed-exitcode"]).assert().code(0);

    // A new AMI replaces the instance.
    let current = std::fs::read_to_string(env.stack.join("envs/local.tfvars")).unwrap();
    let ami = current.lines().find_map(|l| l.strip_prefix("ami = ")).unwrap().trim_matches('"').to_string();
    let other = second_ami(&aws, &ami);
    env.run(&["plan", "-var", &format!("ami={other}")])
        .assert()
        .success()
        .stdout(predicate::str::contains("module.app_host.aws_instance.this must be replaced"))
        .stdout(predicate::str::contains("# forces replacement"));

    env.run(&["destroy", "--auto-approve"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Destroy complete! Resources: 22 destroyed."));
    assert_eq!(gantry_tagged(&aws, "vaultsphere"), Vec::<String>::new(), "nothing gantry-tagged is left");
    let roles = block_on(aws.iam.list_roles().send()).unwrap();
    assert!(!roles.roles().iter().any(|r| r.role_name().starts_with(env.g.prefix())), "roles are gone");
    let providers = block_on(aws.iam.list_open_id_connect_providers().send()).unwrap();
    assert!(providers.open_id_connect_provider_list().is_empty(), "the OIDC provider is gone");
    let instances = block_on(aws.ec2.describe_instances().send()).unwrap();
    for r in instances.reservations() {
        for i in r.instances() {
            let state = i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string());
            assert_eq!(state.as_deref(), Some("terminated"), "instance {:?} is terminated", i.instance_id());
        }
    }
}
