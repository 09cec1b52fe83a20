//! Data sources against moto: each one reads what the emulator has (compared
//! with what the SDK reads, never with hard-coded values), a data source
//! whose arguments wait for a resource is read during apply, and a
//! SecureString read by `data "aws_ssm_parameter"` never leaks.

use std::path::{Path, PathBuf};

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{aws, block_on, Gantry, REGION};

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = g.cmd(args);
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]);
    cmd
}

fn outputs(g: &Gantry, stack: &Path) -> Value {
    let out = g.cmd(["output", "-s"]).arg(stack).args(["-e", "test", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// An output's value, whether `output --json` wraps it in `{"value": ..}` or not.
fn output<'a>(all: &'a Value, name: &str) -> &'a Value {
    let v = &all[name];
    if v.get("value").is_some() && v.get("sensitive").is_some() {
        &v["value"]
    } else {
        v
    }
}

fn stack(g: &Gantry, main_tf: &str) -> PathBuf {
    g.write("s/envs/test.tfvars", "");
    g.write("s/main.tf", format!("variable \"prefix\" {{\n  type = string\n}}\n\n{main_tf}"));
    g.path().join("s")
}

/// Objects for the data sources to find, made with the SDK.
fn seed(p: &str) {
    let aws = aws();
    block_on(async {
        aws.ssm
            .put_parameter()
            .name(format!("/{p}/plain"))
            .value(format!("plain-{p}"))
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;
        aws.iam
            .create_policy()
            .policy_name(format!("{p}-policy"))
            .path("/gantry/")
            .description("seeded")
            .policy_document(doc)
            .send()
            .await
            .unwrap();
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        aws.iam.create_role().role_name(format!("{p}-role")).assume_role_policy_document(trust).send().await.unwrap();
        aws.ecr.create_repository().repository_name(format!("{p}-repo")).send().await.unwrap();
        aws.s3.create_bucket().bucket(format!("{p}-bucket")).send().await.unwrap();
        aws.s3.create_bucket().bucket(format!("{p}-plain-bucket")).send().await.unwrap();
        let index = aws_sdk_s3::types::IndexDocument::builder().suffix("index.html").build().unwrap();
        aws.s3
            .put_bucket_website()
            .bucket(format!("{p}-bucket"))
            .website_configuration(aws_sdk_s3::types::WebsiteConfiguration::builder().index_document(index).build())
            .send()
            .await
            .unwrap();
        aws.iam
            .create_open_id_connect_provider()
            .url(format!("https://{p}.example.com"))
            .client_id_list("sts.amazonaws.com")
            .thumbprint_list("0123456789abcdef0123456789abcdef01234567")
            .send()
            .await
            .unwrap();
        let vpc = default_vpc(&aws).await;
        aws.ec2
            .create_security_group()
            .group_name(format!("{p}-sg"))
            .description(format!("sg of {p}"))
            .vpc_id(&vpc)
            .send()
            .await
            .unwrap();
        // Two images of our own, a second apart (moto's creation dates
        // have whole seconds), for `most_recent`. moto's RegisterImage
        // ignores Architecture and RootDeviceName (it keeps /dev/sda1 and
        // no architecture), so the stack filters on `state` instead.
        for n in 1..=2 {
            if n == 2 {
                tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
            }
            aws.ec2
                .register_image()
                .name(format!("{p}-app-{n}"))
                .root_device_name("/dev/xvda")
                .architecture(aws_sdk_ec2::types::ArchitectureValues::X8664)
                .send()
                .await
                .unwrap();
        }
    });
}

async fn default_vpc(aws: &crate::support::Aws) -> String {
    let out = aws
        .ec2
        .describe_vpcs()
        .filters(aws_sdk_ec2::types::Filter::builder().name("isDefault").values("true").build())
        .send()
        .await
        .unwrap();
    out.vpcs()[0].vpc_id().unwrap().to_string()
}

const ALL: &str = r#"
data "aws_caller_identity" "me" {}
data "aws_region" "here" {}
data "aws_partition" "p" {}
data "aws_canonical_user_id" "me" {}
data "aws_availability_zones" "available" {
  state = "available"
}
data "aws_vpc" "default" {
  default = true
}
data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}
data "aws_security_group" "sg" {
  name   = "${var.prefix}-sg"
  vpc_id = data.aws_vpc.default.id
}
data "aws_ami" "app" {
  owners      = ["self"]
  most_recent = true
  name_regex  = "^${var.prefix}-app-"
  filter {
    name   = "state"
    values = ["available"]
  }
}
data "aws_ssm_parameter" "plain" {
  name = "/${var.prefix}/plain"
}
data "aws_iam_policy" "seeded" {
  name = "${var.prefix}-policy"
}
data "aws_iam_role" "seeded" {
  name = "${var.prefix}-role"
}
data "aws_ecr_repository" "repo" {
  name = "${var.prefix}-repo"
}
data "aws_s3_bucket" "b" {
  bucket = "${var.prefix}-bucket"
}
data "aws_s3_bucket" "not_a_website" {
  bucket = "${var.prefix}-plain-bucket"
}
data "aws_iam_openid_connect_provider" "gh" {
  url = "https://${var.prefix}.example.com"
}
data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "made" {
  name               = "${var.prefix}-made"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

output "account_id" { value = data.aws_caller_identity.me.account_id }
output "region" { value = data.aws_region.here.name }
output "region_endpoint" { value = data.aws_region.here.endpoint }
output "partition" { value = data.aws_partition.p.partition }
output "dns_suffix" { value = data.aws_partition.p.dns_suffix }
output "canonical_user_id" { value = data.aws_canonical_user_id.me.id }
output "az_names" { value = data.aws_availability_zones.available.names }
output "az_ids" { value = data.aws_availability_zones.available.zone_ids }
output "vpc_id" { value = data.aws_vpc.default.id }
output "vpc_cidr" { value = data.aws_vpc.default.cidr_block }
output "vpc_arn" { value = data.aws_vpc.default.arn }
output "vpc_dns_support" { value = data.aws_vpc.default.enable_dns_support }
output "vpc_main_route_table" { value = data.aws_vpc.default.main_route_table_id }
output "subnet_ids" { value = data.aws_subnets.default.ids }
output "sg_id" { value = data.aws_security_group.sg.id }
output "sg_description" { value = data.aws_security_group.sg.description }
output "ami_id" { value = data.aws_ami.app.id }
output "ami_name" { value = data.aws_ami.app.name }
output "ami_arn" { value = data.aws_ami.app.arn }
output "ami_root" { value = data.aws_ami.app.root_device_name }
output "plain_insecure" { value = data.aws_ssm_parameter.plain.insecure_value }
output "plain_version" { value = data.aws_ssm_parameter.plain.version }
output "plain_type" { value = data.aws_ssm_parameter.plain.type }
output "policy_arn" { value = data.aws_iam_policy.seeded.arn }
output "policy_path" { value = data.aws_iam_policy.seeded.path }
output "policy_doc" { value = data.aws_iam_policy.seeded.policy }
output "role_arn" { value = data.aws_iam_role.seeded.arn }
output "role_unique_id" { value = data.aws_iam_role.seeded.unique_id }
output "role_trust" { value = data.aws_iam_role.seeded.assume_role_policy }
output "repo_url" { value = data.aws_ecr_repository.repo.repository_url }
output "repo_registry" { value = data.aws_ecr_repository.repo.registry_id }
output "bucket_arn" { value = data.aws_s3_bucket.b.arn }
output "bucket_region" { value = data.aws_s3_bucket.b.region }
output "bucket_regional_domain_name" { value = data.aws_s3_bucket.b.bucket_regional_domain_name }
output "bucket_website_endpoint" { value = data.aws_s3_bucket.b.website_endpoint }
output "plain_bucket_website_endpoint" { value = data.aws_s3_bucket.not_a_website.website_endpoint }
output "oidc_arn" { value = data.aws_iam_openid_connect_provider.gh.arn }
output "oidc_clients" { value = data.aws_iam_openid_connect_provider.gh.client_id_list }
output "oidc_thumbprints" { value = data.aws_iam_openid_connect_provider.gh.thumbprint_list }
output "trust_json" { value = data.aws_iam_policy_document.trust.json }
"#;

#[test]
fn every_data_source_reads_what_the_emulator_has() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    seed(&p);
    let stack = stack(&g, ALL);

    run(&g, &stack, &["plan"]).assert().success().stdout(predicate::str::contains("aws_iam_role.made will be created"));
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let out = outputs(&g, &stack);
    let o = |name: &str| output(&out, name).clone();
    let s = |name: &str| o(name).as_str().unwrap_or_else(|| panic!("{name}: {out}")).to_string();
    let list = |name: &str| -> Vec<String> {
        o(name)
            .as_array()
            .unwrap_or_else(|| panic!("{name}: {out}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };

    let aws = aws();
    block_on(async {
        let me = aws.sts.get_caller_identity().send().await.unwrap();
        assert_eq!(s("account_id"), me.account().unwrap());

        assert_eq!(s("region"), REGION);
        assert_eq!(s("region_endpoint"), format!("ec2.{REGION}.amazonaws.com"));
        assert_eq!(s("partition"), "aws");
        assert_eq!(s("dns_suffix"), "amazonaws.com");

        let buckets = aws.s3.list_buckets().send().await.unwrap();
        assert_eq!(s("canonical_user_id"), buckets.owner().unwrap().id().unwrap());

        let zones = aws.ec2.describe_availability_zones().send().await.unwrap();
        let mut names: Vec<String> =
            zones.availability_zones().iter().map(|z| z.zone_name().unwrap().to_string()).collect();
        names.sort();
        assert!(!names.is_empty());
        assert_eq!(list("az_names"), names);
        assert_eq!(list("az_ids").len(), names.len());

        let vpc = default_vpc(&aws).await;
        assert_eq!(s("vpc_id"), vpc);
        let vpcs = aws.ec2.describe_vpcs().vpc_ids(&vpc).send().await.unwrap();
        let v = &vpcs.vpcs()[0];
        assert_eq!(s("vpc_cidr"), v.cidr_block().unwrap());
        assert_eq!(s("vpc_arn"), format!("arn:aws:ec2:{REGION}:{}:vpc/{vpc}", v.owner_id().unwrap()));
        let dns = aws
            .ec2
            .describe_vpc_attribute()
            .vpc_id(&vpc)
            .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport)
            .send()
            .await
            .unwrap();
        assert_eq!(o("vpc_dns_support").as_bool(), dns.enable_dns_support().and_then(|v| v.value()));
        let tables = aws
            .ec2
            .describe_route_tables()
            .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&vpc).build())
            .filters(aws_sdk_ec2::types::Filter::builder().name("association.main").values("true").build())
            .send()
            .await
            .unwrap();
        assert_eq!(s("vpc_main_route_table"), tables.route_tables()[0].route_table_id().unwrap());

        let subnets = aws
            .ec2
            .describe_subnets()
            .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&vpc).build())
            .send()
            .await
            .unwrap();
        let mut want: Vec<String> = subnets.subnets().iter().map(|s| s.subnet_id().unwrap().to_string()).collect();
        let mut got = list("subnet_ids");
        want.sort();
        got.sort();
        assert!(!want.is_empty());
        assert_eq!(got, want);

        let groups = aws
            .ec2
            .describe_security_groups()
            .filters(aws_sdk_ec2::types::Filter::builder().name("group-name").values(format!("{p}-sg")).build())
            .send()
            .await
            .unwrap();
        assert_eq!(s("sg_id"), groups.security_groups()[0].group_id().unwrap());
        assert_eq!(s("sg_description"), format!("sg of {p}"));

        // most_recent: the second of the two images registered.
        let images = aws
            .ec2
            .describe_images()
            .owners("self")
            .filters(aws_sdk_ec2::types::Filter::builder().name("name").values(format!("{p}-app-2")).build())
            .send()
            .await
            .unwrap();
        let newest = images.images()[0].image_id().unwrap().to_string();
        assert_eq!(s("ami_id"), newest);
        assert_eq!(s("ami_name"), format!("{p}-app-2"));
        assert_eq!(s("ami_arn"), format!("arn:aws:ec2:{REGION}::image/{newest}"));
        assert_eq!(s("ami_root"), images.images()[0].root_device_name().unwrap());

        assert_eq!(s("plain_insecure"), format!("plain-{p}"));
        assert_eq!(s("plain_type"), "String");
        assert_eq!(o("plain_version").as_f64(), Some(1.0));

        let policies = aws.iam.list_policies().path_prefix("/gantry/").send().await.unwrap();
        let policy = policies.policies().iter().find(|x| x.policy_name() == Some(&format!("{p}-policy"))).unwrap();
        assert_eq!(s("policy_arn"), policy.arn().unwrap());
        assert_eq!(s("policy_path"), "/gantry/");
        let doc: Value = serde_json::from_str(&s("policy_doc")).unwrap();
        assert_eq!(doc["Statement"][0]["Action"], "s3:ListAllMyBuckets");

        let role = aws.iam.get_role().role_name(format!("{p}-role")).send().await.unwrap();
        let role = role.role().unwrap();
        assert_eq!(s("role_arn"), role.arn());
        assert_eq!(s("role_unique_id"), role.role_id());
        let trust: Value = serde_json::from_str(&s("role_trust")).unwrap();
        assert_eq!(trust["Statement"][0]["Principal"]["Service"], "ec2.amazonaws.com");

        let repos = aws.ecr.describe_repositories().repository_names(format!("{p}-repo")).send().await.unwrap();
        let repo = &repos.repositories()[0];
        assert_eq!(s("repo_url"), repo.repository_uri().unwrap());
        assert_eq!(s("repo_registry"), repo.registry_id().unwrap());

        assert_eq!(s("bucket_arn"), format!("arn:aws:s3:::{p}-bucket"));
        assert_eq!(s("bucket_region"), REGION);
        assert_eq!(s("bucket_regional_domain_name"), format!("{p}-bucket.s3.{REGION}.amazonaws.com"));
        assert_eq!(s("bucket_website_endpoint"), format!("{p}-bucket.s3-website-{REGION}.amazonaws.com"));
        assert!(o("plain_bucket_website_endpoint").is_null(), "{out}");

        let providers = aws.iam.list_open_id_connect_providers().send().await.unwrap();
        let mut found = None;
        for arn in providers.open_id_connect_provider_list().iter().filter_map(|x| x.arn()) {
            let got = aws.iam.get_open_id_connect_provider().open_id_connect_provider_arn(arn).send().await.unwrap();
            if got.url().map(|u| u.trim_start_matches("https://")) == Some(&format!("{p}.example.com")) {
                found = Some(arn.to_string());
            }
        }
        assert_eq!(Some(s("oidc_arn")), found);
        assert_eq!(list("oidc_clients"), ["sts.amazonaws.com"]);
        assert_eq!(list("oidc_thumbprints"), ["0123456789abcdef0123456789abcdef01234567"]);

        // The role made from the document holds the document.
        let made = aws.iam.get_role().role_name(format!("{p}-made")).send().await.unwrap();
        let stored = made.role().unwrap().assume_role_policy_document().unwrap().to_string();
        let stored = percent_decode(&stored);
        assert_eq!(
            serde_json::from_str::<Value>(&stored).unwrap(),
            serde_json::from_str::<Value>(&s("trust_json")).unwrap()
        );
    });

    // Read again on the next plan, nothing changed.
    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0);
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

