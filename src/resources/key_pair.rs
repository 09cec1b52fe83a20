//! `aws_key_pair`: a public key imported into EC2 (ImportKeyPair); the id is
//! the key name, which is also what import takes.
//!
//! - `public_key` is kept in state as written and read from EC2 only when
//!   state holds none (an import): EC2 hands the key back re-encoded (no
//!   comment, other whitespace), which would otherwise read as a change.
//!   A key swapped by hand under the same name shows as drift of
//!   `fingerprint`.
//! - Without `key_name`, the engine names the key as the provider does
//!   (`key_name_prefix` or `terraform-`, then a UTC timestamp and a counter)
//!   and journals the name before the create, so a key made by a create cut
//!   short is found again by its name.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ec2::types::{KeyPairInfo, ResourceType as Ec2ResourceType};
use aws_smithy_types::Blob;
use futures::future::try_join_all;
use serde_json::Value;

use super::naming::NameRule;
use super::support::{
    complete, create_tags, describe_many, ec2_owner_filters, ec2_tag_spec, ec2_tags, ec2_update_tags, get_nonempty_str,
    get_str, get_tags, partition, require_str, tags_to_json, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_key_pair";
/// EC2 takes key names of at most 255 characters.
const NAMING: NameRule = NameRule::new("key_name", "key_name_prefix", 255);
/// EC2's code for a key name it does not know.
const NOT_FOUND: &str = "InvalidKeyPair.NotFound";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("key_name", Ty::String).force_new(),
            Attr::optional_computed("key_name_prefix", Ty::String).force_new(),
            Attr::required("public_key", Ty::String).force_new(),
            Attr::computed("arn", Ty::String),
            Attr::computed("fingerprint", Ty::String),
            Attr::computed("key_pair_id", Ty::String),
            Attr::computed("key_type", Ty::String),
        ],
    )
    .taggable()
});

pub struct KeyPair;

