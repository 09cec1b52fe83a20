//! `data "aws_iam_policy"`: a managed policy by ARN, or by name (and path
//! prefix) among the account's and AWS's policies, with its default version's
//! document (IAM GetPolicy / ListPolicies, then GetPolicyVersion).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_iam::types::Policy;
use serde_json::Value;

use super::opt;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, decode_policy, get_nonempty_str, iam_tags, tags_to_json};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

const TYPE: &str = "aws_iam_policy";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("arn", Ty::String),
            Attr::optional_computed("name", Ty::String),
            Attr::optional("path_prefix", Ty::String),
            Attr::optional_computed("tags", Ty::MapOfString),
            Attr::computed("attachment_count", Ty::Number),
            Attr::computed("description", Ty::String),
            Attr::computed("path", Ty::String),
            Attr::computed("policy", Ty::String),
            Attr::computed("policy_id", Ty::String),
        ],
    )
});

pub struct IamPolicy;

#[async_trait]
impl DataSource for IamPolicy {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let arn = match get_nonempty_str(args, "arn") {
            Some(arn) => arn.to_string(),
            None => find_by_name(aws, args).await?,
        };
        aws.count_call();
        let out = aws.iam.get_policy().policy_arn(&arn).send().await.classify("iam:GetPolicy")?;
        let policy = out.policy().ok_or_else(|| ProviderError::empty_response("iam:GetPolicy", "policy"))?;
        let document = match policy.default_version_id() {
            Some(version) => {
                aws.count_call();
                let out = aws
                    .iam
                    .get_policy_version()
                    .policy_arn(&arn)
                    .version_id(version)
                    .send()
                    .await
                    .classify("iam:GetPolicyVersion")?;
                out.policy_version().and_then(|v| v.document()).map(decode_policy)
            }
            None => None,
        };
        let mut attrs = args.clone();
        attrs.insert("id".into(), Value::from(arn.as_str()));
        attrs.insert("arn".into(), Value::from(arn.as_str()));
        attrs.insert("name".into(), opt(policy.policy_name()));
        attrs.insert("path".into(), opt(policy.path()));
        attrs.insert("description".into(), Value::from(policy.description().unwrap_or("")));
        attrs.insert("policy_id".into(), opt(policy.policy_id()));
        attrs.insert("attachment_count".into(), policy.attachment_count().map(Value::from).unwrap_or(Value::Null));
        attrs.insert("policy".into(), opt(document.as_deref()));
        attrs.insert("tags".into(), tags_to_json(&iam_tags(policy.tags())));
        Ok(complete(&SCHEMA, attrs))
    }
}

/// The ARN of the one policy with the name (and path prefix) asked for.
async fn find_by_name(aws: &AwsCtx, args: &Attrs) -> Result<String, ProviderError> {
    let name = get_nonempty_str(args, "name");
    let prefix = get_nonempty_str(args, "path_prefix");
    if name.is_none() && prefix.is_none() {
        return Err(ProviderError::Invalid(format!("{TYPE}: one of \"arn\", \"name\" or \"path_prefix\" must be set")));
    }
    let mut found: Vec<Policy> = Vec::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_policies()
            .set_path_prefix(prefix.map(str::to_string))
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListPolicies")?;
        found.extend(out.policies().iter().filter(|p| name.is_none() || p.policy_name() == name).cloned());
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    let criteria = format!("name: {}, path prefix: {}", name.unwrap_or(""), prefix.unwrap_or(""));
    match found.as_slice() {
        [] => Err(ProviderError::Invalid(format!(
            "no IAM Policy found matching criteria ({criteria}); try different search"
        ))),
        [one] => one.arn().map(str::to_string).ok_or_else(|| ProviderError::empty_response("iam:ListPolicies", "ARN")),
        _ => Err(ProviderError::Invalid(format!(
            "multiple IAM Policies found matching criteria ({criteria}); try different search"
        ))),
    }
}
