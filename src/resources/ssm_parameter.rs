//! `aws_ssm_parameter`: a Systems Manager parameter. The value of a
//! SecureString (and of any `value`) is a secret: it goes to AWS and back into
//! the attribute map, never into an error message or a log line.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ssm::types::{
    Parameter, ParameterMetadata, ParameterStringFilter, ParameterTier, ParameterType, ResourceTypeForTagging, Tag,
};
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{
    built, complete, copy_attrs, create_tags, found, get_nonempty_str, get_str, get_tags, partition, redact,
    require_str, tag_changes, tags_to_json, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_ssm_parameter";
const TYPES: &[&str] = &["String", "StringList", "SecureString"];
/// GetParameters refuses more names than this.
const GET_BATCH: usize = 10;
/// The most values one DescribeParameters filter takes.
const DESCRIBE_BATCH: usize = 50;
const INTELLIGENT_TIERING: &str = "Intelligent-Tiering";
/// The key AWS uses for a SecureString created without `key_id`.
const DEFAULT_KEY_ID: &str = "alias/aws/ssm";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("name", Ty::String).force_new(),
            Attr::required("type", Ty::String),
            Attr::optional_computed("value", Ty::String).sensitive(),
            Attr::optional("insecure_value", Ty::String),
            Attr::optional("description", Ty::String),
            Attr::optional("tier", Ty::String).default("Standard"),
            Attr::optional_computed("key_id", Ty::String),
            Attr::optional("data_type", Ty::String).default("text"),
            Attr::optional("allowed_pattern", Ty::String),
            Attr::optional("overwrite", Ty::Bool),
            Attr::computed("arn", Ty::String),
            Attr::computed("version", Ty::Number).changes_on_update(),
        ],
    )
    .omit(
        "value_wo",
        "a write-only argument: it needs Terraform's ephemeral values, which gantry's language does not have; \
         gantry never stores a secret in state, so `value` from a sensitive variable gives the same guarantee",
    )
    .omit("value_wo_version", "only used with value_wo (see there)")
    .omit("has_value_wo", "only reports whether value_wo was used (see there)")
    .taggable()
});

pub struct SsmParameter;

#[async_trait]
impl ResourceType for SsmParameter {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        get_nonempty_str(desired, "name").map(str::to_string)
    }

    async fn owner_tags_of(&self, aws: &AwsCtx, id: &str, _live: &Attrs) -> Result<Option<Tags>, ProviderError> {
        list_tags(aws, id).await.map(Some)
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let aws = ctx.aws;
        let mut names: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        let (params, metas) = futures::try_join!(get_parameters(aws, &names, true), describe_parameters(aws, &names))?;

        let results = requests.iter().map(|req| {
            let param = params.get(&req.id);
            let metas = &metas;
            async move {
                let Some(param) = param else {
                    return Ok(None);
                };
                let arn = param.arn().unwrap_or_default();
                let tags = match ctx.tags_by_arn().await.get(arn) {
                    Some(tags) => tags.clone(),
                    None => match found(list_tags(aws, &req.id).await, &["InvalidResourceId"])? {
                        Some(tags) => tags,
                        None => return Ok(None),
                    },
                };
                Ok::<_, ProviderError>(Some(live_attrs(param, metas.get(&req.id), &req.prior, &tags)))
            }
        });
        try_join_all(results).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        let name = require_str(desired, "name", TYPE_NAME)?;
        let stored = check_args(desired, true)?;
        let secret = stored.text;
        let mut request = put_request(aws, desired, secret, false);
        for (key, value) in create_tags(desired, owner_tags) {
            request = request.tags(built("ssm:PutParameter", Tag::builder().key(key).value(value).build())?);
        }
        // The account for the ARN is asked once a command, beside the create.
        aws.count_call();
        let (out, account) = futures::try_join!(
            async { request.send().await.classify("ssm:PutParameter").map_err(|e| redact(e, Some(secret))) },
            aws.account_id(),
        )?;

        // PutParameter answers with the version and tier; everything else is
        // the configuration, and the ARN is AWS's documented form. No read-back.
        let mut attrs = settable_attrs(desired, &stored);
        attrs.insert("tier".into(), Value::from(out.tier().map(|t| t.as_str()).or(get_str(desired, "tier"))));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        attrs.insert("arn".into(), Value::from(parameter_arn(&aws.region, &account, name)));
        attrs.insert("version".into(), Value::from(out.version()));
        Ok(Created { id: name.to_string(), attrs: complete(&SCHEMA, attrs) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let stored = check_args(desired, false)?;
        let secret = stored.text;
        let mut version = prior.get("version").cloned().unwrap_or(Value::Null);
        if needs_put(prior, desired, &stored) {
            let mut request = put_request(aws, desired, secret, true).name(id);
            // Omitting these would leave the old text in place.
            for name in ["description", "allowed_pattern"] {
                if prior.get(name) != desired.get(name) {
                    let text = get_str(desired, name).unwrap_or_default();
                    request = match name {
                        "description" => request.description(text),
                        _ => request.allowed_pattern(text),
                    };
                }
            }
            aws.count_call();
            let out = request.send().await.classify("ssm:PutParameter").map_err(|e| redact(e, Some(secret)))?;
            version = Value::from(out.version());
        }

        let changes = tag_changes(prior, desired, owner_tags);
        if !changes.set.is_empty() {
            let mut request =
                aws.ssm.add_tags_to_resource().resource_type(ResourceTypeForTagging::Parameter).resource_id(id);
            for (key, value) in changes.set {
                request = request.tags(built("ssm:AddTagsToResource", Tag::builder().key(key).value(value).build())?);
            }
            aws.count_call();
            request.send().await.classify("ssm:AddTagsToResource")?;
        }
        if !changes.remove.is_empty() {
            aws.count_call();
            aws.ssm
                .remove_tags_from_resource()
                .resource_type(ResourceTypeForTagging::Parameter)
                .resource_id(id)
                .set_tag_keys(Some(changes.remove))
                .send()
                .await
                .classify("ssm:RemoveTagsFromResource")?;
        }

        let mut attrs = settable_attrs(desired, &stored);
        attrs.insert("id".into(), Value::from(id));
        attrs.insert("tags_all".into(), tags_to_json(&get_tags(desired, "tags_all")));
        copy_attrs(&mut attrs, prior, &["arn"]);
        attrs.insert("version".into(), version);
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        aws.count_call();
        let result = aws.ssm.delete_parameter().name(id).send().await.classify("ssm:DeleteParameter");
        found(result, &[]).map(|_| ())
    }
}

/// The text a parameter stores, and which argument holds it.
#[derive(Debug, PartialEq)]
struct Stored<'a> {
    text: &'a str,
    /// From `insecure_value` (shown in plans) rather than `value`.
    insecure: bool,
}

