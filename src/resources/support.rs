//! Small helpers shared by the resource types: reading typed values out of
//! attribute maps, building complete attribute maps, tag bookkeeping,
//! waiting and retrying, and what the IAM and EC2 types have in common.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use super::{Attrs, Schema};
use crate::aws::{is_gantry_tag, AwsCtx, ClassifyExt, ProviderError, Tags};

/// A string attribute; null, absent and non-strings are `None`.
pub fn get_str<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs.get(name).and_then(Value::as_str)
}

/// A string attribute that is set and not empty.
pub fn get_nonempty_str<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    get_str(attrs, name).filter(|s| !s.is_empty())
}

pub fn get_bool(attrs: &Attrs, name: &str) -> Option<bool> {
    attrs.get(name).and_then(Value::as_bool)
}

/// A whole number; the engine may hand numbers over as floats (`5.0`).
pub fn get_i64(attrs: &Attrs, name: &str) -> Option<i64> {
    let v = attrs.get(name)?;
    v.as_i64().or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

/// A list or set of strings; null and absent are empty.
pub fn get_strings(attrs: &Attrs, name: &str) -> Vec<String> {
    attrs
        .get(name)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// A required string argument, or `Invalid` naming the resource type.
pub fn require_str<'a>(attrs: &'a Attrs, name: &str, type_name: &str) -> Result<&'a str, ProviderError> {
    get_nonempty_str(attrs, name)
        .ok_or_else(|| ProviderError::Invalid(format!("{type_name}: the argument \"{name}\" is required")))
}

/// The objects of a nested block (stored as a list of objects).
pub fn block_items<'a>(attrs: &'a Attrs, name: &str) -> Vec<&'a Attrs> {
    attrs
        .get(name)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default()
}

/// The one object of a `max_items = 1` block, if the block is present.
pub fn single_block<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a Attrs> {
    block_items(attrs, name).into_iter().next()
}

/// A block value holding one object.
pub fn one_block(item: Attrs) -> Value {
    Value::Array(vec![Value::Object(item)])
}

/// Fills in null for every schema attribute and an empty list for every
/// block that `attrs` lacks, so that maps handed to the engine are complete.
pub fn complete(schema: &Schema, mut attrs: Attrs) -> Attrs {
    for attr in &schema.attrs {
        attrs.entry(attr.name).or_insert(Value::Null);
    }
    for block in &schema.blocks {
        attrs.entry(block.name).or_insert_with(|| Value::Array(Vec::new()));
    }
    attrs
}

/// For arguments AWS does not store (`force_destroy`): what the prior map
/// holds, else the schema default, else null.
pub fn prior_or_default(schema: &Schema, prior: &Attrs, name: &str) -> Value {
    match prior.get(name) {
        Some(v) if !v.is_null() => v.clone(),
        _ => schema.attr(name).and_then(|a| a.default.clone()).unwrap_or(Value::Null),
    }
}

/// Copies the named arguments from `from` into `to` (null when absent).
pub fn copy_attrs(to: &mut Attrs, from: &Attrs, names: &[&str]) {
    for name in names {
        to.insert((*name).to_string(), from.get(*name).cloned().unwrap_or(Value::Null));
    }
}

/// A tag map from an attribute (`tags_all`); null and non-string values are skipped.
pub fn get_tags(attrs: &Attrs, name: &str) -> Tags {
    attrs
        .get(name)
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string()))).collect())
        .unwrap_or_default()
}

pub fn tags_to_json(tags: &Tags) -> Value {
    Value::Object(tags.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect())
}

