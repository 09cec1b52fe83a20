//! The bucket sub-resources real stacks put next to `aws_s3_bucket`:
//! policy, ownership controls, ACL, lifecycle, logging, CORS, website. For
//! each: apply creates it and moto holds it, a second plan is clean, a change
//! made behind gantry's back shows as drift and is put back, a changed
//! configuration updates in place, `import` adopts it, destroy removes it.
//! Where moto cannot keep an argument, the test says so by name.

use std::path::PathBuf;

use predicates::prelude::*;

use crate::support::{aws, block_on, Gantry};

/// One test's stack in the folder `s`, driven with this test's prefix.
pub struct Case {
    pub g: Gantry,
}

impl Case {
    pub fn new(main_tf: &str) -> Case {
        let case = Case { g: Gantry::new() };
        case.write(main_tf);
        case
    }

    pub fn p(&self) -> &str {
        self.g.prefix()
    }

    pub fn write(&self, main_tf: &str) -> PathBuf {
        self.g.write("s/main.tf", format!("variable \"prefix\" {{\n  type = string\n}}\n\n{main_tf}"))
    }

    pub fn run(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.g.cmd(args);
        cmd.args(["-s", "s", "-var", &self.g.prefix_var()]);
        cmd
    }

    pub fn apply(&self) {
        self.run(&["apply", "--auto-approve"]).assert().success();
    }

    /// A plan finds nothing to change, and no drift either (what apply
    /// recorded is what a read finds).
    pub fn no_changes(&self) {
        self.run(&["plan", "--detailed-exitcode"])
            .assert()
            .code(0)
            .stdout(predicate::str::contains("No changes."))
            .stdout(predicate::str::contains("changed outside").not());
    }

    /// A plan reports drift on `addr` (mentioning `shown`) and plans to put it back.
    pub fn drift(&self, addr: &str, shown: &str) {
        self.run(&["plan", "--detailed-exitcode"])
            .assert()
            .code(2)
            .stdout(predicate::str::contains("Objects have changed outside of gantry"))
            .stdout(predicate::str::contains(format!("{addr} will be updated in-place")))
            .stdout(predicate::str::contains(shown));
    }

    pub fn updates(&self, addr: &str) {
        self.run(&["plan", "--detailed-exitcode"])
            .assert()
            .code(2)
            .stdout(predicate::str::contains(format!("{addr} will be updated in-place")))
            .stdout(predicate::str::contains("0 to add, 1 to change, 0 to destroy"));
        self.apply();
    }

    /// Forgets `addr`, imports it back by `id`, and finds nothing to change.
    pub fn reimport(&self, addr: &str, id: &str) {
        self.g.cmd(["state", "rm", addr, "-s", "s"]).assert().success();
        self.run(&["import", addr, id]).assert().success().stdout(predicate::str::contains(format!("Imported {addr}")));
        self.no_changes();
    }

    /// Applies `main_tf`, which lacks one resource of the stack: it is destroyed.
    pub fn remove(&self, main_tf: &str) {
        self.write(main_tf);
        self.run(&["apply", "--auto-approve"])
            .assert()
            .success()
            .stdout(predicate::str::contains("0 changed, 1 destroyed"));
    }

    pub fn destroy(&self) {
        self.run(&["destroy", "--auto-approve"]).assert().success();
    }
}

fn error_code<E: aws_sdk_s3::error::ProvideErrorMetadata, R>(
    result: Result<R, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Option<String>
where
    aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>: aws_sdk_s3::error::ProvideErrorMetadata,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    result.err().and_then(|e| e.code().map(str::to_string))
}

fn bucket(name: &str) -> String {
    format!("resource \"aws_s3_bucket\" \"b\" {{\n  bucket = \"${{var.prefix}}-{name}\"\n}}\n\n")
}

fn policy_stack(action: &str) -> String {
    format!(
        r#"{}resource "aws_s3_bucket_policy" "b" {{
  bucket = aws_s3_bucket.b.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Sid       = "Read"
      Effect    = "Allow"
      Principal = {{ AWS = "arn:aws:iam::123456789012:root" }}
      Action    = "{action}"
      Resource  = "${{aws_s3_bucket.b.arn}}/*"
    }}]
  }})
}}
"#,
        bucket("policy")
    )
}

fn live_policy(bucket: &str) -> Option<String> {
    block_on(aws().s3.get_bucket_policy().bucket(bucket).send()).ok().and_then(|o| o.policy().map(str::to_string))
}

