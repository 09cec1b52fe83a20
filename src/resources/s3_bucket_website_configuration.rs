//! `aws_s3_bucket_website_configuration`: static website hosting of a
//! bucket. Id: the provider's `BUCKET[,EXPECTED_BUCKET_OWNER]`.
//!
//! Routing rules can be written as `routing_rule` blocks or as the JSON
//! string `routing_rules` (S3's element names, as the provider writes them:
//! `[{"Condition":{"KeyPrefixEquals":"docs/"},"Redirect":{...}}]`). Reads
//! fill in `routing_rules` always, and the blocks unless the stack uses the
//! string, so that either way round a rule changed by hand shows as drift.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    Condition, ErrorDocument, IndexDocument, Protocol, Redirect, RedirectAllRequestsTo, RoutingRule,
    WebsiteConfiguration,
};
use futures::future::try_join_all;
use serde_json::{json, Map, Value};

use super::s3_bucket_id::BucketId;
use super::support::{block_items, built, complete, found, get_nonempty_str, get_str, require_str, single_block};
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_s3_bucket_website_configuration";
const CALL: &str = "s3:PutBucketWebsite";
/// GetBucketWebsite's answer for a bucket without website hosting.
const NOT_CONFIGURED: &str = "NoSuchWebsiteConfiguration";
const RULES_JSON: &str = "routing_rules";
const RULE_BLOCK: &str = "routing_rule";

/// Block attribute names and S3's element names, in each part of a rule.
type Field = (&'static str, &'static str);
const CONDITION_FIELDS: [Field; 2] =
    [("http_error_code_returned_equals", "HttpErrorCodeReturnedEquals"), ("key_prefix_equals", "KeyPrefixEquals")];
const REDIRECT_FIELDS: [Field; 5] = [
    ("host_name", "HostName"),
    ("http_redirect_code", "HttpRedirectCode"),
    ("protocol", "Protocol"),
    ("replace_key_prefix_with", "ReplaceKeyPrefixWith"),
    ("replace_key_with", "ReplaceKeyWith"),
];

/// Which names of the field tables a rule is written with.
#[derive(Clone, Copy)]
enum Names {
    /// The block attribute names (`key_prefix_equals`).
    Block,
    /// S3's element names (`KeyPrefixEquals`), in the JSON string.
    S3,
}

impl Names {
    fn pick(self, field: &Field) -> &'static str {
        match self {
            Names::Block => field.0,
            Names::S3 => field.1,
        }
    }
}

/// Regions whose website endpoints use the older `s3-website-REGION` form.
const DASH_REGIONS: [&str; 9] = [
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-west-1",
    "sa-east-1",
    "us-gov-west-1",
];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let optional = |fields: &[Field]| fields.iter().map(|(n, _)| Attr::optional(n, Ty::String)).collect();
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("bucket", Ty::String).force_new(),
            Attr::optional("expected_bucket_owner", Ty::String).force_new(),
            Attr::optional_computed(RULES_JSON, Ty::Json),
            Attr::computed("website_domain", Ty::String),
            Attr::computed("website_endpoint", Ty::String),
        ],
    )
    .blocks(vec![
        BlockSchema::single("error_document", vec![Attr::required("key", Ty::String)]),
        BlockSchema::single("index_document", vec![Attr::required("suffix", Ty::String)]),
        BlockSchema::single(
            "redirect_all_requests_to",
            vec![Attr::required("host_name", Ty::String), Attr::optional("protocol", Ty::String)],
        ),
        BlockSchema::list(RULE_BLOCK, vec![]).nested(vec![
            BlockSchema::single("condition", optional(&CONDITION_FIELDS)),
            BlockSchema::single("redirect", optional(&REDIRECT_FIELDS)).min(1),
        ]),
    ])
});

pub struct S3BucketWebsiteConfiguration;

