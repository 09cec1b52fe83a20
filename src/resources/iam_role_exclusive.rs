//! What `aws_iam_role_policies_exclusive` and
//! `aws_iam_role_policy_attachments_exclusive` have in common: the complete
//! list of one kind of policy a role holds. Applying it removes every live
//! entry that is not listed; a read reports what the role really holds, so
//! one added by hand shows as drift. Like the provider, destroy only stops
//! managing the list. Id: the role name. Each type supplies its list
//! attribute and its two IAM calls ([`RoleListApi`]).

use async_trait::async_trait;
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{complete, found, get_nonempty_str, get_strings, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ProviderError, Tags};

/// The IAM calls of one kind of role policy list.
#[async_trait]
pub(super) trait RoleListApi: Send + Sync {
    fn schema(&self) -> &Schema;
    /// The set attribute holding the list (`policy_names`, `policy_arns`).
    fn list_attr(&self) -> &'static str;
    async fn live(&self, aws: &AwsCtx, role: &str) -> Result<Vec<String>, ProviderError>;
    async fn remove(&self, aws: &AwsCtx, role: &str, entry: &str) -> Result<(), ProviderError>;
}

/// The schema both types share, with the list attribute's name.
pub(super) fn schema(type_name: &'static str, list_attr: &'static str) -> Schema {
    Schema::new(
        type_name,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("role_name", Ty::String).force_new(),
            Attr::required(list_attr, Ty::SetOfString),
        ],
    )
}

/// An exclusive role policy list, over the calls of its kind.
pub struct RoleExclusive<A>(pub A);

#[async_trait]
impl<A: RoleListApi> ResourceType for RoleExclusive<A> {
    fn schema(&self) -> &Schema {
        self.0.schema()
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "role_name").map(str::to_string)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            let Some(entries) = found(self.0.live(ctx.aws, &req.id).await, &[])? else { return Ok(None) };
            Ok::<_, ProviderError>(Some(self.attrs_for(&req.id, entries)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let role = require_str(desired, "role_name", self.0.schema().type_name)?;
        let kept = self.enforce(aws, role, desired).await?;
        Ok(Created { id: role.to_string(), attrs: self.attrs_for(role, kept) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let kept = self.enforce(aws, id, desired).await?;
        Ok(self.attrs_for(id, kept))
    }

    async fn delete(&self, _aws: &AwsCtx, _id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        Ok(())
    }
}

impl<A: RoleListApi> RoleExclusive<A> {
    /// Removes the live entries that are not listed; returns the listed ones.
    async fn enforce(&self, aws: &AwsCtx, role: &str, desired: &Attrs) -> Result<Vec<String>, ProviderError> {
        let wanted = get_strings(desired, self.0.list_attr());
        let live = self.0.live(aws, role).await?;
        let removals = live
            .iter()
            .filter(|entry| !wanted.contains(entry))
            .map(|entry| async move { found(self.0.remove(aws, role, entry).await, &[]).map(|_| ()) });
        try_join_all(removals).await?;
        Ok(wanted)
    }

    fn attrs_for(&self, role: &str, entries: Vec<String>) -> Attrs {
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(role));
        attrs.insert("role_name".into(), Value::from(role));
        attrs.insert(self.0.list_attr().into(), Value::from(entries));
        complete(self.0.schema(), attrs)
    }
}
