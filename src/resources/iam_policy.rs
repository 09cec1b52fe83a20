//! `aws_iam_policy`: a customer-managed IAM policy, id its ARN as in
//! Terraform. A changed document becomes a new default policy version; IAM
//! keeps at most five, so like the provider the oldest non-default one is
//! deleted first when five exist. Delete removes the non-default versions,
//! then the policy (IAM refuses to delete a policy that still has them).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_iam::types::{Policy, PolicyVersion};
use futures::future::try_join_all;
use serde_json::Value;

use super::naming::{prefix_of, NameRule};
use super::support::{
    complete, copy_attrs, create_tags, decode_policy, found, get_nonempty_str, get_str, get_tags, has_owner_tags,
    iam_tag_list, iam_tags, require_str, same_json, tag_changes, tags_to_json, update_iam_tags, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_iam_policy";
/// The most versions IAM keeps of one policy.
const MAX_VERSIONS: usize = 5;
/// IAM takes policy names of at most 128 characters.
const NAMING: NameRule = NameRule::new("name", "name_prefix", 128);

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String).force_new(),
            Attr::optional_computed("name_prefix", Ty::String).force_new(),
            Attr::optional("path", Ty::String).default("/").force_new(),
            // IAM has no call that changes a policy's description.
            Attr::optional("description", Ty::String).force_new(),
            Attr::required("policy", Ty::Json),
            Attr::computed("arn", Ty::String),
            Attr::computed("policy_id", Ty::String),
            Attr::computed("attachment_count", Ty::Number),
        ],
    )
    .taggable()
});

pub struct IamPolicy;

#[async_trait]
impl ResourceType for IamPolicy {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    /// The id is an ARN holding the account id, which the arguments do not
    /// give: an interrupted create is found by its tags instead.
    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        for arn in local_policy_arns(aws).await? {
            if let Some(tags) = found(list_tags(aws, &arn).await, &[])? {
                if has_owner_tags(&tags, owner_tags) {
                    return Ok(Some(arn));
                }
            }
        }
        Ok(None)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let aws = ctx.aws;
        let reads = requests.iter().map(|req| async move {
            aws.count_call();
            let result = aws.iam.get_policy().policy_arn(&req.id).send().await.classify("iam:GetPolicy");
            let Some(policy) = found(result, &[])?.and_then(|out| out.policy) else { return Ok(None) };
            let Some(version) = policy.default_version_id() else { return Ok(None) };
            aws.count_call();
            let result = aws
                .iam
                .get_policy_version()
                .policy_arn(&req.id)
                .version_id(version)
                .send()
                .await
                .classify("iam:GetPolicyVersion");
            let Some(document) = found(result, &[])?.and_then(|o| o.policy_version).and_then(|v| v.document) else {
                return Ok(None);
            };
            // GetPolicy's own tags first: the stack's tag read (which IAM is
            // not part of) need not be waited for.
            let tags = match (policy.tags.as_deref(), ctx.tags_by_arn().await.get(&req.id)) {
                (Some(tags), _) => iam_tags(tags),
                (None, Some(tags)) => tags.clone(),
                (None, None) => match found(list_tags(aws, &req.id).await, &[])? {
                    Some(tags) => tags,
                    None => return Ok(None),
                },
            };
            let document = decode_policy(&document);
            Ok::<_, ProviderError>(Some(policy_attrs(&policy, &req.prior, &document, visible_tags(&tags))))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "iam:CreatePolicy";
        let document = require_str(desired, "policy", TYPE_NAME)?;
        let name = policy_name(desired);
        aws.count_call();
        let out = aws
            .iam
            .create_policy()
            .policy_name(&name)
            .policy_document(document)
            .set_path(get_nonempty_str(desired, "path").map(str::to_string))
            .set_description(get_nonempty_str(desired, "description").map(str::to_string))
            .set_tags(Some(iam_tag_list(CALL, create_tags(desired, owner_tags))?))
            .send()
            .await
            .classify(CALL)?;
        let policy = out.policy().ok_or_else(|| ProviderError::empty_response(CALL, "policy"))?;
        let arn = policy.arn().ok_or_else(|| ProviderError::empty_response(CALL, "policy ARN"))?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(Created { id: arn.to_string(), attrs: policy_attrs(policy, desired, document, tags_all) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let document = require_str(desired, "policy", TYPE_NAME)?;
        if !same_json(get_str(prior, "policy"), Some(document)) {
            new_default_version(aws, id, document).await?;
        }
        update_iam_tags(
            aws,
            tag_changes(prior, desired, owner_tags),
            "iam:TagPolicy",
            |tags| async move {
                aws.iam.tag_policy().policy_arn(id).set_tags(Some(tags)).send().await.classify("iam:TagPolicy")?;
                Ok(())
            },
            |keys| async move {
                aws.iam
                    .untag_policy()
                    .policy_arn(id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .classify("iam:UntagPolicy")?;
                Ok(())
            },
        )
        .await?;
        let mut attrs = prior.clone();
        copy_attrs(&mut attrs, desired, &["policy", "tags", "tags_all"]);
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let Some(versions) = found(list_versions(aws, id).await, &[])? else { return Ok(()) };
        for version in versions.iter().filter(|v| !v.is_default_version()) {
            if let Some(version_id) = version.version_id() {
                delete_version(aws, id, version_id).await?;
            }
        }
        aws.count_call();
        let result = aws.iam.delete_policy().policy_arn(id).send().await.classify("iam:DeletePolicy");
        found(result, &[]).map(|_| ())
    }
}

/// `name`, which the engine sets before the create (generated from
/// `name_prefix` when the configuration gives no name).
fn policy_name(desired: &Attrs) -> String {
    match get_nonempty_str(desired, "name") {
        Some(name) => name.to_string(),
        None => NAMING.generate(desired),
    }
}

/// Makes `document` the default version, first deleting the oldest
/// non-default version when IAM already holds the most it keeps.
async fn new_default_version(aws: &AwsCtx, arn: &str, document: &str) -> Result<(), ProviderError> {
    let versions = list_versions(aws, arn).await?;
    if versions.len() >= MAX_VERSIONS {
        let oldest = versions
            .iter()
            .filter(|v| !v.is_default_version())
            .min_by_key(|v| v.create_date().map(|d| (d.secs(), d.subsec_nanos())))
            .and_then(PolicyVersion::version_id);
        if let Some(oldest) = oldest {
            delete_version(aws, arn, oldest).await?;
        }
    }
    aws.count_call();
    aws.iam
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(document)
        .set_as_default(true)
        .send()
        .await
        .classify("iam:CreatePolicyVersion")?;
    Ok(())
}

async fn delete_version(aws: &AwsCtx, arn: &str, version: &str) -> Result<(), ProviderError> {
    aws.count_call();
    let result = aws
        .iam
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .classify("iam:DeletePolicyVersion");
    found(result, &[]).map(|_| ())
}

async fn list_versions(aws: &AwsCtx, arn: &str) -> Result<Vec<PolicyVersion>, ProviderError> {
    let mut versions = Vec::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_policy_versions()
            .policy_arn(arn)
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListPolicyVersions")?;
        versions.extend(out.versions().iter().cloned());
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(versions);
        }
    }
}

async fn list_tags(aws: &AwsCtx, arn: &str) -> Result<Tags, ProviderError> {
    let mut tags = Tags::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_policy_tags()
            .policy_arn(arn)
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListPolicyTags")?;
        tags.extend(iam_tags(out.tags()));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(tags);
        }
    }
}

