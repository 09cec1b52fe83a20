//! `aws_ecr_lifecycle_policy`: the image expiry rules of a repository.
//! PutLifecyclePolicy both creates and replaces it; the rest is shared with
//! the repository policy (`ecr_policy_document`).

use std::sync::LazyLock;

use async_trait::async_trait;

use super::ecr_policy_document::{self, Document, EcrPolicyApi, EcrPolicyDocument};
use super::Schema;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| ecr_policy_document::schema("aws_ecr_lifecycle_policy"));

/// The ECR calls of a lifecycle policy.
pub struct LifecyclePolicyApi;

pub const ECR_LIFECYCLE_POLICY: EcrPolicyDocument<LifecyclePolicyApi> = EcrPolicyDocument(LifecyclePolicyApi);

#[async_trait]
impl EcrPolicyApi for LifecyclePolicyApi {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn not_configured(&self) -> &'static str {
        "LifecyclePolicyNotFoundException"
    }

    async fn get(&self, aws: &AwsCtx, repository: &str) -> Result<Document, ProviderError> {
        aws.count_call();
        let out = aws
            .ecr
            .get_lifecycle_policy()
            .repository_name(repository)
            .send()
            .await
            .classify("ecr:GetLifecyclePolicy")?;
        Ok(Document {
            text: out.lifecycle_policy_text().map(str::to_string),
            registry_id: out.registry_id().map(str::to_string),
        })
    }

    async fn put(&self, aws: &AwsCtx, repository: &str, policy: &str) -> Result<Option<String>, ProviderError> {
        aws.count_call();
        let out = aws
            .ecr
            .put_lifecycle_policy()
            .repository_name(repository)
            .lifecycle_policy_text(policy)
            .send()
            .await
            .classify("ecr:PutLifecyclePolicy")?;
        Ok(out.registry_id().map(str::to_string))
    }

    async fn delete(&self, aws: &AwsCtx, repository: &str) -> Result<(), ProviderError> {
        aws.count_call();
        aws.ecr
            .delete_lifecycle_policy()
            .repository_name(repository)
            .send()
            .await
            .classify("ecr:DeleteLifecyclePolicy")
            .map(|_| ())
    }
}