/// Validates what AWS would reject less clearly, and picks the value to store.
fn check_args(desired: &Attrs, creating: bool) -> Result<Stored<'_>, ProviderError> {
    let ty = require_str(desired, "type", TYPE_NAME)?;
    if !TYPES.contains(&ty) {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"type\" must be one of {}, not {ty:?}",
            TYPES.join(", ")
        )));
    }
    let stored = match (get_str(desired, "value"), get_str(desired, "insecure_value")) {
        (Some(text), None) => Stored { text, insecure: false },
        (None, Some(text)) => Stored { text, insecure: true },
        // `value` is optional-computed: after a switch to `insecure_value`,
        // the planner carries the old (sealed) value over. Only a create
        // sees exactly what the stack said.
        (Some(_), Some(text)) if !creating => Stored { text, insecure: true },
        _ => {
            return Err(ProviderError::Invalid(format!(
                "{TYPE_NAME}: exactly one of \"value\" and \"insecure_value\" must be set"
            )))
        }
    };
    if stored.insecure && ty == "SecureString" {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"insecure_value\" cannot hold a SecureString; use \"value\""
        )));
    }
    Ok(stored)
}

/// Whether anything PutParameter carries changed (tags go separately).
fn needs_put(prior: &Attrs, desired: &Attrs, stored: &Stored<'_>) -> bool {
    let changed = |name: &str| prior.get(name).unwrap_or(&Value::Null) != desired.get(name).unwrap_or(&Value::Null);
    let key_changed = get_str(desired, "key_id").is_some() && changed("key_id");
    // State keeps no secret (null or a hash in its place); then the values
    // differ and the parameter is written again, costing only a version.
    let before = match get_str(prior, "insecure_value") {
        Some(text) => Some(Stored { text, insecure: true }),
        None => get_str(prior, "value").map(|text| Stored { text, insecure: false }),
    };
    before.as_ref() != Some(stored)
        || ["type", "description", "tier", "data_type", "allowed_pattern"].into_iter().any(changed)
        || key_changed
}

