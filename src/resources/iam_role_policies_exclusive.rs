//! `aws_iam_role_policies_exclusive`: the complete list of a role's inline
//! policies. Applying it deletes every inline policy of the role that is not
//! listed; a read reports the names the role really has, so one added by
//! hand shows as drift. Like the provider, destroy only stops managing the
//! list (the policies themselves belong to `aws_iam_role_policy`). Id: the
//! role name.

use std::sync::LazyLock;

use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

use super::iam_role::inline_policy_names;
use super::support::{complete, found, get_nonempty_str, get_strings, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_iam_role_policies_exclusive";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("role_name", Ty::String).force_new(),
            Attr::required("policy_names", Ty::SetOfString),
        ],
    )
});

pub struct IamRolePoliciesExclusive;

#[async_trait]
impl ResourceType for IamRolePoliciesExclusive {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "role_name").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            let Some(names) = found(inline_policy_names(ctx.aws, &req.id).await, &[])? else { return Ok(None) };
            Ok::<_, ProviderError>(Some(attrs_for(&req.id, names)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let role = require_str(desired, "role_name", TYPE_NAME)?;
        let kept = enforce(aws, role, desired).await?;
        Ok(Created { id: role.to_string(), attrs: attrs_for(role, kept) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let kept = enforce(aws, id, desired).await?;
        Ok(attrs_for(id, kept))
    }

    async fn delete(&self, _aws: &AwsCtx, _id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        Ok(())
    }
}

/// Deletes the role's inline policies that are not listed; returns the
/// listed names.
async fn enforce(aws: &AwsCtx, role: &str, desired: &Attrs) -> Result<Vec<String>, ProviderError> {
    let wanted = get_strings(desired, "policy_names");
    let live = inline_policy_names(aws, role).await?;
    let deletes = live.iter().filter(|name| !wanted.contains(name)).map(|name| async move {
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
    });
    try_join_all(deletes).await?;
    Ok(wanted)
}

fn attrs_for(role: &str, names: Vec<String>) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(role));
    attrs.insert("role_name".into(), Value::from(role));
    attrs.insert("policy_names".into(), Value::from(names));
    complete(&SCHEMA, attrs)
}
