//! `aws_iam_role_policy_attachments_exclusive`: the complete list of the
//! managed policies attached to a role. Applying it detaches every policy
//! that is not listed (attachments belong to `aws_iam_role_policy_attachment`);
//! the rest is shared with the inline list (`iam_role_exclusive`).

use std::sync::LazyLock;

use async_trait::async_trait;

use super::iam_role_exclusive::{self, RoleExclusive, RoleListApi};
use super::support::attached_role_policies;
use super::Schema;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};

const LIST: &str = "policy_arns";

static SCHEMA: LazyLock<Schema> =
    LazyLock::new(|| iam_role_exclusive::schema("aws_iam_role_policy_attachments_exclusive", LIST));

/// The IAM calls of a role's managed-policy attachments.
pub struct Attachments;

pub const IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE: RoleExclusive<Attachments> = RoleExclusive(Attachments);

#[async_trait]
impl RoleListApi for Attachments {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn list_attr(&self) -> &'static str {
        LIST
    }

    async fn live(&self, aws: &AwsCtx, role: &str) -> Result<Vec<String>, ProviderError> {
        attached_role_policies(aws, role).await
    }

    async fn remove(&self, aws: &AwsCtx, role: &str, arn: &str) -> Result<(), ProviderError> {
        aws.count_call();
        aws.iam
            .detach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
            .await
            .classify("iam:DetachRolePolicy")
            .map(|_| ())
    }
}
