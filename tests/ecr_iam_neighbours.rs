//! Neighbours of the ECR repository and IAM role types: the repository's
//! lifecycle and access policies, and customer-managed IAM policies. Same
//! round as tests/s3_neighbours.rs: create, clean plan, drift, update,
//! import, destroy, checked through the emulator.

use predicates::prelude::*;

use crate::s3_neighbours::Case;
use crate::support::{aws, block_on};

fn ecr_stack(keep: u32, action: &str) -> String {
    format!(
        r#"resource "aws_ecr_repository" "r" {{
  name         = "${{var.prefix}}-app"
  force_delete = true
}}

resource "aws_ecr_lifecycle_policy" "r" {{
  repository = aws_ecr_repository.r.name
  policy = jsonencode({{
    rules = [{{
      rulePriority = 1
      description  = "keep the last images"
      selection = {{
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = {keep}
      }}
      action = {{ type = "expire" }}
    }}]
  }})
}}

resource "aws_ecr_repository_policy" "r" {{
  repository = aws_ecr_repository.r.name
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Sid       = "pull"
      Effect    = "Allow"
      Principal = {{ AWS = "arn:aws:iam::123456789012:root" }}
      Action    = ["{action}"]
    }}]
  }})
}}

output "registry" {{
  value = aws_ecr_lifecycle_policy.r.registry_id
}}
"#
    )
}

fn lifecycle_text(repo: &str) -> Option<String> {
    let out = block_on(aws().ecr.get_lifecycle_policy().repository_name(repo).send()).ok()?;
    out.lifecycle_policy_text().map(str::to_string)
}

fn policy_text(repo: &str) -> Option<String> {
    let out = block_on(aws().ecr.get_repository_policy().repository_name(repo).send()).ok()?;
    out.policy_text().map(str::to_string)
}

#[test]
fn ecr_lifecycle_and_repository_policies() {
    let case = Case::new(&ecr_stack(10, "ecr:BatchGetImage"));
    let repo = format!("{}-app", case.p());
    case.apply();
    assert!(lifecycle_text(&repo).is_some_and(|t| t.contains("imageCountMoreThan")));
    assert!(policy_text(&repo).is_some_and(|t| t.contains("ecr:BatchGetImage")));
    case.g.cmd(["output", "-s", "s", "registry"]).assert().success().stdout("123456789012\n");
    case.no_changes();

    let by_hand = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":99},"action":{"type":"expire"}}]}"#;
    block_on(aws().ecr.put_lifecycle_policy().repository_name(&repo).lifecycle_policy_text(by_hand).send()).unwrap();
    let by_hand =
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:*"]}]}"#;
    block_on(aws().ecr.set_repository_policy().repository_name(&repo).policy_text(by_hand).send()).unwrap();
    case.drift("aws_ecr_lifecycle_policy.r", "99");
    case.drift("aws_ecr_repository_policy.r", "ecr:*");
    case.apply();
    assert!(lifecycle_text(&repo).is_some_and(|t| !t.contains("99")));
    assert!(policy_text(&repo).is_some_and(|t| t.contains("ecr:BatchGetImage")));

    case.write(&ecr_stack(20, "ecr:GetDownloadUrlForLayer"));
    case.run(&["apply", "--auto-approve"]).assert().success().stdout(predicate::str::contains("0 added, 2 changed"));
    assert!(lifecycle_text(&repo).is_some_and(|t| t.contains("20")));
    assert!(policy_text(&repo).is_some_and(|t| t.contains("ecr:GetDownloadUrlForLayer")));

    case.reimport("aws_ecr_lifecycle_policy.r", &repo);
    case.reimport("aws_ecr_repository_policy.r", &repo);
    // Only the policies go; the repository stays until the stack's destroy.
    let full = ecr_stack(20, "x");
    case.write(full.split("resource \"aws_ecr_lifecycle_policy\"").next().unwrap_or_default());
    case.run(&["apply", "--auto-approve"]).assert().success().stdout(predicate::str::contains("2 destroyed"));
    assert_eq!(lifecycle_text(&repo), None);
    assert_eq!(policy_text(&repo), None);
    case.destroy();
}

fn iam_stack(action: &str, tag: &str) -> String {
    format!(
        r#"resource "aws_iam_policy" "named" {{
  name        = "${{var.prefix}}-read"
  path        = "/app/"
  description = "read the app's objects"
  policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect   = "Allow"
      Action   = ["{action}"]
      Resource = "*"
    }}]
  }})
  tags = {{
    team = "{tag}"
  }}
}}

resource "aws_iam_policy" "prefixed" {{
  name_prefix = "${{var.prefix}}-ci-"
  policy      = aws_iam_policy.named.policy
}}

output "arn" {{
  value = aws_iam_policy.named.arn
}}
"#
    )
}

fn default_document(arn: &str) -> String {
    let policy = block_on(aws().iam.get_policy().policy_arn(arn).send()).unwrap().policy.unwrap();
    let version = policy.default_version_id().unwrap().to_string();
    let out = block_on(aws().iam.get_policy_version().policy_arn(arn).version_id(version).send()).unwrap();
    let doc = out.policy_version.and_then(|v| v.document).unwrap();
    percent_encoding::percent_decode_str(&doc).decode_utf8_lossy().into_owned()
}