#[test]
fn bucket_policy() {
    let case = Case::new(&policy_stack("s3:GetObject"));
    let name = format!("{}-policy", case.p());
    case.apply();
    assert!(live_policy(&name).is_some_and(|p| p.contains("s3:GetObject")));
    case.no_changes();

    let by_hand = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Read","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::123456789012:root"}},"Action":"s3:ListBucket","Resource":"arn:aws:s3:::{name}"}}]}}"#
    );
    block_on(aws().s3.put_bucket_policy().bucket(&name).policy(by_hand).send()).unwrap();
    case.drift("aws_s3_bucket_policy.b", "s3:ListBucket");
    case.apply();
    assert!(live_policy(&name).is_some_and(|p| p.contains("s3:GetObject")));

    case.write(&policy_stack("s3:GetObjectVersion"));
    case.updates("aws_s3_bucket_policy.b");
    assert!(live_policy(&name).is_some_and(|p| p.contains("s3:GetObjectVersion")));

    case.reimport("aws_s3_bucket_policy.b", &name);
    case.remove(&bucket("policy"));
    let gone = block_on(aws().s3.get_bucket_policy().bucket(&name).send());
    assert_eq!(error_code(gone).as_deref(), Some("NoSuchBucketPolicy"));
    case.destroy();
}

fn ownership_stack(ownership: &str) -> String {
    format!(
        "{}resource \"aws_s3_bucket_ownership_controls\" \"b\" {{\n  bucket = aws_s3_bucket.b.id\n  rule {{\n    object_ownership = \"{ownership}\"\n  }}\n}}\n",
        bucket("owner")
    )
}

fn live_ownership(bucket: &str) -> Option<String> {
    let out = block_on(aws().s3.get_bucket_ownership_controls().bucket(bucket).send()).ok()?;
    out.ownership_controls()?.rules().first().map(|r| r.object_ownership().as_str().to_string())
}

#[test]
fn bucket_ownership_controls() {
    use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
    let case = Case::new(&ownership_stack("BucketOwnerPreferred"));
    let name = format!("{}-owner", case.p());
    case.apply();
    assert_eq!(live_ownership(&name).as_deref(), Some("BucketOwnerPreferred"));
    case.no_changes();

    let rule = OwnershipControlsRule::builder().object_ownership(ObjectOwnership::ObjectWriter).build().unwrap();
    let controls = OwnershipControls::builder().rules(rule).build().unwrap();
    block_on(aws().s3.put_bucket_ownership_controls().bucket(&name).ownership_controls(controls).send()).unwrap();
    case.drift("aws_s3_bucket_ownership_controls.b", "ObjectWriter");
    case.apply();
    assert_eq!(live_ownership(&name).as_deref(), Some("BucketOwnerPreferred"));

    case.write(&ownership_stack("BucketOwnerEnforced"));
    case.updates("aws_s3_bucket_ownership_controls.b");
    assert_eq!(live_ownership(&name).as_deref(), Some("BucketOwnerEnforced"));

    case.reimport("aws_s3_bucket_ownership_controls.b", &name);
    case.remove(&bucket("owner"));
    let gone = block_on(aws().s3.get_bucket_ownership_controls().bucket(&name).send());
    assert_eq!(error_code(gone).as_deref(), Some("OwnershipControlsNotFoundError"));
    case.destroy();
}

fn acl_stack(acl: &str) -> String {
    format!("{}resource \"aws_s3_bucket_acl\" \"b\" {{\n  bucket = aws_s3_bucket.b.id\n  {acl}\n}}\n", bucket("acl"))
}

/// The bucket's grants other than the owner's, as (group URI or id, permission).
fn extra_grants(bucket: &str) -> Vec<(String, String)> {
    let out = block_on(aws().s3.get_bucket_acl().bucket(bucket).send()).unwrap();
    let owner = out.owner().and_then(|o| o.id()).unwrap_or_default().to_string();
    let mut grants: Vec<(String, String)> = out
        .grants()
        .iter()
        .filter_map(|g| {
            let grantee = g.grantee()?;
            let who = grantee.uri().or(grantee.id())?.to_string();
            let what = g.permission()?.as_str().to_string();
            (!(who == owner && what == "FULL_CONTROL")).then_some((who, what))
        })
        .collect();
    grants.sort();
    grants
}