fn put_request(
    aws: &AwsCtx,
    desired: &Attrs,
    value: &str,
    overwrite: bool,
) -> aws_sdk_ssm::operation::put_parameter::builders::PutParameterFluentBuilder {
    let ty = get_str(desired, "type").unwrap_or_default();
    let mut request = aws
        .ssm
        .put_parameter()
        .set_name(get_str(desired, "name").map(str::to_string))
        .value(value)
        .r#type(ParameterType::from(ty));
    if overwrite {
        request = request.overwrite(true);
    }
    if let Some(text) = get_nonempty_str(desired, "description") {
        request = request.description(text);
    }
    if let Some(tier) = get_nonempty_str(desired, "tier") {
        request = request.tier(ParameterTier::from(tier));
    }
    if let Some(key) = get_nonempty_str(desired, "key_id") {
        request = request.key_id(key);
    }
    if let Some(data_type) = get_nonempty_str(desired, "data_type") {
        request = request.data_type(data_type);
    }
    if let Some(pattern) = get_nonempty_str(desired, "allowed_pattern") {
        request = request.allowed_pattern(pattern);
    }
    request
}

/// The arguments as a create or update leaves them.
fn settable_attrs(desired: &Attrs, stored: &Stored<'_>) -> Attrs {
    let mut attrs = Attrs::new();
    copy_attrs(
        &mut attrs,
        desired,
        &["name", "type", "description", "tier", "data_type", "allowed_pattern", "overwrite", "tags"],
    );
    let (holder, other) = if stored.insecure { ("insecure_value", "value") } else { ("value", "insecure_value") };
    attrs.insert(holder.into(), Value::from(stored.text));
    attrs.insert(other.into(), Value::Null);
    attrs.insert("id".into(), desired.get("name").cloned().unwrap_or(Value::Null));
    attrs.insert("key_id".into(), Value::from(expected_key_id(desired)));
    attrs
}

fn expected_key_id(desired: &Attrs) -> Option<&str> {
    match get_nonempty_str(desired, "key_id") {
        Some(key) => Some(key),
        None if get_str(desired, "type") == Some("SecureString") => Some(DEFAULT_KEY_ID),
        None => None,
    }
}