/// `tags_all` as reads report it: live tags without gantry's own.
pub fn visible_tags(live: &Tags) -> Value {
    let visible: Tags = live.iter().filter(|(k, _)| !is_gantry_tag(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    tags_to_json(&visible)
}

/// The tags a create attaches: the desired `tags_all` plus gantry's owner tags.
pub fn create_tags(desired: &Attrs, owner_tags: &Tags) -> Tags {
    let mut tags = get_tags(desired, "tags_all");
    tags.extend(owner_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    tags
}

/// Tag changes for an update, for APIs that add and remove keys separately.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TagChanges {
    /// Keys to add or overwrite.
    pub set: Tags,
    /// Keys to remove.
    pub remove: Vec<String>,
}

/// What to change so that the live user tags go from `prior`'s `tags_all`
/// to `desired`'s. Owner tags are always set again (an adopted resource may
/// lack them, and `tags_all` never shows them), and `gantry:` keys are never
/// removed.
pub fn tag_changes(prior: &Attrs, desired: &Attrs, owner_tags: &Tags) -> TagChanges {
    let before = get_tags(prior, "tags_all");
    let after = get_tags(desired, "tags_all");
    let mut set: Tags =
        after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    set.extend(owner_tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    let remove = before
        .keys()
        .filter(|k| !after.contains_key(*k) && !is_gantry_tag(k) && !set.contains_key(*k))
        .cloned()
        .collect();
    TagChanges { set, remove }
}

/// The complete tag set for APIs that replace all tags at once (S3): the
/// live `gantry:` tags are kept, then the desired tags and owner tags apply.
pub fn replacement_tags(live: &Tags, desired: &Attrs, owner_tags: &Tags) -> Tags {
    let mut tags: Tags = live.iter().filter(|(k, _)| is_gantry_tag(k)).map(|(k, v)| (k.clone(), v.clone())).collect();
    tags.extend(create_tags(desired, owner_tags));
    tags
}

/// Describes many objects in one call. Some APIs (DescribeInstances,
/// DescribeSecurityGroups, DescribeRepositories) fail the whole call when one
/// id is missing: then each id is asked for alone, and the missing ones are
/// left out.
pub async fn describe_many<'a, T, F, Fut>(ids: &[&'a str], describe: F) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<&'a str>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, ProviderError>>,
{
    match found(describe(ids.to_vec()).await, &[])? {
        Some(all) => Ok(all),
        None if ids.len() <= 1 => Ok(Vec::new()),
        None => {
            let single = ids.iter().map(|id| {
                let one = describe(vec![*id]);
                async move { found(one.await, &[]) }
            });
            Ok(futures::future::try_join_all(single).await?.into_iter().flatten().flatten().collect())
        }
    }
}

/// Maps a failed SDK builder (a required field left unset) to `Invalid`.
pub fn built<T>(
    call: &str,
    result: Result<T, aws_smithy_types::error::operation::BuildError>,
) -> Result<T, ProviderError> {
    result.map_err(|e| ProviderError::Invalid(format!("{call}: {e}")))
}

/// True for "does not exist" errors, including service-specific codes that
/// the shared classification does not list.
pub fn is_not_found(err: &ProviderError, extra_codes: &[&str]) -> bool {
    match err {
        ProviderError::NotFound { .. } => true,
        other => other.code().is_some_and(|c| extra_codes.contains(&c)),
    }
}

/// Turns "does not exist" into `None`.
pub fn found<T>(result: Result<T, ProviderError>, extra_codes: &[&str]) -> Result<Option<T>, ProviderError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_not_found(&e, extra_codes) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces every occurrence of `secret` in an error's message, for APIs
/// whose validation messages may quote the submitted value.
pub fn redact(err: ProviderError, secret: Option<&str>) -> ProviderError {
    // Replacing a very short secret would reveal it by the holes it leaves
    // in ordinary words.
    let Some(secret) = secret.filter(|s| s.chars().count() >= crate::value::MIN_REDACTED_LEN) else {
        return err;
    };
    let scrub = |s: String| s.replace(secret, "(sensitive value)");
    match err {
        ProviderError::Api { call, code, message, request_id, retryable } => {
            ProviderError::Api { call, code, message: scrub(message), request_id, retryable }
        }
        ProviderError::AlreadyExists { call, code, message } => {
            ProviderError::AlreadyExists { call, code, message: scrub(message) }
        }
        ProviderError::Transport { call, message } => ProviderError::Transport { call, message: scrub(message) },
        ProviderError::Invalid(message) => ProviderError::Invalid(scrub(message)),
        other @ ProviderError::NotFound { .. } => other,
    }
}

/// Polls `check` until it returns `Some`, sleeping between attempts with a
/// growing interval, for operations AWS completes asynchronously (a
/// DynamoDB table becoming ACTIVE). Gives up after `limit`.
pub async fn wait_for<T, F, Fut>(
    call: &'static str,
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, ProviderError>>,
{
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if start.elapsed() >= limit {
            return Err(ProviderError::Api {
                call,
                code: "WaiterTimeout".into(),
                message: format!("{what} after {} s", limit.as_secs()),
                request_id: None,
                retryable: false,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Calls `attempt` again, with a growing pause, while it fails with an
/// error `transient` accepts (IAM eventual consistency, an instance still
/// holding a security group). Gives up after `limit` with the last error.
pub async fn retry_while<T, F, Fut>(
    limit: Duration,
    transient: impl Fn(&ProviderError) -> bool,
    mut attempt: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let start = std::time::Instant::now();
    let mut pause = Duration::from_millis(500);
    loop {
        match attempt().await {
            Err(e) if transient(&e) && start.elapsed() + pause <= limit => {
                tracing::debug!("{e}; trying again in {} ms", pause.as_millis());
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(8));
            }
            other => return other,
        }
    }
}

/// True when `live` carries every ownership tag in `owner`. With the
/// operation id among them, only the object of that very create matches
/// (not an older one at the same address).
pub fn has_owner_tags(live: &Tags, owner: &Tags) -> bool {
    owner.iter().all(|(k, v)| live.get(k) == Some(v))
}

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A timestamp as Terraform shows it (RFC 3339).
pub fn format_date(date: &aws_smithy_types::DateTime) -> Option<String> {
    date.fmt(aws_smithy_types::date_time::Format::DateTime).ok()
}

/// An IAM policy document as JSON text. IAM answers with the document
/// URL-encoded; text that is already JSON (some emulators) is kept.
pub fn decode_policy(doc: &str) -> String {
    if doc.trim_start().starts_with('{') {
        return doc.to_string();
    }
    percent_encoding::percent_decode_str(doc).decode_utf8_lossy().into_owned()
}

/// Two JSON documents with the same content (key order and whitespace
/// aside); text that does not parse compares as text.
pub fn same_json(a: Option<&str>, b: Option<&str>) -> bool {
    let parse = |s: Option<&str>| s.map(|s| serde_json::from_str::<Value>(s).map_err(|_| s.to_string()));
    parse(a) == parse(b)
}

pub fn iam_tags(tags: &[aws_sdk_iam::types::Tag]) -> Tags {
    tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()
}

pub fn iam_tag_list(call: &str, tags: Tags) -> Result<Vec<aws_sdk_iam::types::Tag>, ProviderError> {
    tags.into_iter().map(|(k, v)| built(call, aws_sdk_iam::types::Tag::builder().key(k).value(v).build())).collect()
}

/// Applies tag changes through an IAM type's own pair of calls (IAM has a
/// TagX/UntagX pair per resource type): `tag_call` names the tag call.
pub async fn update_iam_tags<TagFut, UntagFut>(
    aws: &AwsCtx,
    changes: TagChanges,
    tag_call: &str,
    tag: impl FnOnce(Vec<aws_sdk_iam::types::Tag>) -> TagFut,
    untag: impl FnOnce(Vec<String>) -> UntagFut,
) -> Result<(), ProviderError>
where
    TagFut: std::future::Future<Output = Result<(), ProviderError>>,
    UntagFut: std::future::Future<Output = Result<(), ProviderError>>,
{
    if !changes.set.is_empty() {
        aws.count_call();
        tag(iam_tag_list(tag_call, changes.set)?).await?;
    }
    if !changes.remove.is_empty() {
        aws.count_call();
        untag(changes.remove).await?;
    }
    Ok(())
}

/// The ARNs of the managed policies attached to a role, every page.
pub async fn attached_role_policies(aws: &AwsCtx, role: &str) -> Result<Vec<String>, ProviderError> {
    let mut arns = Vec::new();
    let mut marker = None;
    loop {
        aws.count_call();
        let out = aws
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .set_marker(marker)
            .send()
            .await
            .classify("iam:ListAttachedRolePolicies")?;
        arns.extend(out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)));
        marker = out.marker().filter(|_| out.is_truncated()).map(str::to_string);
        if marker.is_none() {
            return Ok(arns);
        }
    }
}

pub fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string()))).collect()
}

