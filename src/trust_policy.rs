//! Safety check of IAM trust policies that let GitHub Actions assume a role
//! through OIDC. Without a `sub` condition pinned to one repository, any
//! workflow of any GitHub repository can assume the role; without `aud`,
//! tokens minted for other audiences are accepted.
//!
//! A role may opt out (a shared read-only role, say) with the comment
//! `# gantry:allow-wildcard-subject` right above its resource block: it keeps
//! the stack valid Terraform and leaves the decision visible in review.

use serde_json::Value as J;

/// The GitHub Actions OIDC issuer.
pub const GITHUB_ISSUER: &str = "token.actions.githubusercontent.com";

/// The directive that allows wildcard subjects.
pub const ALLOW_WILDCARD: &str = "allow-wildcard-subject";

/// One problem with a trust policy, with the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub summary: String,
    pub fix: String,
}

/// Checks a trust policy document. `allow_wildcard` relaxes only the
/// wildcard rule, never the `aud` or missing-`sub` rules.
pub fn check(document: &J, allow_wildcard: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    for statement in statements(document) {
        if !trusts_github(statement) || statement.get("Effect").and_then(J::as_str) == Some("Deny") {
            continue;
        }
        let conditions = condition_values(statement);
        let aud: Vec<&str> =
            conditions.iter().filter(|(k, _, _)| k == &format!("{GITHUB_ISSUER}:aud")).map(|(_, _, v)| *v).collect();
        if aud.is_empty() || aud.iter().any(|v| *v != "sts.amazonaws.com") {
            problems.push(Problem {
                summary: "GitHub OIDC trust without aud = sts.amazonaws.com".into(),
                fix: format!(
                    "Add Condition = {{ StringEquals = {{ \"{GITHUB_ISSUER}:aud\" = \"sts.amazonaws.com\" }} }}"
                ),
            });
        }
        let subs: Vec<(&str, &str)> = conditions
            .iter()
            .filter(|(k, _, _)| k == &format!("{GITHUB_ISSUER}:sub"))
            .map(|(_, op, v)| (*op, *v))
            .collect();
        if subs.is_empty() {
            problems.push(Problem {
                summary: "GitHub OIDC trust without a sub condition: every repository on GitHub could assume this role".into(),
                fix: format!(
                    "Pin the subject to your repository, e.g. StringEquals = {{ \"{GITHUB_ISSUER}:sub\" = \"repo:ORG/REPO:ref:refs/heads/main\" }}"
                ),
            });
            continue;
        }
        if allow_wildcard {
            continue;
        }
        for (op, sub) in subs {
            if let Some(reason) = wildcard_reason(op, sub) {
                problems.push(Problem {
                    summary: format!("GitHub OIDC subject {sub:?} {reason}"),
                    fix: format!(
                        "Name one repository and one branch or environment, e.g. \"repo:ORG/REPO:ref:refs/heads/main\" or \"repo:ORG/REPO:environment:prod\". \
                         If the wildcard is deliberate, put the comment `# gantry:{ALLOW_WILDCARD}` on the line above the resource."
                    ),
                });
            }
        }
    }
    problems
}

/// Why a subject is too broad, if it is.
fn wildcard_reason(op: &str, sub: &str) -> Option<&'static str> {
    let Some(rest) = sub.strip_prefix("repo:") else {
        return if sub.contains('*') || sub.contains('?') {
            Some("is a wildcard that matches any repository")
        } else {
            None
        };
    };
    let (repo, _ref) = rest.split_once(':').unwrap_or((rest, ""));
    let (owner, name) = repo.split_once('/').unwrap_or((repo, ""));
    let like = op.contains("Like");
    let wild = |s: &str| like && (s.contains('*') || s.contains('?'));
    if owner.is_empty() || wild(owner) {
        Some("matches repositories of any owner")
    } else if name.is_empty() || wild(name) {
        Some("matches every repository of the owner")
    } else if wild(_ref) && _ref.trim_matches('*').is_empty() {
        Some("matches every branch, tag and pull request of the repository")
    } else {
        None
    }
}

/// The federated principals every statement of a policy document names.
pub fn federated_principals(document: &J) -> Vec<String> {
    statements(document)
        .into_iter()
        .filter_map(|s| s.get("Principal").and_then(|p| p.get("Federated")))
        .flat_map(|f| as_strings(f).into_iter().map(str::to_string))
        .collect()
}

fn statements(document: &J) -> Vec<&J> {
    match document.get("Statement") {
        Some(J::Array(items)) => items.iter().collect(),
        Some(single @ J::Object(_)) => vec![single],
        _ => Vec::new(),
    }
}

fn as_strings(v: &J) -> Vec<&str> {
    match v {
        J::String(s) => vec![s.as_str()],
        J::Array(items) => items.iter().filter_map(J::as_str).collect(),
        _ => Vec::new(),
    }
}

fn trusts_github(statement: &J) -> bool {
    let federated = statement.get("Principal").and_then(|p| p.get("Federated")).map(as_strings).unwrap_or_default();
    let actions = statement.get("Action").map(as_strings).unwrap_or_default();
    federated.iter().any(|f| f.ends_with(GITHUB_ISSUER))
        && (actions.is_empty() || actions.iter().any(|a| a.eq_ignore_ascii_case("sts:AssumeRoleWithWebIdentity")))
}

/// (condition key, operator, value) of every condition in a statement.
fn condition_values(statement: &J) -> Vec<(String, &str, &str)> {
    let mut out = Vec::new();
    let Some(J::Object(ops)) = statement.get("Condition") else { return out };
    for (op, keys) in ops {
        let J::Object(keys) = keys else { continue };
        for (key, values) in keys {
            for v in as_strings(values) {
                out.push((key.to_ascii_lowercase(), op.as_str(), v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn federated_principals_are_read_from_one_statement_or_many() {
        let arn = "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com";
        let one = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": arn}}});
        assert_eq!(federated_principals(&one), vec![arn.to_string()]);
        let many = json!({"Statement": [
            {"Principal": {"Service": "ec2.amazonaws.com"}},
            {"Principal": {"Federated": [arn, "other"]}}
        ]});
        assert_eq!(federated_principals(&many), vec![arn.to_string(), "other".to_string()]);
        assert!(federated_principals(&json!({})).is_empty());
    }

    fn policy(condition: J) -> J {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }]
        })
    }

    #[test]
    fn pinned_subject_and_audience_pass() {
        let p = policy(json!({ "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/vaultsphere:ref:refs/heads/main",
        }}));
        assert!(check(&p, false).is_empty());
    }

    #[test]
    fn missing_sub_and_aud_fail() {
        let problems = check(&policy(json!({})), false);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn wildcard_owner_or_repo_fails_unless_allowed() {
        for sub in ["repo:*", "repo:acme/*", "*", "repo:*/vaultsphere:ref:refs/heads/main"] {
            let p = policy(json!({
                "StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                "StringLike": { "token.actions.githubusercontent.com:sub": sub },
            }));
            assert_eq!(check(&p, false).len(), 1, "{sub}");
            assert!(check(&p, true).is_empty(), "{sub} allowed by directive");
        }
    }

    #[test]
    fn branch_wildcards_within_one_repo_pass() {
        let p = policy(json!({
            "StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
            "StringLike": { "token.actions.githubusercontent.com:sub": "repo:acme/vaultsphere:ref:refs/heads/release-*" },
        }));
        assert!(check(&p, false).is_empty());
    }

    #[test]
    fn other_principals_are_not_checked() {
        let p = json!({ "Statement": { "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" } });
        assert!(check(&p, false).is_empty());
    }
}