fn live_attrs(param: &Parameter, meta: Option<&ParameterMetadata>, prior: &Attrs, tags: &Tags) -> Attrs {
    let name = param.name().unwrap_or_default();
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(name));
    attrs.insert("name".into(), Value::from(name));
    attrs.insert("type".into(), Value::from(param.r#type().map(|t| t.as_str())));
    // Whichever of the two the stack used holds the live value.
    let (value_key, other_key) = if get_str(prior, "insecure_value").is_some() {
        ("insecure_value", "value")
    } else {
        ("value", "insecure_value")
    };
    attrs.insert(value_key.into(), Value::from(param.value()));
    attrs.insert(other_key.into(), Value::Null);
    attrs.insert("description".into(), Value::from(meta.and_then(|m| m.description()).filter(|s| !s.is_empty())));
    // Intelligent-Tiering is a policy, not a tier: AWS reports the tier it chose.
    let tier = match get_str(prior, "tier") {
        Some(INTELLIGENT_TIERING) => INTELLIGENT_TIERING,
        _ => meta.and_then(|m| m.tier()).map_or("Standard", |t| t.as_str()),
    };
    attrs.insert("tier".into(), Value::from(tier));
    attrs.insert("key_id".into(), Value::from(meta.and_then(|m| m.key_id())));
    let data_type = param.data_type().or(meta.and_then(|m| m.data_type())).unwrap_or("text");
    attrs.insert("data_type".into(), Value::from(data_type));
    attrs.insert(
        "allowed_pattern".into(),
        Value::from(meta.and_then(|m| m.allowed_pattern()).filter(|s| !s.is_empty())),
    );
    copy_attrs(&mut attrs, prior, &["overwrite", "tags"]);
    attrs.insert("tags_all".into(), visible_tags(tags));
    attrs.insert("arn".into(), Value::from(param.arn()));
    attrs.insert("version".into(), Value::from(param.version()));
    complete(&SCHEMA, attrs)
}

/// GetParameters in batches of ten, all at once. Missing names are simply
/// absent from the map.
/// A parameter's ARN as SSM writes it: a name without a leading slash gets one.
fn parameter_arn(region: &str, account: &str, name: &str) -> String {
    let slash = if name.starts_with('/') { "" } else { "/" };
    format!("arn:{}:ssm:{region}:{account}:parameter{slash}{name}", partition(region))
}

async fn get_parameters(
    aws: &AwsCtx,
    names: &[&str],
    decrypt: bool,
) -> Result<HashMap<String, Parameter>, ProviderError> {
    let batches = names.chunks(GET_BATCH).map(|batch| async move {
        aws.count_call();
        let out = aws
            .ssm
            .get_parameters()
            .set_names(Some(batch.iter().map(|n| n.to_string()).collect()))
            .with_decryption(decrypt)
            .send()
            .await
            .classify("ssm:GetParameters")?;
        Ok::<_, ProviderError>(out.parameters.unwrap_or_default())
    });
    let mut map = HashMap::new();
    for param in try_join_all(batches).await?.into_iter().flatten() {
        if let Some(name) = param.name() {
            map.insert(name.to_string(), param);
        }
    }
    Ok(map)
}

/// The metadata GetParameters lacks (description, key, pattern), by name.
async fn describe_parameters(
    aws: &AwsCtx,
    names: &[&str],
) -> Result<HashMap<String, ParameterMetadata>, ProviderError> {
    let batches = names.chunks(DESCRIBE_BATCH).map(|batch| async move {
        let filter = built(
            "ssm:DescribeParameters",
            ParameterStringFilter::builder()
                .key("Name")
                .option("Equals")
                .set_values(Some(batch.iter().map(|n| n.to_string()).collect()))
                .build(),
        )?;
        let mut found = Vec::new();
        let mut token = None;
        loop {
            aws.count_call();
            let out = aws
                .ssm
                .describe_parameters()
                .parameter_filters(filter.clone())
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .classify("ssm:DescribeParameters")?;
            token = out.next_token.clone();
            found.extend(out.parameters.unwrap_or_default());
            if token.is_none() {
                break;
            }
        }
        Ok::<_, ProviderError>(found)
    });
    let mut map = HashMap::new();
    for meta in try_join_all(batches).await?.into_iter().flatten() {
        if let Some(name) = meta.name() {
            map.insert(name.to_string(), meta);
        }
    }
    Ok(map)
}

async fn list_tags(aws: &AwsCtx, name: &str) -> Result<Tags, ProviderError> {
    aws.count_call();
    let out = aws
        .ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .classify("ssm:ListTagsForResource")?;
    Ok(out.tag_list().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn arns_are_built_as_ssm_writes_them() {
        assert_eq!(parameter_arn("eu-west-1", "123", "/a/b"), "arn:aws:ssm:eu-west-1:123:parameter/a/b");
        assert_eq!(parameter_arn("us-east-1", "123", "plain"), "arn:aws:ssm:us-east-1:123:parameter/plain");
        assert_eq!(parameter_arn("cn-north-1", "1", "/x"), "arn:aws-cn:ssm:cn-north-1:1:parameter/x");
    }

    #[test]
    fn exactly_one_value_is_required() {
        let check = |v: Value| check_args(&attrs(v), true).map(|s| (s.text.to_string(), s.insecure));
        assert_eq!(check(json!({"type": "String", "value": "a"})).ok(), Some(("a".into(), false)));
        assert_eq!(check(json!({"type": "String", "insecure_value": "a"})).ok(), Some(("a".into(), true)));
        assert!(check(json!({"type": "String"})).is_err());
        assert!(check(json!({"type": "String", "value": "a", "insecure_value": "b"})).is_err());
        assert!(check(json!({"type": "Secret", "value": "a"})).is_err());
        assert!(check(json!({"type": "SecureString", "insecure_value": "a"})).is_err());
    }

    #[test]
    fn an_update_prefers_insecure_value_over_a_carried_over_value() {
        let desired = attrs(json!({"type": "String", "value": "sealed", "insecure_value": "b"}));
        assert_eq!(check_args(&desired, false).ok(), Some(Stored { text: "b", insecure: true }));
    }

    #[test]
    fn errors_never_quote_the_value() {
        let err = check_args(&attrs(json!({"type": "Bogus", "value": "hunter2"})), true).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| !e.contains("hunter2")));
    }

    #[test]
    fn tag_only_changes_do_not_rewrite_the_parameter() {
        let prior = attrs(json!({"type": "String", "value": "a", "tier": "Standard", "key_id": null, "tags_all": {}}));
        let mut desired = prior.clone();
        desired.insert("tags_all".into(), json!({"team": "web"}));
        assert!(!needs_put(&prior, &desired, &Stored { text: "a", insecure: false }));
        assert!(needs_put(&prior, &desired, &Stored { text: "b", insecure: false }));
        assert!(needs_put(&prior, &desired, &Stored { text: "a", insecure: true }));
        desired.insert("description".into(), json!("new"));
        assert!(needs_put(&prior, &desired, &Stored { text: "a", insecure: false }));
    }

    #[test]
    fn secure_strings_default_to_the_aws_managed_key() {
        assert_eq!(expected_key_id(&attrs(json!({"type": "SecureString"}))), Some(DEFAULT_KEY_ID));
        assert_eq!(expected_key_id(&attrs(json!({"type": "String"}))), None);
        assert_eq!(expected_key_id(&attrs(json!({"type": "SecureString", "key_id": "k"}))), Some("k"));
    }
}
