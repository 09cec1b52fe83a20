//! What `aws_ecr_lifecycle_policy` and `aws_ecr_repository_policy` have in
//! common: one JSON document per repository, id the repository name as in
//! Terraform, written by one call that both creates and replaces it, read
//! back by one call that names "none" with its own error code. Each type
//! supplies only its three ECR calls ([`EcrPolicyApi`]).

use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{complete, found, get_nonempty_str, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ProviderError, Tags};

/// A policy document as ECR hands it back: its text and the registry.
pub(super) struct Document {
    pub text: Option<String>,
    pub registry_id: Option<String>,
}

/// The ECR calls of one kind of repository policy.
#[async_trait]
pub(super) trait EcrPolicyApi: Send + Sync {
    fn schema(&self) -> &Schema;
    /// The Get call's error code for a repository without a document.
    fn not_configured(&self) -> &'static str;
    async fn get(&self, aws: &AwsCtx, repository: &str) -> Result<Document, ProviderError>;
    /// Writes the document; returns the registry id.
    async fn put(&self, aws: &AwsCtx, repository: &str, policy: &str) -> Result<Option<String>, ProviderError>;
    async fn delete(&self, aws: &AwsCtx, repository: &str) -> Result<(), ProviderError>;
}

/// The schema both types share (the document compared normalized: `Json`).
pub(super) fn schema(type_name: &'static str) -> Schema {
    Schema::new(
        type_name,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("repository", Ty::String).force_new(),
            Attr::required("policy", Ty::Json),
            Attr::computed("registry_id", Ty::String),
        ],
    )
}

/// A repository policy resource, over the calls of its kind.
pub struct EcrPolicyDocument<A>(pub A);

#[async_trait]
impl<A: EcrPolicyApi> ResourceType for EcrPolicyDocument<A> {
    fn schema(&self) -> &Schema {
        self.0.schema()
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "repository").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            let Some(document) = found(self.0.get(ctx.aws, &req.id).await, &[self.0.not_configured()])? else {
                return Ok(None);
            };
            let Some(policy) = document.text.as_deref() else { return Ok(None) };
            Ok::<_, ProviderError>(Some(self.attrs_for(&req.id, policy, document.registry_id.as_deref())))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let repository = require_str(desired, "repository", self.0.schema().type_name)?;
        let attrs = self.put(aws, repository, desired).await?;
        Ok(Created { id: repository.to_string(), attrs })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        self.put(aws, id, desired).await
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        found(self.0.delete(aws, id).await, &[self.0.not_configured()]).map(|_| ())
    }
}

impl<A: EcrPolicyApi> EcrPolicyDocument<A> {
    async fn put(&self, aws: &AwsCtx, repository: &str, desired: &Attrs) -> Result<Attrs, ProviderError> {
        let policy = require_str(desired, "policy", self.0.schema().type_name)?;
        let registry_id = self.0.put(aws, repository, policy).await?;
        Ok(self.attrs_for(repository, policy, registry_id.as_deref()))
    }

    fn attrs_for(&self, repository: &str, policy: &str, registry_id: Option<&str>) -> Attrs {
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(repository));
        attrs.insert("repository".into(), Value::from(repository));
        attrs.insert("policy".into(), Value::from(policy));
        attrs.insert("registry_id".into(), Value::from(registry_id));
        complete(self.0.schema(), attrs)
    }
}