#[test]
fn bucket_acl() {
    use aws_sdk_s3::types::BucketCannedAcl;
    const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
    const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
    let case = Case::new(&acl_stack("acl = \"private\""));
    let name = format!("{}-acl", case.p());
    case.apply();
    assert_eq!(extra_grants(&name), vec![]);
    case.no_changes();

    block_on(aws().s3.put_bucket_acl().bucket(&name).acl(BucketCannedAcl::PublicRead).send()).unwrap();
    case.drift("aws_s3_bucket_acl.b", "\"public-read\"");
    case.apply();
    assert_eq!(extra_grants(&name), vec![]);

    case.write(&acl_stack("acl = \"authenticated-read\""));
    case.updates("aws_s3_bucket_acl.b");
    assert_eq!(extra_grants(&name), vec![(AUTHENTICATED.to_string(), "READ".to_string())]);
    case.reimport("aws_s3_bucket_acl.b", &format!("{name},authenticated-read"));

    // A full access control policy instead of a canned ACL.
    let owner = block_on(aws().s3.get_bucket_acl().bucket(&name).send())
        .unwrap()
        .owner()
        .and_then(|o| o.id())
        .unwrap()
        .to_string();
    let policy = format!(
        r#"access_control_policy {{
    owner {{
      id = "{owner}"
    }}
    grant {{
      permission = "FULL_CONTROL"
      grantee {{
        type = "CanonicalUser"
        id   = "{owner}"
      }}
    }}
    grant {{
      permission = "READ"
      grantee {{
        type = "Group"
        uri  = "{ALL_USERS}"
      }}
    }}
  }}"#
    );
    case.write(&acl_stack(&policy));
    case.updates("aws_s3_bucket_acl.b");
    assert_eq!(extra_grants(&name), vec![(ALL_USERS.to_string(), "READ".to_string())]);
    case.no_changes();
    block_on(aws().s3.put_bucket_acl().bucket(&name).acl(BucketCannedAcl::Private).send()).unwrap();
    case.drift("aws_s3_bucket_acl.b", ALL_USERS);
    case.apply();
    assert_eq!(extra_grants(&name), vec![(ALL_USERS.to_string(), "READ".to_string())]);

    // Like the provider, destroy only forgets an ACL: S3 has no call that
    // removes one.
    case.remove(&bucket("acl"));
    assert_eq!(extra_grants(&name), vec![(ALL_USERS.to_string(), "READ".to_string())]);
    case.destroy();
}

/// The last rule has no `filter` at first; the second version says
/// `filter {}` (the same to S3), which also keeps a re-import clean.
fn lifecycle_stack(days: u32) -> String {
    let later_filter = if days == 30 { "" } else { "\n    filter {}" };
    format!(
        r#"{}resource "aws_s3_bucket_lifecycle_configuration" "b" {{
  bucket = aws_s3_bucket.b.id

  rule {{
    id     = "expire-logs"
    status = "Enabled"
    filter {{
      prefix = "logs/"
    }}
    expiration {{
      days = {days}
    }}
  }}

  rule {{
    id     = "tmp"
    status = "Enabled"
    filter {{
      tag {{
        key   = "temporary"
        value = "yes"
      }}
    }}
    abort_incomplete_multipart_upload {{
      days_after_initiation = 7
    }}
    noncurrent_version_expiration {{
      noncurrent_days = 40
    }}
  }}

  rule {{
    id     = "archive"
    status = "Enabled"
    filter {{
      and {{
        prefix = "archive/"
        tags = {{
          class = "cold"
          team  = "data"
        }}
      }}
    }}
    transition {{
      days          = 30
      storage_class = "STANDARD_IA"
    }}
    transition {{
      days          = 90
      storage_class = "GLACIER"
    }}
    noncurrent_version_transition {{
      noncurrent_days = 10
      storage_class   = "GLACIER"
    }}
  }}

  rule {{
    id     = "markers"
    status = "Enabled"
    filter {{}}
    expiration {{
      expired_object_delete_marker = true
    }}
  }}

  rule {{
    id     = "later"
    status = "Disabled"{later_filter}
    expiration {{
      date = "2030-01-01T00:00:00Z"
    }}
  }}
}}
"#,
        bucket("lifecycle")
    )
}

fn live_rules(bucket: &str) -> Vec<aws_sdk_s3::types::LifecycleRule> {
    block_on(aws().s3.get_bucket_lifecycle_configuration().bucket(bucket).send()).unwrap().rules().to_vec()
}

