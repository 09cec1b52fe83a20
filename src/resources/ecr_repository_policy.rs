//! `aws_ecr_repository_policy`: who may pull from or push to a repository.
//! SetRepositoryPolicy both creates and replaces it; the rest is shared with
//! the lifecycle policy (`ecr_policy_document`).

use std::sync::LazyLock;

use async_trait::async_trait;

use super::ecr_policy_document::{self, Document, EcrPolicyApi, EcrPolicyDocument};
use super::Schema;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| ecr_policy_document::schema("aws_ecr_repository_policy"));

/// The ECR calls of a repository policy.
pub struct RepositoryPolicyApi;

pub const ECR_REPOSITORY_POLICY: EcrPolicyDocument<RepositoryPolicyApi> = EcrPolicyDocument(RepositoryPolicyApi);

#[async_trait]
impl EcrPolicyApi for RepositoryPolicyApi {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn not_configured(&self) -> &'static str {
        "RepositoryPolicyNotFoundException"
    }

    async fn get(&self, aws: &AwsCtx, repository: &str) -> Result<Document, ProviderError> {
        aws.count_call();
        let out = aws
            .ecr
            .get_repository_policy()
            .repository_name(repository)
            .send()
            .await
            .classify("ecr:GetRepositoryPolicy")?;
        Ok(Document { text: out.policy_text().map(str::to_string), registry_id: out.registry_id().map(str::to_string) })
    }

    async fn put(&self, aws: &AwsCtx, repository: &str, policy: &str) -> Result<Option<String>, ProviderError> {
        aws.count_call();
        let out = aws
            .ecr
            .set_repository_policy()
            .repository_name(repository)
            .policy_text(policy)
            .send()
            .await
            .classify("ecr:SetRepositoryPolicy")?;
        Ok(out.registry_id().map(str::to_string))
    }

    async fn delete(&self, aws: &AwsCtx, repository: &str) -> Result<(), ProviderError> {
        aws.count_call();
        aws.ecr
            .delete_repository_policy()
            .repository_name(repository)
            .send()
            .await
            .classify("ecr:DeleteRepositoryPolicy")
            .map(|_| ())
    }
}
