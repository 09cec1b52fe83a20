//! `aws_ecr_lifecycle_policy`: the image expiry rules of a repository, id
//! the repository name as in Terraform. PutLifecyclePolicy both creates and
//! replaces it; the document is compared normalized (`Json`).

use std::sync::LazyLock;

use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{complete, found, get_nonempty_str, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_ecr_lifecycle_policy";
/// GetLifecyclePolicy's answer for a repository without one.
const NOT_CONFIGURED: &str = "LifecyclePolicyNotFoundException";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("repository", Ty::String).force_new(),
            Attr::required("policy", Ty::Json),
            Attr::computed("registry_id", Ty::String),
        ],
    )
});

pub struct EcrLifecyclePolicy;

#[async_trait]
impl ResourceType for EcrLifecyclePolicy {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "repository").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            ctx.aws.count_call();
            let result = ctx
                .aws
                .ecr
                .get_lifecycle_policy()
                .repository_name(&req.id)
                .send()
                .await
                .classify("ecr:GetLifecyclePolicy");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else { return Ok(None) };
            let Some(policy) = out.lifecycle_policy_text() else { return Ok(None) };
            Ok::<_, ProviderError>(Some(attrs_for(&req.id, policy, out.registry_id())))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let repository = require_str(desired, "repository", TYPE_NAME)?;
        let attrs = put(aws, repository, desired).await?;
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
        put(aws, id, desired).await
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result =
            aws.ecr.delete_lifecycle_policy().repository_name(id).send().await.classify("ecr:DeleteLifecyclePolicy");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

async fn put(aws: &AwsCtx, repository: &str, desired: &Attrs) -> Result<Attrs, ProviderError> {
    let policy = require_str(desired, "policy", TYPE_NAME)?;
    aws.count_call();
    let out = aws
        .ecr
        .put_lifecycle_policy()
        .repository_name(repository)
        .lifecycle_policy_text(policy)
        .send()
        .await
        .classify("ecr:PutLifecyclePolicy")?;
    Ok(attrs_for(repository, policy, out.registry_id()))
}

fn attrs_for(repository: &str, policy: &str, registry_id: Option<&str>) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(repository));
    attrs.insert("repository".into(), Value::from(repository));
    attrs.insert("policy".into(), Value::from(policy));
    attrs.insert("registry_id".into(), Value::from(registry_id));
    complete(&SCHEMA, attrs)
}
