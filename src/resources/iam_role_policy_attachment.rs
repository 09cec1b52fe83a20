//! `aws_iam_role_policy_attachment`: a managed policy attached to a role,
//! id `ROLE|POLICY_ARN` (a role name cannot contain `|`). Reads list each
//! role's attachments once, however many attachments name that role.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{attached_role_policies, complete, found, get_nonempty_str, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_iam_role_policy_attachment";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("role", Ty::String).force_new(),
            Attr::required("policy_arn", Ty::String).force_new(),
        ],
    )
});

pub struct IamRolePolicyAttachment;

#[async_trait]
impl ResourceType for IamRolePolicyAttachment {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        let role = get_nonempty_str(desired, "role")?;
        let arn = get_nonempty_str(desired, "policy_arn")?;
        Some(attachment_id(role, arn))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let aws = ctx.aws;
        let ids = requests.iter().map(|r| split_id(&r.id)).collect::<Result<Vec<_>, _>>()?;
        let mut roles: Vec<&str> = ids.iter().map(|(role, _)| *role).collect();
        roles.sort_unstable();
        roles.dedup();
        // A role that no longer exists has no attachments.
        let lists = roles.iter().map(|role| async move { found(attached_role_policies(aws, role).await, &[]) });
        let attached: HashMap<&str, Vec<String>> =
            roles.iter().copied().zip(try_join_all(lists).await?.into_iter().map(Option::unwrap_or_default)).collect();
        Ok(ids
            .iter()
            .map(|(role, arn)| {
                let present = attached.get(role).is_some_and(|arns| arns.iter().any(|a| a == arn));
                present.then(|| attachment_attrs(role, arn))
            })
            .collect())
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let role = require_str(desired, "role", TYPE_NAME)?;
        let arn = require_str(desired, "policy_arn", TYPE_NAME)?;
        aws.count_call();
        aws.iam.attach_role_policy().role_name(role).policy_arn(arn).send().await.classify("iam:AttachRolePolicy")?;
        Ok(Created { id: attachment_id(role, arn), attrs: attachment_attrs(role, arn) })
    }

    async fn update(
        &self,
        _aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        _desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        // Both arguments force a replacement: nothing changes in place.
        let (role, arn) = split_id(id)?;
        Ok(attachment_attrs(role, arn))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let (role, arn) = split_id(id)?;
        aws.count_call();
        let result =
            aws.iam.detach_role_policy().role_name(role).policy_arn(arn).send().await.classify("iam:DetachRolePolicy");
        found(result, &[]).map(|_| ())
    }
}

fn attachment_id(role: &str, arn: &str) -> String {
    format!("{role}|{arn}")
}

fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once('|')
        .filter(|(role, arn)| !role.is_empty() && !arn.is_empty())
        .ok_or_else(|| ProviderError::Invalid(format!("{TYPE_NAME}: id {id:?} is not of the form ROLE|POLICY_ARN")))
}

fn attachment_attrs(role: &str, arn: &str) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(attachment_id(role, arn)));
    attrs.insert("role".into(), Value::from(role));
    attrs.insert("policy_arn".into(), Value::from(arn));
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let id = attachment_id("app", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly");
        assert_eq!(split_id(&id).ok(), Some(("app", "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly")));
        assert!(split_id("app").is_err());
    }
}