fn version_count(arn: &str) -> usize {
    block_on(aws().iam.list_policy_versions().policy_arn(arn).send()).unwrap().versions().len()
}

#[test]
fn iam_policy() {
    let case = Case::new(&iam_stack("s3:GetObject", "web"));
    case.apply();
    let arn = format!("arn:aws:iam::123456789012:policy/app/{}-read", case.p());
    case.g.cmd(["output", "-s", "s", "arn"]).assert().success().stdout(format!("{arn}\n"));
    assert!(default_document(&arn).contains("s3:GetObject"));
    let policy = block_on(aws().iam.get_policy().policy_arn(&arn).send()).unwrap().policy.unwrap();
    assert_eq!(policy.description(), Some("read the app's objects"));
    assert!(policy.tags().iter().any(|t| t.key() == "team" && t.value() == "web"));
    assert!(policy.tags().iter().any(|t| t.key() == "gantry:address" && t.value() == "aws_iam_policy.named"));
    let prefixed = block_on(aws().iam.list_policies().scope(aws_sdk_iam::types::PolicyScopeType::Local).send())
        .unwrap()
        .policies()
        .iter()
        .filter_map(|p| p.policy_name().map(str::to_string))
        .filter(|n| n.starts_with(&format!("{}-ci-", case.p())))
        .count();
    assert_eq!(prefixed, 1);
    case.no_changes();

    // A new default version made by hand is drift.
    let by_hand =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:DeleteObject"],"Resource":"*"}]}"#;
    block_on(aws().iam.create_policy_version().policy_arn(&arn).policy_document(by_hand).set_as_default(true).send())
        .unwrap();
    case.drift("aws_iam_policy.named", "s3:DeleteObject");
    case.apply();
    assert!(default_document(&arn).contains("s3:GetObject"));

    // Each change is a new default version; IAM keeps five, so the oldest
    // non-default one goes first.
    for (i, action) in
        ["s3:GetObjectAcl", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:ListBucket"].iter().enumerate()
    {
        case.write(&iam_stack(action, &format!("web{i}")));
        case.run(&["apply", "--auto-approve"])
            .assert()
            .success()
            .stdout(predicate::str::contains("0 added, 2 changed"));
        assert!(default_document(&arn).contains(action));
        assert!(version_count(&arn) <= 5, "{} versions", version_count(&arn));
    }
    assert_eq!(version_count(&arn), 5);
    case.no_changes();

    case.reimport("aws_iam_policy.named", &arn);
    case.destroy();
    assert!(block_on(aws().iam.get_policy().policy_arn(&arn).send()).is_err());
}

const EXCLUSIVE_STACK: &str = r#"resource "aws_iam_role" "app" {
  name = "${var.prefix}-app"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "read" {
  name = "read"
  role = aws_iam_role.app.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }]
  })
}

resource "aws_iam_role_policies_exclusive" "app" {
  role_name    = aws_iam_role.app.name
  policy_names = [aws_iam_role_policy.read.name]
}

resource "aws_iam_policy" "managed" {
  name   = "${var.prefix}-managed"
  policy = aws_iam_role_policy.read.policy
}

resource "aws_iam_role_policy_attachment" "managed" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.managed.arn
}

resource "aws_iam_role_policy_attachments_exclusive" "app" {
  role_name   = aws_iam_role.app.name
  policy_arns = [aws_iam_role_policy_attachment.managed.policy_arn]
}
"#;

#[test]
fn iam_role_policies_and_attachments_exclusive() {
    let case = Case::new(EXCLUSIVE_STACK);
    let role = format!("{}-app", case.p());
    case.apply();
    // The attachment, made after the policy, counts on it: AWS's count.
    case.run(&["plan", "--detailed-exitcode"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("~ attachment_count = 0 -> 1"));
    case.apply();
    case.no_changes();

    // An inline policy and an attachment made by hand are drift, and apply
    // removes them.
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    block_on(aws().iam.put_role_policy().role_name(&role).policy_name("stray").policy_document(doc).send()).unwrap();
    let stray =
        block_on(aws().iam.create_policy().policy_name(format!("{}-stray", case.p())).policy_document(doc).send())
            .unwrap()
            .policy
            .and_then(|p| p.arn)
            .unwrap();
    block_on(aws().iam.attach_role_policy().role_name(&role).policy_arn(&stray).send()).unwrap();
    case.drift("aws_iam_role_policies_exclusive.app", "\"stray\"");
    case.drift("aws_iam_role_policy_attachments_exclusive.app", &stray);
    case.apply();
    let inline = block_on(aws().iam.list_role_policies().role_name(&role).send()).unwrap();
    assert_eq!(inline.policy_names(), ["read"]);
    let attached = block_on(aws().iam.list_attached_role_policies().role_name(&role).send()).unwrap();
    let arns: Vec<_> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(arns, [format!("arn:aws:iam::123456789012:policy/{}-managed", case.p())]);
    case.no_changes();

    case.reimport("aws_iam_role_policies_exclusive.app", &role);
    case.reimport("aws_iam_role_policy_attachments_exclusive.app", &role);
    case.destroy();
    assert!(block_on(aws().iam.get_role().role_name(&role).send()).is_err());
    block_on(aws().iam.delete_policy().policy_arn(&stray).send()).unwrap();
}