#[test]
fn bucket_lifecycle_configuration() {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule, LifecycleRuleFilter,
    };
    let case = Case::new(&lifecycle_stack(30));
    let name = format!("{}-lifecycle", case.p());
    case.apply();
    let rules = live_rules(&name);
    let ids: Vec<_> = rules.iter().filter_map(|r| r.id()).collect();
    assert_eq!(ids, ["expire-logs", "tmp", "archive", "markers", "later"]);
    assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(30));
    assert_eq!(rules[2].transitions().len(), 2);
    assert_eq!(rules[2].filter().and_then(|f| f.and()).map(|a| a.tags().len()), Some(2));
    assert_eq!(rules[4].filter().and_then(|f| f.prefix()), Some(""), "no filter is sent as an empty prefix");
    case.no_changes();

    let rule = LifecycleRule::builder()
        .id("expire-logs")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("logs/").build())
        .expiration(LifecycleExpiration::builder().days(5).build())
        .build()
        .unwrap();
    let config = BucketLifecycleConfiguration::builder().rules(rule).build().unwrap();
    block_on(aws().s3.put_bucket_lifecycle_configuration().bucket(&name).lifecycle_configuration(config).send())
        .unwrap();
    case.drift("aws_s3_bucket_lifecycle_configuration.b", "expire-logs");
    case.apply();
    assert_eq!(live_rules(&name).len(), 5);

    case.write(&lifecycle_stack(90));
    case.updates("aws_s3_bucket_lifecycle_configuration.b");
    assert_eq!(live_rules(&name)[0].expiration().and_then(|e| e.days()), Some(90));

    case.reimport("aws_s3_bucket_lifecycle_configuration.b", &name);
    case.remove(&bucket("lifecycle"));
    let gone = block_on(aws().s3.get_bucket_lifecycle_configuration().bucket(&name).send());
    assert_eq!(error_code(gone).as_deref(), Some("NoSuchLifecycleConfiguration"));
    case.destroy();
}

/// moto 5.1.22 keeps neither object size filters nor
/// `newer_noncurrent_versions`, and always answers
/// `TransitionDefaultMinimumObjectSize: all_storage_classes_128K`: against
/// it, a stack that sets them plans the change again after every apply.
#[test]
fn moto_drops_lifecycle_size_filters_and_newer_noncurrent_versions() {
    let case = Case::new(&format!(
        r#"{}resource "aws_s3_bucket_lifecycle_configuration" "b" {{
  bucket                                 = aws_s3_bucket.b.id
  transition_default_minimum_object_size = "varies_by_storage_class"

  rule {{
    id     = "big"
    status = "Enabled"
    filter {{
      object_size_greater_than = 1048576
    }}
    noncurrent_version_expiration {{
      noncurrent_days           = 30
      newer_noncurrent_versions = 3
    }}
  }}
}}
"#,
        bucket("sizes")
    ));
    case.apply();
    let name = format!("{}-sizes", case.p());
    let out = block_on(aws().s3.get_bucket_lifecycle_configuration().bucket(&name).send()).unwrap();
    let rule = &out.rules()[0];
    assert_eq!(rule.filter().and_then(|f| f.object_size_greater_than()), None);
    assert_eq!(rule.noncurrent_version_expiration().and_then(|n| n.newer_noncurrent_versions()), None);
    assert_eq!(out.transition_default_minimum_object_size().map(|s| s.as_str()), Some("all_storage_classes_128K"));
    case.run(&["plan", "--detailed-exitcode"]).assert().code(2).stdout(predicate::str::contains("1048576"));
    case.destroy();
}

fn logging_stack(prefix: &str) -> String {
    format!(
        r#"{}# moto delivers access logs into the target bucket.
resource "aws_s3_bucket" "logs" {{
  bucket        = "${{var.prefix}}-logs"
  force_destroy = true
}}

resource "aws_s3_bucket_policy" "logs" {{
  bucket = aws_s3_bucket.logs.id
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Principal = {{ Service = "logging.s3.amazonaws.com" }}
      Action    = "s3:PutObject"
      Resource  = "${{aws_s3_bucket.logs.arn}}/*"
    }}]
  }})
}}