/// Tags attached by the create call itself (`TagSpecifications`).
pub fn ec2_tag_spec(kind: aws_sdk_ec2::types::ResourceType, tags: Tags) -> aws_sdk_ec2::types::TagSpecification {
    let tags = tags.into_iter().map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build()).collect();
    aws_sdk_ec2::types::TagSpecification::builder().resource_type(kind).set_tags(Some(tags)).build()
}

/// DescribeX filters selecting what carries the ownership tags (see
/// [`has_owner_tags`]).
pub fn ec2_owner_filters(owner: &Tags) -> Vec<aws_sdk_ec2::types::Filter> {
    owner
        .iter()
        .map(|(k, v)| aws_sdk_ec2::types::Filter::builder().name(format!("tag:{k}")).values(v).build())
        .collect()
}

/// Applies an update's tag changes to an EC2 object with CreateTags and DeleteTags.
pub async fn ec2_update_tags(
    aws: &AwsCtx,
    id: &str,
    prior: &Attrs,
    desired: &Attrs,
    owner_tags: &Tags,
) -> Result<(), ProviderError> {
    use aws_sdk_ec2::types::Tag;
    let changes = tag_changes(prior, desired, owner_tags);
    if !changes.set.is_empty() {
        let tags = changes.set.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        aws.count_call();
        aws.ec2.create_tags().resources(id).set_tags(Some(tags)).send().await.classify("ec2:CreateTags")?;
    }
    if !changes.remove.is_empty() {
        let tags = changes.remove.into_iter().map(|k| Tag::builder().key(k).build()).collect();
        aws.count_call();
        aws.ec2.delete_tags().resources(id).set_tags(Some(tags)).send().await.classify("ec2:DeleteTags")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn tag_changes_sets_changed_and_owner_tags_and_removes_dropped_ones() {
        let prior = attrs(json!({"tags_all": {"a": "1", "b": "2", "c": "3"}}));
        let desired = attrs(json!({"tags_all": {"a": "1", "b": "20", "d": "4"}}));
        let owner = tags(&[("gantry:stack", "s")]);
        let changes = tag_changes(&prior, &desired, &owner);
        assert_eq!(changes.set, tags(&[("b", "20"), ("d", "4"), ("gantry:stack", "s")]));
        assert_eq!(changes.remove, vec!["c".to_string()]);
    }

    #[test]
    fn tag_changes_never_removes_gantry_tags() {
        let prior = attrs(json!({"tags_all": {"gantry:address": "x", "a": "1"}}));
        let desired = attrs(json!({"tags_all": null}));
        let changes = tag_changes(&prior, &desired, &Tags::new());
        assert_eq!(changes.remove, vec!["a".to_string()]);
        assert!(changes.set.is_empty());
    }

    #[test]
    fn tag_changes_is_empty_when_nothing_differs() {
        let prior = attrs(json!({"tags_all": {"a": "1"}}));
        assert_eq!(tag_changes(&prior, &prior, &Tags::new()), TagChanges::default());
    }

    #[test]
    fn replacement_tags_keep_live_gantry_tags() {
        let live = tags(&[("gantry:op", "7"), ("old", "x")]);
        let desired = attrs(json!({"tags_all": {"new": "y"}}));
        let owner = tags(&[("gantry:stack", "s")]);
        assert_eq!(
            replacement_tags(&live, &desired, &owner),
            tags(&[("gantry:op", "7"), ("gantry:stack", "s"), ("new", "y")])
        );
    }

    #[test]
    fn visible_tags_hide_gantry_tags() {
        let live = tags(&[("gantry:stack", "s"), ("team", "web")]);
        assert_eq!(visible_tags(&live), json!({"team": "web"}));
    }

    #[test]
    fn numbers_read_as_integers_from_floats() {
        let a = attrs(json!({"n": 5.0, "m": 7, "f": 1.5, "s": "5"}));
        assert_eq!(get_i64(&a, "n"), Some(5));
        assert_eq!(get_i64(&a, "m"), Some(7));
        assert_eq!(get_i64(&a, "f"), None);
        assert_eq!(get_i64(&a, "s"), None);
    }

    #[test]
    fn complete_fills_every_attribute_and_block() {
        use crate::resources::{Attr, BlockSchema, Ty};
        let schema = Schema::new("t", vec![Attr::required("a", Ty::String), Attr::computed("id", Ty::String)])
            .blocks(vec![BlockSchema::single("b", vec![])]);
        let out = complete(&schema, attrs(json!({"a": "x"})));
        assert_eq!(Value::Object(out), json!({"a": "x", "id": null, "b": []}));
    }

    #[test]
    fn redact_scrubs_the_secret_from_messages() {
        let err = ProviderError::Api {
            call: "ssm:PutParameter",
            code: "ValidationException".into(),
            message: "value hunter2 does not match".into(),
            request_id: None,
            retryable: false,
        };
        assert!(!redact(err, Some("hunter2")).to_string().contains("hunter2"));
    }

    #[test]
    fn policies_are_url_decoded_unless_already_json() {
        assert_eq!(decode_policy("%7B%22a%22%3A%20%22s3%3A%2A%22%7D"), r#"{"a": "s3:*"}"#);
        assert_eq!(decode_policy(r#"{"a": "100%"}"#), r#"{"a": "100%"}"#);
        assert!(same_json(Some(r#"{"a":1,"b":[2]}"#), Some(r#"{ "b": [2], "a": 1 }"#)));
        assert!(!same_json(Some(r#"{"a":1}"#), Some(r#"{"a":2}"#)));
        assert!(!same_json(None, Some("{}")));
    }

    #[test]
    fn owner_tags_match_all_given_keys() {
        let owner = tags(&[("gantry:stack", "s"), ("gantry:address", "a.b")]);
        assert!(has_owner_tags(&tags(&[("gantry:stack", "s"), ("gantry:address", "a.b"), ("k", "v")]), &owner));
        assert!(!has_owner_tags(&tags(&[("gantry:stack", "s"), ("gantry:address", "a.c")]), &owner));
        let mut with_operation = owner.clone();
        with_operation.insert("gantry:operation".into(), "7".into());
        assert!(!has_owner_tags(&tags(&[("gantry:stack", "s"), ("gantry:address", "a.b")]), &with_operation));
    }

    #[tokio::test]
    async fn retry_while_stops_on_success_and_on_other_errors() {
        let mut calls = 0;
        let result = retry_while(
            Duration::from_secs(5),
            |e| e.code() == Some("Later"),
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 2 {
                        Err(ProviderError::Api {
                            call: "x:Y",
                            code: "Later".into(),
                            message: String::new(),
                            request_id: None,
                            retryable: false,
                        })
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(result.ok(), Some(2));
        let failed: Result<(), _> =
            retry_while(Duration::from_secs(5), |_| false, || async { Err(ProviderError::Invalid("no".into())) }).await;
        assert!(failed.is_err());
    }
}