#[async_trait]
impl ResourceType for S3BucketWebsiteConfiguration {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        BucketId::from_args(desired).map(|id| id.to_string())
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        let reads = requests.iter().map(|req| async move {
            let id = BucketId::parse(TYPE_NAME, &req.id)?;
            ctx.aws.count_call();
            let result = ctx
                .aws
                .s3
                .get_bucket_website()
                .bucket(&id.bucket)
                .set_expected_bucket_owner(id.owner())
                .send()
                .await
                .classify("s3:GetBucketWebsite");
            let Some(out) = found(result, &[NOT_CONFIGURED])? else { return Ok(None) };
            let mut attrs = base(&id, &ctx.aws.region);
            attrs.insert("error_document".into(), blocks(out.error_document().map(|d| json!({"key": d.key()}))));
            attrs.insert("index_document".into(), blocks(out.index_document().map(|d| json!({"suffix": d.suffix()}))));
            attrs.insert(
                "redirect_all_requests_to".into(),
                blocks(
                    out.redirect_all_requests_to()
                        .map(|r| json!({"host_name": r.host_name(), "protocol": r.protocol().map(|p| p.as_str())})),
                ),
            );
            let rules = out.routing_rules();
            // A string in state (or "" in an import's hint) and no blocks:
            // the stack writes its rules as JSON.
            let uses_string = req.prior.get(RULES_JSON).is_some_and(Value::is_string)
                && block_items(&req.prior, RULE_BLOCK).is_empty();
            let rule_blocks = if uses_string { Vec::new() } else { rules.iter().map(rule_to_block).collect() };
            attrs.insert(RULE_BLOCK.into(), Value::Array(rule_blocks));
            attrs.insert(RULES_JSON.into(), rules_to_json(rules));
            Ok::<_, ProviderError>(Some(complete(&SCHEMA, attrs)))
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        let bucket = require_str(desired, "bucket", TYPE_NAME)?;
        let id = BucketId::from_args(desired).unwrap_or(BucketId { bucket: bucket.to_string(), expected_owner: None });
        let rules = put(aws, &id, desired).await?;
        Ok(Created { id: id.to_string(), attrs: echo(&id, &aws.region, desired, &rules) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        _prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let id = BucketId::parse(TYPE_NAME, id)?;
        let rules = put(aws, &id, desired).await?;
        Ok(echo(&id, &aws.region, desired, &rules))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        let id = BucketId::parse(TYPE_NAME, id)?;
        aws.count_call();
        let result = aws
            .s3
            .delete_bucket_website()
            .bucket(&id.bucket)
            .set_expected_bucket_owner(id.owner())
            .send()
            .await
            .classify("s3:DeleteBucketWebsite");
        found(result, &[NOT_CONFIGURED]).map(|_| ())
    }
}

fn blocks(item: Option<Value>) -> Value {
    Value::Array(item.into_iter().collect())
}

/// The website domain and endpoint of a bucket in a region.
fn website_domain(region: &str) -> String {
    let sep = if DASH_REGIONS.contains(&region) { '-' } else { '.' };
    let suffix = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("s3-website{sep}{region}.{suffix}")
}

fn base(id: &BucketId, region: &str) -> Attrs {
    let domain = website_domain(region);
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(id.to_string()));
    attrs.insert("bucket".into(), Value::from(id.bucket.as_str()));
    attrs.insert("expected_bucket_owner".into(), Value::from(id.expected_owner.as_deref()));
    attrs.insert("website_endpoint".into(), Value::from(format!("{}.{domain}", id.bucket)));
    attrs.insert("website_domain".into(), Value::from(domain));
    attrs
}

/// Puts the configuration; returns the routing rules as sent.
async fn put(aws: &AwsCtx, id: &BucketId, desired: &Attrs) -> Result<Vec<RoutingRule>, ProviderError> {
    let mut config = WebsiteConfiguration::builder();
    if let Some(doc) = single_block(desired, "error_document") {
        config = config
            .error_document(built(CALL, ErrorDocument::builder().key(require_str(doc, "key", TYPE_NAME)?).build())?);
    }
    if let Some(doc) = single_block(desired, "index_document") {
        let suffix = require_str(doc, "suffix", TYPE_NAME)?;
        config = config.index_document(built(CALL, IndexDocument::builder().suffix(suffix).build())?);
    }
    if let Some(all) = single_block(desired, "redirect_all_requests_to") {
        let redirect = RedirectAllRequestsTo::builder()
            .host_name(require_str(all, "host_name", TYPE_NAME)?)
            .set_protocol(get_nonempty_str(all, "protocol").map(Protocol::from));
        config = config.redirect_all_requests_to(built(CALL, redirect.build())?);
    }
    let rules = desired_rules(desired)?;
    if !rules.is_empty() {
        config = config.set_routing_rules(Some(rules.clone()));
    }
    aws.count_call();
    aws.s3
        .put_bucket_website()
        .bucket(&id.bucket)
        .set_expected_bucket_owner(id.owner())
        .website_configuration(config.build())
        .send()
        .await
        .classify(CALL)?;
    Ok(rules)
}

/// The routing rules of the blocks, else of the JSON string. Blocks win:
/// they can only come from the stack, while `routing_rules` left unset
/// arrives holding what state recorded.
fn desired_rules(desired: &Attrs) -> Result<Vec<RoutingRule>, ProviderError> {
    let rule_blocks = block_items(desired, RULE_BLOCK);
    match get_nonempty_str(desired, RULES_JSON) {
        Some(text) if rule_blocks.is_empty() => rules_from_json(text),
        _ => Ok(rule_blocks
            .into_iter()
            .map(|b| rule_from_parts(single_block(b, "condition"), single_block(b, "redirect"), Names::Block))
            .collect()),
    }
}

/// A rule from a condition and a redirect written with `names`.
fn rule_from_parts(
    condition: Option<&Map<String, Value>>,
    redirect: Option<&Map<String, Value>>,
    names: Names,
) -> RoutingRule {
    let field = |map: Option<&Map<String, Value>>, name: &str| map.and_then(|m| get_str(m, name)).map(str::to_string);
    let [code, prefix] = CONDITION_FIELDS.map(|f| field(condition, names.pick(&f)));
    let [host, http_code, protocol, replace_prefix, replace_key] =
        REDIRECT_FIELDS.map(|f| field(redirect, names.pick(&f)));
    let condition = condition
        .map(|_| Condition::builder().set_http_error_code_returned_equals(code).set_key_prefix_equals(prefix).build());
    let redirect = Redirect::builder()
        .set_host_name(host)
        .set_http_redirect_code(http_code)
        .set_protocol(protocol.map(|p| Protocol::from(p.as_str())))
        .set_replace_key_prefix_with(replace_prefix)
        .set_replace_key_with(replace_key)
        .build();
    RoutingRule::builder().set_condition(condition).redirect(redirect).build()
}

fn rules_from_json(text: &str) -> Result<Vec<RoutingRule>, ProviderError> {
    let invalid = |why: &str| ProviderError::Invalid(format!("{TYPE_NAME}: \"{RULES_JSON}\" {why}"));
    let doc: Value = serde_json::from_str(text).map_err(|e| invalid(&format!("is not JSON: {e}")))?;
    let items = doc.as_array().ok_or_else(|| invalid("must be a JSON array of rules"))?;
    items
        .iter()
        .map(|item| {
            let item = item.as_object().ok_or_else(|| invalid("must hold objects"))?;
            let part = |name: &str| item.get(name).and_then(Value::as_object);
            if part("Redirect").is_none() {
                return Err(invalid("needs a \"Redirect\" in every rule"));
            }
            Ok(rule_from_parts(part("Condition"), part("Redirect"), Names::S3))
        })
        .collect()
}

/// The condition and redirect of a rule written with `names`; unset
/// fields are null in blocks and left out of the JSON string.
fn parts_of(rule: &RoutingRule, names: Names) -> (Option<Map<String, Value>>, Map<String, Value>) {
    let keep_null = matches!(names, Names::Block);
    let collect = |fields: &[Field], values: Vec<Option<String>>| {
        fields
            .iter()
            .zip(values)
            .filter(|(_, v)| keep_null || v.is_some())
            .map(|(f, v)| (names.pick(f).to_string(), Value::from(v)))
            .collect::<Map<String, Value>>()
    };
    let condition = rule.condition().map(|c| {
        collect(
            &CONDITION_FIELDS,
            vec![c.http_error_code_returned_equals().map(String::from), c.key_prefix_equals().map(String::from)],
        )
    });
    let r = rule.redirect();
    let redirect = collect(
        &REDIRECT_FIELDS,
        vec![
            r.and_then(|r| r.host_name()).map(String::from),
            r.and_then(|r| r.http_redirect_code()).map(String::from),
            r.and_then(|r| r.protocol()).map(|p| p.as_str().to_string()),
            r.and_then(|r| r.replace_key_prefix_with()).map(String::from),
            r.and_then(|r| r.replace_key_with()).map(String::from),
        ],
    );
    (condition, redirect)
}

fn rule_to_block(rule: &RoutingRule) -> Value {
    let (condition, redirect) = parts_of(rule, Names::Block);
    json!({
        "condition": condition.map(Value::Object).into_iter().collect::<Vec<_>>(),
        "redirect": [Value::Object(redirect)],
    })
}

/// The rules as the provider's JSON string; null when there are none.
fn rules_to_json(rules: &[RoutingRule]) -> Value {
    if rules.is_empty() {
        return Value::Null;
    }
    let items: Vec<Value> = rules
        .iter()
        .map(|rule| {
            let (condition, redirect) = parts_of(rule, Names::S3);
            let mut item = Map::new();
            if let Some(condition) = condition {
                item.insert("Condition".into(), Value::Object(condition));
            }
            item.insert("Redirect".into(), Value::Object(redirect));
            Value::Object(item)
        })
        .collect();
    Value::from(Value::Array(items).to_string())
}

/// What create and update return: the arguments as put, `routing_rules`
/// rendered from the rules sent when the stack used blocks.
fn echo(id: &BucketId, region: &str, desired: &Attrs, rules: &[RoutingRule]) -> Attrs {
    let mut attrs = base(id, region);
    for name in ["error_document", "index_document", "redirect_all_requests_to", RULE_BLOCK] {
        attrs.insert(name.into(), desired.get(name).cloned().unwrap_or(Value::Array(Vec::new())));
    }
    let rules_json = match get_nonempty_str(desired, RULES_JSON) {
        Some(text) if block_items(desired, RULE_BLOCK).is_empty() => Value::from(text),
        _ => rules_to_json(rules),
    };
    attrs.insert(RULES_JSON.into(), rules_json);
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_domains_follow_the_region() {
        assert_eq!(website_domain("us-east-1"), "s3-website-us-east-1.amazonaws.com");
        assert_eq!(website_domain("eu-central-1"), "s3-website.eu-central-1.amazonaws.com");
    }

    #[test]
    fn routing_rules_json_and_blocks_describe_the_same_rules() {
        let text = r#"[{"Condition":{"KeyPrefixEquals":"docs/"},"Redirect":{"ReplaceKeyPrefixWith":"documents/"}}]"#;
        let rules = rules_from_json(text).unwrap();
        assert_eq!(rules[0].condition().and_then(|c| c.key_prefix_equals()), Some("docs/"));
        let back = rules_to_json(&rules);
        let back: Value = serde_json::from_str(back.as_str().unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(text).unwrap());
        let block = rule_to_block(&rules[0]);
        assert_eq!(block["condition"][0]["key_prefix_equals"], "docs/");
        assert_eq!(block["redirect"][0]["replace_key_prefix_with"], "documents/");
        assert!(rules_from_json(r#"[{"Condition":{}}]"#).is_err());
        assert!(rules_from_json("{").is_err());
    }
}
