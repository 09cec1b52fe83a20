//! Deletions that would break what other stacks use. A GitHub OIDC
//! provider is one per account: roles of other stacks (another
//! environment's CI roles, an app stack's deploy role) trust it, and
//! deleting it would lock their workflows out. The plan refuses to delete
//! one that roles outside the state still trust, and names them.

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
            let principals = doc
                .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                .map(|d| crate::trust_policy::federated_principals(&d));
            out.push((role.role_name().to_string(), principals.unwrap_or_default()));
        }
        marker = page.marker().filter(|_| page.is_truncated()).map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    Ok(out)
}