#[async_trait]
impl ResourceType for KeyPair {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "key_name").map(str::to_string)
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        let keys = describe(aws, &[], ec2_owner_filters(owner_tags)).await?;
        Ok(keys.iter().find_map(|k| k.key_name().map(str::to_string)))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let aws = ctx.aws;
        let mut names: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let keys = describe_many(&names, |names| async move { describe(aws, &names, Vec::new()).await }).await?;
        let by_name: HashMap<&str, &KeyPairInfo> = keys.iter().filter_map(|k| Some((k.key_name()?, k))).collect();
        let reads = requests.iter().map(|req| {
            let key = by_name.get(req.id.as_str()).copied();
            async move {
                let Some(key) = key else { return Ok(None) };
                // The ARN needs the account, which only STS says; state
                // keeps it, so only an import asks.
                let arn = match get_nonempty_str(&req.prior, "arn") {
                    Some(arn) => arn.to_string(),
                    None => arn(aws, &aws.account_id().await?, &req.id),
                };
                let tags = visible_tags(&ec2_tags(key.tags()));
                Ok::<_, ProviderError>(Some(key_attrs(key, &req.prior, arn, tags)))
            }
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "ec2:ImportKeyPair";
        let public_key = require_str(desired, "public_key", TYPE_NAME)?;
        let name = match get_nonempty_str(desired, "key_name") {
            Some(name) => name.to_string(),
            None => NAMING.generate(desired),
        };
        aws.count_call();
        let out = aws
            .ec2
            .import_key_pair()
            .key_name(&name)
            .public_key_material(Blob::new(public_key.as_bytes()))
            .tag_specifications(ec2_tag_spec(Ec2ResourceType::KeyPair, create_tags(desired, owner_tags)))
            .send()
            .await
            .classify(CALL)
            .map_err(|e| match e {
                ProviderError::Api { code, message, .. } if code == "InvalidKeyPair.Duplicate" => {
                    ProviderError::AlreadyExists { call: CALL, code, message }
                }
                other => other,
            })?;
        // ImportKeyPair does not say the key type; one describe does.
        let key = describe(aws, &[&name], Vec::new()).await?.into_iter().next();
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(name.clone()));
        attrs.insert("key_name".into(), Value::from(name.clone()));
        attrs.insert("key_name_prefix".into(), desired.get("key_name_prefix").cloned().unwrap_or(Value::Null));
        attrs.insert("public_key".into(), Value::from(public_key));
        attrs.insert("arn".into(), Value::from(arn(aws, &aws.account_id().await?, &name)));
        attrs.insert("fingerprint".into(), Value::from(out.key_fingerprint()));
        attrs.insert("key_pair_id".into(), Value::from(out.key_pair_id()));
        attrs.insert("key_type".into(), Value::from(key.as_ref().and_then(|k| k.key_type()).map(|t| t.as_str())));
        attrs.insert("tags".into(), desired.get("tags").cloned().unwrap_or(Value::Null));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        Ok(Created { id: name, attrs: complete(&SCHEMA, attrs) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        // Everything but the tags forces a replacement.
        let key_pair_id = get_nonempty_str(prior, "key_pair_id").unwrap_or(id);
        ec2_update_tags(aws, key_pair_id, prior, desired, owner_tags).await?;
        let mut attrs = prior.clone();
        attrs.insert("tags".into(), desired.get("tags").cloned().unwrap_or(Value::Null));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result = aws.ec2.delete_key_pair().key_name(id).send().await.classify("ec2:DeleteKeyPair");
        super::support::found(result, &[NOT_FOUND]).map(|_| ())
    }
}

fn arn(aws: &AwsCtx, account: &str, name: &str) -> String {
    format!("arn:{}:ec2:{}:{account}:key-pair/{name}", partition(&aws.region), aws.region)
}

/// The attributes of a live key; `prior` keeps the key as written.
fn key_attrs(key: &KeyPairInfo, prior: &Attrs, arn: String, tags_all: Value) -> Attrs {
    let name = key.key_name().unwrap_or_default();
    let public_key = match get_str(prior, "public_key").filter(|k| !k.is_empty()) {
        Some(written) => Value::from(written),
        None => Value::from(key.public_key()),
    };
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(name));
    attrs.insert("key_name".into(), Value::from(name));
    attrs.insert("key_name_prefix".into(), NAMING.prefix_to_report(prior, name));
    attrs.insert("public_key".into(), public_key);
    attrs.insert("arn".into(), Value::from(arn));
    attrs.insert("fingerprint".into(), Value::from(key.key_fingerprint()));
    attrs.insert("key_pair_id".into(), Value::from(key.key_pair_id()));
    attrs.insert("key_type".into(), Value::from(key.key_type().map(|t| t.as_str())));
    attrs.insert("tags".into(), prior.get("tags").cloned().unwrap_or(Value::Null));
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}

/// DescribeKeyPairs by names or by filters, with the public keys. A name EC2
/// does not know fails the whole call, as `NotFound`.
async fn describe(
    aws: &AwsCtx,
    names: &[&str],
    filters: Vec<aws_sdk_ec2::types::Filter>,
) -> Result<Vec<KeyPairInfo>, ProviderError> {
    const CALL: &str = "ec2:DescribeKeyPairs";
    aws.count_call();
    let mut request = aws.ec2.describe_key_pairs().include_public_key(true);
    if !names.is_empty() {
        request = request.set_key_names(Some(names.iter().map(|n| n.to_string()).collect()));
    }
    if !filters.is_empty() {
        request = request.set_filters(Some(filters));
    }
    match request.send().await.classify(CALL) {
        Ok(out) => Ok(out.key_pairs.unwrap_or_default()),
        Err(e) if e.code() == Some(NOT_FOUND) => Err(ProviderError::NotFound { call: CALL }),
        Err(e) => Err(e),
    }
}