resource "aws_s3_bucket_logging" "b" {{
  bucket        = aws_s3_bucket.b.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "{prefix}"

  target_grant {{
    permission = "READ"
    grantee {{
      type = "Group"
      uri  = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
    }}
  }}

  depends_on = [aws_s3_bucket_policy.logs]
}}
"#,
        bucket("logged")
    )
}

fn live_logging(bucket: &str) -> Option<aws_sdk_s3::types::LoggingEnabled> {
    block_on(aws().s3.get_bucket_logging().bucket(bucket).send()).unwrap().logging_enabled().cloned()
}

#[test]
fn bucket_logging() {
    use aws_sdk_s3::types::{BucketLoggingStatus, LoggingEnabled};
    let case = Case::new(&logging_stack("access/"));
    let name = format!("{}-logged", case.p());
    let logs = format!("{}-logs", case.p());
    case.apply();
    let live = live_logging(&name).expect("logging on");
    assert_eq!((live.target_bucket(), live.target_prefix()), (logs.as_str(), "access/"));
    assert_eq!(live.target_grants().len(), 1);
    case.no_changes();

    let by_hand = LoggingEnabled::builder().target_bucket(&logs).target_prefix("elsewhere/").build().unwrap();
    let status = BucketLoggingStatus::builder().logging_enabled(by_hand).build();
    block_on(aws().s3.put_bucket_logging().bucket(&name).bucket_logging_status(status).send()).unwrap();
    case.drift("aws_s3_bucket_logging.b", "elsewhere/");
    case.apply();
    assert_eq!(live_logging(&name).map(|l| l.target_prefix().to_string()).as_deref(), Some("access/"));

    case.write(&logging_stack("access-v2/"));
    case.updates("aws_s3_bucket_logging.b");
    assert_eq!(live_logging(&name).map(|l| l.target_prefix().to_string()).as_deref(), Some("access-v2/"));

    case.reimport("aws_s3_bucket_logging.b", &name);
    let without = logging_stack("x/");
    case.remove(&without[..without.find("resource \"aws_s3_bucket_logging\"").unwrap()]);
    assert!(live_logging(&name).is_none());
    case.destroy();
}

/// moto 5.1.22 takes `TargetObjectKeyFormat` but does not keep it.
#[test]
fn moto_drops_the_logging_key_format() {
    let stack = logging_stack("fmt/").replace(
        "  depends_on",
        "  target_object_key_format {\n    partitioned_prefix {\n      partition_date_source = \"EventTime\"\n    }\n  }\n\n  depends_on",
    );
    let case = Case::new(&stack);
    case.apply();
    let live = live_logging(&format!("{}-logged", case.p())).expect("logging on");
    assert!(live.target_object_key_format().is_none());
    case.run(&["plan", "--detailed-exitcode"]).assert().code(2).stdout(predicate::str::contains("EventTime"));
    case.destroy();
}

fn cors_stack(extra_rule: bool) -> String {
    let second = if extra_rule {
        "\n  cors_rule {\n    allowed_methods = [\"GET\"]\n    allowed_origins = [\"*\"]\n  }\n"
    } else {
        ""
    };
    format!(
        r#"{}resource "aws_s3_bucket_cors_configuration" "b" {{
  bucket = aws_s3_bucket.b.id

  cors_rule {{
    id              = "app"
    allowed_headers = ["*"]
    allowed_methods = ["PUT", "POST"]
    allowed_origins = ["https://app.example.com"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3000
  }}
{second}}}
"#,
        bucket("cors")
    )
}

fn live_cors(bucket: &str) -> Vec<aws_sdk_s3::types::CorsRule> {
    block_on(aws().s3.get_bucket_cors().bucket(bucket).send()).unwrap().cors_rules().to_vec()
}

#[test]
fn bucket_cors_configuration() {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let case = Case::new(&cors_stack(false));
    let name = format!("{}-cors", case.p());
    case.apply();
    let rules = live_cors(&name);
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].max_age_seconds(), Some(3000));
    case.no_changes();

    let rule = CorsRule::builder()
        .id("app")
        .allowed_methods("PUT")
        .allowed_methods("POST")
        .allowed_origins("https://evil.example.com")
        .build()
        .unwrap();
    let config = CorsConfiguration::builder().cors_rules(rule).build().unwrap();
    block_on(aws().s3.put_bucket_cors().bucket(&name).cors_configuration(config).send()).unwrap();
    case.drift("aws_s3_bucket_cors_configuration.b", "https://evil.example.com");
    case.apply();
    assert_eq!(live_cors(&name)[0].allowed_origins(), ["https://app.example.com"]);

    case.write(&cors_stack(true));
    case.updates("aws_s3_bucket_cors_configuration.b");
    assert_eq!(live_cors(&name).len(), 2);

    case.reimport("aws_s3_bucket_cors_configuration.b", &name);
    case.remove(&bucket("cors"));
    let gone = block_on(aws().s3.get_bucket_cors().bucket(&name).send());
    assert_eq!(error_code(gone).as_deref(), Some("NoSuchCORSConfiguration"));
    case.destroy();
}

