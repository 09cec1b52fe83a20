//! `aws_iam_role_policies_exclusive`: the complete list of a role's inline
//! policies. Applying it deletes every inline policy of the role that is not
//! listed (the policies themselves belong to `aws_iam_role_policy`); the
//! rest is shared with the attachments list (`iam_role_exclusive`).

use std::sync::LazyLock;

use async_trait::async_trait;

use super::iam_role::inline_policy_names;
use super::iam_role_exclusive::{self, RoleExclusive, RoleListApi};
use super::Schema;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};

const LIST: &str = "policy_names";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| iam_role_exclusive::schema("aws_iam_role_policies_exclusive", LIST));

/// The IAM calls of a role's inline policies.
pub struct InlinePolicies;

pub const IAM_ROLE_POLICIES_EXCLUSIVE: RoleExclusive<InlinePolicies> = RoleExclusive(InlinePolicies);

#[async_trait]
impl RoleListApi for InlinePolicies {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn list_attr(&self) -> &'static str {
        LIST
    }

    async fn live(&self, aws: &AwsCtx, role: &str) -> Result<Vec<String>, ProviderError> {
        inline_policy_names(aws, role).await
    }

    async fn remove(&self, aws: &AwsCtx, role: &str, name: &str) -> Result<(), ProviderError> {
        aws.count_call();
        aws.iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .classify("iam:DeleteRolePolicy")
            .map(|_| ())
    }
}
