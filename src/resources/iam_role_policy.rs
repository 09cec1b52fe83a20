//! `aws_iam_role_policy`: an inline policy of a role, id `ROLE:NAME` as in
//! Terraform. PutRolePolicy both creates and replaces it. Without `name`,
//! the engine generates one (from `name_prefix`) as the provider does.

use std::sync::LazyLock;

use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

use super::naming::NameRule;
use super::support::{complete, copy_attrs, decode_policy, found, get_nonempty_str, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_iam_role_policy";
/// IAM takes inline policy names of at most 128 characters.
const NAMING: NameRule = NameRule::new("name", "name_prefix", 128);

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String).force_new(),
            Attr::optional_computed("name_prefix", Ty::String).force_new(),
            Attr::required("role", Ty::String).force_new(),
            Attr::required("policy", Ty::Json),
        ],
    )
});

pub struct IamRolePolicy;

#[async_trait]
impl ResourceType for IamRolePolicy {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        let role = get_nonempty_str(desired, "role")?;
        let name = get_nonempty_str(desired, "name")?;
        Some(format!("{role}:{name}"))
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let aws = ctx.aws;
        let reads = requests.iter().map(|req| async move {
            let (role, name) = split_id(&req.id)?;
            aws.count_call();
            let result =
                aws.iam.get_role_policy().role_name(role).policy_name(name).send().await.classify("iam:GetRolePolicy");
            let Some(out) = found(result, &[])? else {
                return Ok(None);
            };
            let mut attrs = Attrs::new();
            attrs.insert("id".into(), Value::from(req.id.as_str()));
            attrs.insert("role".into(), Value::from(out.role_name()));
            attrs.insert("name".into(), Value::from(out.policy_name()));
            attrs.insert("name_prefix".into(), NAMING.prefix_to_report(&req.prior, out.policy_name()));
            attrs.insert("policy".into(), Value::from(decode_policy(out.policy_document())));
            Ok::<_, ProviderError>(Some(complete(&SCHEMA, attrs)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let id = put(aws, desired).await?;
        Ok(Created { id: id.clone(), attrs: settled_attrs(&id, desired) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        _id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let id = put(aws, desired).await?;
        Ok(settled_attrs(&id, desired))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let (role, name) = split_id(id)?;
        aws.count_call();
        let result = aws
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .classify("iam:DeleteRolePolicy");
        found(result, &[]).map(|_| ())
    }
}

/// Writes the policy; returns its id.
async fn put(aws: &AwsCtx, desired: &Attrs) -> Result<String, ProviderError> {
    let role = require_str(desired, "role", TYPE_NAME)?;
    let name = require_str(desired, "name", TYPE_NAME)?;
    let policy = require_str(desired, "policy", TYPE_NAME)?;
    aws.count_call();
    aws.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(policy)
        .send()
        .await
        .classify("iam:PutRolePolicy")?;
    Ok(format!("{role}:{name}"))
}

fn settled_attrs(id: &str, desired: &Attrs) -> Attrs {
    let mut attrs = Attrs::new();
    copy_attrs(&mut attrs, desired, &["name", "name_prefix", "role", "policy"]);
    attrs.insert("id".into(), Value::from(id));
    complete(&SCHEMA, attrs)
}

/// Role and policy names cannot contain `:`, so the first one separates them.
fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':')
        .filter(|(role, name)| !role.is_empty() && !name.is_empty())
        .ok_or_else(|| ProviderError::Invalid(format!("{TYPE_NAME}: id {id:?} is not of the form ROLE:NAME")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_into_role_and_name() {
        assert_eq!(split_id("app:s3-read").ok(), Some(("app", "s3-read")));
        assert!(split_id("app").is_err());
        assert!(split_id(":x").is_err());
    }
}