fn website_stack(rules: &str) -> String {
    format!(
        r#"{}resource "aws_s3_bucket_website_configuration" "b" {{
  bucket = aws_s3_bucket.b.id

  index_document {{
    suffix = "index.html"
  }}

  error_document {{
    key = "error.html"
  }}
{rules}}}

output "endpoint" {{
  value = aws_s3_bucket_website_configuration.b.website_endpoint
}}
"#,
        bucket("site")
    )
}

const RULE_BLOCK: &str = r#"
  routing_rule {
    condition {
      key_prefix_equals = "docs/"
    }
    redirect {
      replace_key_prefix_with = "documents/"
    }
  }
"#;

const RULES_JSON: &str = r#"
  routing_rules = jsonencode([{
    Condition = { KeyPrefixEquals = "img/" }
    Redirect  = { ReplaceKeyPrefixWith = "images/", HttpRedirectCode = "301" }
  }])
"#;

fn live_website(bucket: &str) -> aws_sdk_s3::operation::get_bucket_website::GetBucketWebsiteOutput {
    block_on(aws().s3.get_bucket_website().bucket(bucket).send()).unwrap()
}

#[test]
fn bucket_website_configuration() {
    use aws_sdk_s3::types::{IndexDocument, WebsiteConfiguration};
    let case = Case::new(&website_stack(RULE_BLOCK));
    let name = format!("{}-site", case.p());
    case.apply();
    let live = live_website(&name);
    assert_eq!(live.index_document().map(|d| d.suffix()), Some("index.html"));
    let prefix = live.routing_rules().first().and_then(|r| r.condition()).and_then(|c| c.key_prefix_equals());
    assert_eq!(prefix, Some("docs/"));
    case.g
        .cmd(["output", "-s", "s", "endpoint"])
        .assert()
        .success()
        .stdout(format!("{name}.s3-website-us-east-1.amazonaws.com\n"));
    case.no_changes();

    let by_hand =
        WebsiteConfiguration::builder().index_document(IndexDocument::builder().suffix("home.html").build().unwrap());
    block_on(aws().s3.put_bucket_website().bucket(&name).website_configuration(by_hand.build()).send()).unwrap();
    case.drift("aws_s3_bucket_website_configuration.b", "home.html");
    case.apply();
    assert_eq!(live_website(&name).routing_rules().len(), 1);

    // The same rules written as the JSON string instead of blocks.
    case.write(&website_stack(RULES_JSON));
    case.updates("aws_s3_bucket_website_configuration.b");
    let live = live_website(&name);
    let redirect = live.routing_rules().first().and_then(|r| r.redirect());
    assert_eq!(redirect.and_then(|r| r.replace_key_prefix_with()), Some("images/"));
    case.no_changes();

    case.write(&website_stack(RULE_BLOCK));
    case.apply();
    case.reimport("aws_s3_bucket_website_configuration.b", &name);
    case.remove(&bucket("site"));
    let gone = block_on(aws().s3.get_bucket_website().bucket(&name).send());
    assert_eq!(error_code(gone).as_deref(), Some("NoSuchWebsiteConfiguration"));
    case.destroy();
}

#[test]
fn deliberately_omitted_arguments_are_named_at_validate() {
    let case = Case::new(&format!(
        "{}resource \"aws_s3_bucket_lifecycle_configuration\" \"b\" {{\n  bucket = aws_s3_bucket.b.id\n  rule {{\n    id     = \"x\"\n    status = \"Enabled\"\n  }}\n  timeouts {{\n    create = \"5m\"\n  }}\n}}\n",
        bucket("omitted")
    ));
    case.g
        .cmd(["validate", "-s", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "\"timeouts\" in aws_s3_bucket_lifecycle_configuration.b is not supported by gantry",
        ))
        .stderr(predicate::str::contains("main.tf:"));
}
