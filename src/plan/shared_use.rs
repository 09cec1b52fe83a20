//! Deletions that would break what other stacks use. A GitHub OIDC
//! provider is one per account: roles of other stacks (another
//! environment's CI roles, an app stack's deploy role) trust it, and
//! deleting it would lock their workflows out. The plan refuses to delete
//! one that roles outside the state still trust, and names them.

use serde_json::Value as J;

use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::diag::Diagnostic;
use crate::state::State;

use super::ResourceChange;

const PROVIDER_TYPE: &str = "aws_iam_openid_connect_provider";

/// One error for each OIDC provider the plan deletes or replaces while
/// roles this state does not hold trust it.
pub async fn check(aws: &AwsCtx, changes: &[ResourceChange], state: &State) -> Result<Vec<Diagnostic>, ProviderError> {
    let doomed: Vec<(&ResourceChange, String)> = changes
        .iter()
        .filter(|c| c.rtype == PROVIDER_TYPE && c.action.is_destructive())
        .filter_map(|c| state.get(&c.addr).map(|r| (c, r.id.clone())))
        .collect();
    if doomed.is_empty() {
        return Ok(Vec::new());
    }
    let ours: Vec<&str> = state
        .resources
        .iter()
        .filter(|r| r.rtype == "aws_iam_role")
        .filter_map(|r| r.attributes.get("name").and_then(|n| n.as_str()))
        .collect();
    let roles = trusting_roles(aws).await?;
    Ok(doomed
        .into_iter()
        .filter_map(|(change, arn)| {
            let outside: Vec<&str> = roles
                .iter()
                .filter(|(name, trusted)| trusted.contains(&arn) && !ours.contains(&name.as_str()))
                .map(|(name, _)| name.as_str())
                .collect();
            (!outside.is_empty()).then(|| {
                Diagnostic::error(format!("Instance cannot be destroyed: {}", change.addr)).detail(format!(
                    "Roles this stack does not manage trust {arn}: {}. Deleting it would lock their workflows out. \
                     Remove those roles first, or `gantry state rm {}` to stop managing the provider and leave it \
                     in place for them.",
                    outside.join(", "),
                    change.addr
                ))
            })
        })
        .collect())
}

/// Every role of the account, with the federated principals its trust
/// policy names (ListRoles, every page).
async fn trusting_roles(aws: &AwsCtx) -> Result<Vec<(String, Vec<String>)>, ProviderError> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let page = aws.iam.list_roles().set_marker(marker).send().await.classify("iam:ListRoles")?;
        for role in page.roles() {
            let doc = role.assume_role_policy_document().map(crate::resources::support::decode_policy);
            let principals = doc.and_then(|d| serde_json::from_str::<J>(&d).ok()).map(|d| federated(&d));
            out.push((role.role_name().to_string(), principals.unwrap_or_default()));
        }
        marker = page.marker().filter(|_| page.is_truncated()).map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(out)
}

/// The federated principals of a policy document's statements.
fn federated(doc: &J) -> Vec<String> {
    let statements = match &doc["Statement"] {
        J::Array(list) => list.iter().collect(),
        one @ J::Object(_) => vec![one],
        _ => Vec::new(),
    };
    statements
        .into_iter()
        .flat_map(|s| match &s["Principal"]["Federated"] {
            J::String(one) => vec![one.clone()],
            J::Array(list) => list.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn federated_principals_are_read_from_one_statement_or_many() {
        let arn = "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com";
        let one = json!({"Statement": {"Effect": "Allow", "Principal": {"Federated": arn}}});
        assert_eq!(federated(&one), vec![arn.to_string()]);
        let many = json!({"Statement": [
            {"Principal": {"Service": "ec2.amazonaws.com"}},
            {"Principal": {"Federated": [arn, "other"]}}
        ]});
        assert_eq!(federated(&many), vec![arn.to_string(), "other".to_string()]);
        assert!(federated(&json!({})).is_empty());
    }
}