/// ARNs of the account's customer-managed policies, every page.
async fn local_policy_arns(aws: &AwsCtx) -> Result<Vec<String>, ProviderError> {
    let mut arns = Vec::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListPolicies")?;
        arns.extend(out.policies().iter().filter_map(|p| p.arn().map(str::to_string)));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(arns);
        }
    }
}

fn policy_attrs(policy: &Policy, args: &Attrs, document: &str, tags_all: Value) -> Attrs {
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(policy.arn()));
    attrs.insert("arn".into(), Value::from(policy.arn()));
    attrs.insert("name".into(), Value::from(policy.policy_name()));
    attrs.insert("policy_id".into(), Value::from(policy.policy_id()));
    attrs.insert("path".into(), Value::from(policy.path().unwrap_or("/")));
    // CreatePolicy's answer may leave the description out (moto's does).
    let description = policy.description().or_else(|| get_str(args, "description")).filter(|d| !d.is_empty());
    attrs.insert("description".into(), Value::from(description));
    attrs.insert("attachment_count".into(), Value::from(policy.attachment_count().unwrap_or(0)));
    attrs.insert("policy".into(), Value::from(document));
    // AWS does not keep the prefix a name was made from: state knows it, an
    // import (whose hint has no id) recovers it from the name.
    copy_attrs(&mut attrs, args, &["tags"]);
    let name_prefix = match get_nonempty_str(args, "name_prefix") {
        Some(prefix) => Some(prefix),
        None if !args.contains_key("id") && args.contains_key("name_prefix") => {
            policy.policy_name().and_then(prefix_of)
        }
        None => None,
    };
    attrs.insert("name_prefix".into(), Value::from(name_prefix));
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_name_then_prefix_then_the_default() {
        let named = json!({"name": "app", "name_prefix": null});
        assert_eq!(policy_name(named.as_object().unwrap()), "app");
        let prefixed = json!({"name": null, "name_prefix": "ci-"});
        let name = policy_name(prefixed.as_object().unwrap());
        assert!(name.starts_with("ci-") && name.len() == 3 + 26, "{name}");
        assert!(policy_name(&Attrs::new()).starts_with("terraform-"));
        assert_eq!(prefix_of(&name), Some("ci-"));
    }
}