fn percent_decode(s: &str) -> String {
    if s.trim_start().starts_with('{') {
        return s.to_string();
    }
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A data source whose arguments come from a resource not created yet is
/// unknown at plan and read during apply, once the resource exists.
#[test]
fn data_source_waiting_for_a_resource_is_read_at_apply() {
    let g = Gantry::new();
    let stack = stack(
        &g,
        r#"
resource "aws_security_group" "sg" {
  name        = "${var.prefix}-later"
  description = "made by the same apply"
}

data "aws_security_group" "later" {
  id = aws_security_group.sg.id
}

data "aws_iam_policy_document" "read_sg" {
  statement {
    actions   = ["ec2:DescribeSecurityGroups"]
    resources = [data.aws_security_group.later.arn]
  }
}

output "description" { value = data.aws_security_group.later.description }
output "policy" { value = data.aws_iam_policy_document.read_sg.minified_json }
"#,
    );
    run(&g, &stack, &["plan"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aws_security_group.sg will be created"))
        .stdout(predicate::str::is_match(r"description += \(known after apply\)").unwrap());
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let out = outputs(&g, &stack);
    assert_eq!(output(&out, "description"), "made by the same apply");
    let policy: Value = serde_json::from_str(output(&out, "policy").as_str().unwrap()).unwrap();
    let arn = policy["Statement"][0]["Resource"].as_str().unwrap();
    assert!(arn.starts_with(&format!("arn:aws:ec2:{REGION}:")) && arn.contains(":security-group/sg-"), "{arn}");
    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0);
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

/// `aws_iam_policy_document` makes no call: a plan of documents alone works
/// with an endpoint nothing answers on, and shows the JSON at plan time.
#[test]
fn policy_documents_are_computed_offline_at_plan_time() {
    let g = Gantry::offline();
    let stack = stack(
        &g,
        r#"
data "aws_iam_policy_document" "d" {
  statement {
    sid     = "Read"
    actions = ["s3:GetObject", "s3:ListBucket"]
    resources = ["arn:aws:s3:::${var.prefix}/*"]
  }
}

output "doc" { value = data.aws_iam_policy_document.d.minified_json }
"#,
    );
    let p = g.prefix().to_string();
    run(&g, &stack, &["plan", "--json"]).assert().success().stdout(predicate::str::contains(format!(
        r#"{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Sid\":\"Read\",\"Effect\":\"Allow\",\"Action\":[\"s3:ListBucket\",\"s3:GetObject\"],\"Resource\":\"arn:aws:s3:::{p}/*\"}}]}}"#
    )));
}

/// Searches that find nothing fail with the provider's words and the data
/// source's address; nothing is applied.
#[test]
fn a_search_that_finds_nothing_names_the_data_source() {
    let g = Gantry::new();
    let stack = stack(
        &g,
        r#"
data "aws_ami" "none" {
  owners = ["self"]
  filter {
    name   = "name"
    values = ["${var.prefix}-no-such-image"]
  }
}

data "aws_vpc" "none" {
  filter {
    name   = "tag:Name"
    values = ["${var.prefix}-no-such-vpc"]
  }
}

data "aws_security_group" "gone" {
  id = "sg-00000000000dead00"
}
"#,
    );
    run(&g, &stack, &["plan"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("data.aws_ami.none"))
        .stderr(predicate::str::contains("Your query returned no results"))
        .stderr(predicate::str::contains("data.aws_vpc.none"))
        .stderr(predicate::str::contains("no matching EC2 VPC found"))
        .stderr(predicate::str::contains("data.aws_security_group.gone"))
        .stderr(predicate::str::contains("no matching EC2 Security Group found"));
}

/// moto gives every built-in image the owner alias "amazon", so
/// `owners = ["amazon"]` also finds Canonical's Ubuntu images there (on AWS
/// it would not). This pins that emulator behaviour, so the other AMI tests
/// stay on images of their own.
#[test]
fn moto_counts_every_builtin_image_as_amazons() {
    let g = Gantry::new();
    let stack = stack(
        &g,
        r#"
data "aws_ami" "ubuntu" {
  owners      = ["amazon"]
  most_recent = true
  name_regex  = "^ubuntu/images/hvm-ssd/ubuntu-xenial-16\\.04-amd64-server-"
}

output "owner" { value = data.aws_ami.ubuntu.owner_id }
"#,
    );
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    // Canonical's account, not Amazon's.
    assert_eq!(output(&outputs(&g, &stack), "owner"), "099720109477");
}

const CANARY: &str = "canary-data-5e1f-do-not-print";

/// A SecureString read by a data source: its value reaches AWS again (copied
/// into another parameter) but never stdout, stderr at trace level, or state.
#[test]
fn secure_string_value_never_leaks() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    block_on(
        aws()
            .ssm
            .put_parameter()
            .name(format!("/{p}/secret"))
            .value(CANARY)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send(),
    )
    .unwrap();
    let stack = stack(
        &g,
        r#"
data "aws_ssm_parameter" "secret" {
  name = "/${var.prefix}/secret"
}

resource "aws_ssm_parameter" "copy" {
  name  = "/${var.prefix}/copy"
  type  = "SecureString"
  value = data.aws_ssm_parameter.secret.value
}

output "secret" {
  value     = data.aws_ssm_parameter.secret.value
  sensitive = true
}
output "insecure" { value = data.aws_ssm_parameter.secret.insecure_value }
output "type" { value = data.aws_ssm_parameter.secret.type }
"#,
    );
    for args in [&["plan"][..], &["plan", "--json"][..], &["apply", "--auto-approve"][..], &["output", "--json"][..]] {
        let out = g
            .cmd(args)
            .arg("-s")
            .arg(&stack)
            .args(["-e", "test"])
            .args(if args[0] == "output" { vec![] } else { vec!["-var".to_string(), g.prefix_var()] })
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        if args[0] == "plan" {
            // Logging was on (a canary check on a silent log could not
            // fail); the SDK's own targets, which log bodies, are off.
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(log.contains("INFO") && log.contains("plan finished"), "{args:?} logged nothing:\n{log}");
            assert!(!log.contains("aws_sdk_") && !log.contains("aws_smithy"), "{args:?} logged SDK events:\n{log}");
        }
        for (what, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(CANARY), "the secret leaked into the {what} of {args:?}:\n{text}");
        }
        if args[0] == "output" {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(output(&v, "insecure").is_null(), "no insecure_value for a SecureString: {v}");
            assert_eq!(output(&v, "type"), "SecureString");
        }
    }
    for entry in walk(&g.state_dir()) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        assert!(!text.contains(CANARY), "the secret leaked into {}", entry.display());
    }
    let copied = block_on(aws().ssm.get_parameter().name(format!("/{p}/copy")).with_decryption(true).send()).unwrap();
    assert_eq!(copied.parameter().and_then(|x| x.value()), Some(CANARY), "the value did flow to AWS");
    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A role Terraform created from an `aws_iam_policy_document` (its trust
/// policy is the provider's recorded output for the same block) and then
/// imported plans with no change: gantry computes the same document.
#[test]
fn a_role_terraform_made_from_a_document_plans_no_change() {
    let g = Gantry::new();
    let p = g.prefix().to_string();
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::support::repo_root().join("tests/fixtures/policy_documents/expected.json"))
            .unwrap(),
    )
    .unwrap();
    let terraform_json = recorded["github_oidc_trust"]["json"].as_str().unwrap();
    block_on(aws().iam.create_role().role_name(format!("{p}-ci")).assume_role_policy_document(terraform_json).send())
        .unwrap();
    // The same block as the fixture case "github_oidc_trust".
    let stack = stack(
        &g,
        r#"
data "aws_iam_policy_document" "trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:octo/app:ref:refs/heads/main", "repo:octo/app:environment:prod"]
    }
  }
}

resource "aws_iam_role" "ci" {
  name               = "${var.prefix}-ci"
  assume_role_policy = data.aws_iam_policy_document.trust.json
}

output "same_bytes" { value = data.aws_iam_policy_document.trust.json == file("${path.module}/terraform.json") }
"#,
    );
    g.write("s/terraform.json", terraform_json);
    run(&g, &stack, &["import", "aws_iam_role.ci", &format!("{p}-ci")]).assert().success();
    // Only the new output is a change, and it says the document, known at
    // plan time, has Terraform's very bytes.
    run(&g, &stack, &["plan", "--detailed-exitcode"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("+ same_bytes = true"))
        .stdout(predicate::str::contains("no infrastructure changes"))
        .stdout(predicate::str::contains("aws_iam_role.ci").not());
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}
