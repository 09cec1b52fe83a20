//! `validate` and `plan` refuse a GitHub OIDC trust policy that any
//! repository could satisfy, pointing at the attribute and saying how to fix it.

use predicates::prelude::*;

use crate::support::Gantry;

fn stack(sub: &str, directive: &str) -> String {
    format!(
        r#"resource "aws_iam_openid_connect_provider" "github" {{
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}}

{directive}
resource "aws_iam_role" "deploy" {{
  name = "deploy"
  assume_role_policy = jsonencode({{
    Version = "2012-10-17"
    Statement = [{{
      Effect    = "Allow"
      Principal = {{ Federated = aws_iam_openid_connect_provider.github.arn }}
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {{
        StringEquals = {{ "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }}
        StringLike   = {{ "token.actions.githubusercontent.com:sub" = "{sub}" }}
      }}
    }}]
  }})
}}
"#
    )
}

#[test]
fn wildcard_subject_is_refused_with_file_line_and_fix() {
    let g = Gantry::offline();
    g.write("s/main.tf", stack("repo:acme/*", ""));
    g.cmd(["validate", "-s", "s"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Unsafe trust policy in aws_iam_role.deploy"))
        .stderr(predicate::str::contains("matches every repository of the owner"))
        .stderr(predicate::str::contains("main.tf:9:3"))
        .stderr(predicate::str::contains("repo:ORG/REPO:ref:refs/heads/main"));
}

#[test]
fn pinned_subject_passes_and_the_directive_opts_out() {
    let g = Gantry::offline();
    g.write("s/main.tf", stack("repo:acme/vaultsphere:ref:refs/heads/main", ""));
    g.cmd(["validate", "-s", "s"]).assert().success();
    g.write("s/main.tf", stack("repo:acme/*", "# gantry:allow-wildcard-subject"));
    g.cmd(["validate", "-s", "s"]).assert().success();
}

#[test]
fn plan_refuses_it_too() {
    let g = Gantry::offline();
    g.write("s/main.tf", stack("repo:*", ""));
    g.cmd(["plan", "-s", "s"]).assert().code(1).stderr(predicate::str::contains("matches repositories of any owner"));
}
