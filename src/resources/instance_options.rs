//! Two settings of `aws_instance` that change in place, each with its own
//! EC2 call:
//!
//! - `metadata_options { http_tokens, http_endpoint, ... }`: the instance
//!   metadata service (IMDSv2 when `http_tokens = "required"`). Set at
//!   launch, changed by ModifyInstanceMetadataOptions, read from
//!   DescribeInstances at no extra cost. Unset fields are AWS's defaults
//!   and kept as read.
//! - `credit_specification { cpu_credits }`: `standard` or `unlimited` CPU
//!   credits of burstable types (t2, t3, t3a, t4g). Set at launch, changed
//!   by ModifyInstanceCreditSpecification; read with one
//!   DescribeInstanceCreditSpecifications call per instance, made only for
//!   instances whose state has the block (a plain no-op plan makes none).

use aws_sdk_ec2::types::{
    CreditSpecificationRequest, HttpTokensState, Instance as Ec2Instance, InstanceCreditSpecificationRequest,
    InstanceMetadataEndpointState, InstanceMetadataOptionsRequest, InstanceMetadataProtocolState,
    InstanceMetadataTagsState,
};
use serde_json::{json, Value};

use super::support::{get_i64, get_nonempty_str, one_block, single_block};
use super::{Attr, Attrs, BlockSchema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};

pub const METADATA: &str = "metadata_options";
pub const CREDITS: &str = "credit_specification";

const FIELDS: [&str; 4] = ["http_endpoint", "http_protocol_ipv6", "http_tokens", "instance_metadata_tags"];
const HOP_LIMIT: &str = "http_put_response_hop_limit";

pub fn metadata_block() -> BlockSchema {
    let mut attrs: Vec<Attr> = FIELDS.iter().map(|f| Attr::optional_computed(f, Ty::String)).collect();
    attrs.push(Attr::optional_computed(HOP_LIMIT, Ty::Number));
    BlockSchema::single(METADATA, attrs).computed_when_absent()
}

pub fn credits_block() -> BlockSchema {
    BlockSchema::single(CREDITS, vec![Attr::optional_computed("cpu_credits", Ty::String)]).computed_when_absent()
}

/// The configured metadata options, field by field (`None`: left to AWS).
#[derive(Debug, Default, PartialEq)]
struct Metadata {
    endpoint: Option<String>,
    ipv6: Option<String>,
    tokens: Option<String>,
    tags: Option<String>,
    hop_limit: Option<i32>,
}

impl Metadata {
    fn from_block(block: &Attrs) -> Metadata {
        let text = |name: &str| get_nonempty_str(block, name).map(str::to_string);
        Metadata {
            endpoint: text("http_endpoint"),
            ipv6: text("http_protocol_ipv6"),
            tokens: text("http_tokens"),
            tags: text("instance_metadata_tags"),
            hop_limit: get_i64(block, HOP_LIMIT).and_then(|n| i32::try_from(n).ok()),
        }
    }
}

/// The options for RunInstances, when the configuration has the block.
pub fn metadata_request(desired: &Attrs) -> Option<InstanceMetadataOptionsRequest> {
    let m = Metadata::from_block(single_block(desired, METADATA)?);
    Some(
        InstanceMetadataOptionsRequest::builder()
            .set_http_endpoint(m.endpoint.as_deref().map(InstanceMetadataEndpointState::from))
            .set_http_protocol_ipv6(m.ipv6.as_deref().map(InstanceMetadataProtocolState::from))
            .set_http_tokens(m.tokens.as_deref().map(HttpTokensState::from))
            .set_instance_metadata_tags(m.tags.as_deref().map(InstanceMetadataTagsState::from))
            .set_http_put_response_hop_limit(m.hop_limit)
            .build(),
    )
}

/// The block as DescribeInstances reports it.
pub fn metadata_read(instance: &Ec2Instance) -> Value {
    let Some(o) = instance.metadata_options() else { return Value::Array(Vec::new()) };
    let block = json!({
        "http_endpoint": o.http_endpoint().map(|v| v.as_str()),
        "http_protocol_ipv6": o.http_protocol_ipv6().map(|v| v.as_str()),
        "http_tokens": o.http_tokens().map(|v| v.as_str()),
        "instance_metadata_tags": o.instance_metadata_tags().map(|v| v.as_str()),
        HOP_LIMIT: o.http_put_response_hop_limit(),
    });
    one_block(block.as_object().cloned().unwrap_or_default())
}

/// Changes what the configuration sets and state does not have.
pub async fn update_metadata(aws: &AwsCtx, id: &str, prior: &Attrs, desired: &Attrs) -> Result<(), ProviderError> {
    const CALL: &str = "ec2:ModifyInstanceMetadataOptions";
    let Some(wanted) = single_block(desired, METADATA).map(Metadata::from_block) else { return Ok(()) };
    let have = single_block(prior, METADATA).map(Metadata::from_block).unwrap_or_default();
    // Fields the configuration leaves out keep what the instance has. All of
    // them are sent: moto 5.1.22 resets every field the call leaves out (and
    // fails on a missing hop limit), AWS keeps them; both end up the same.
    let merged = Metadata {
        endpoint: wanted.endpoint.clone().or(have.endpoint.clone()),
        ipv6: wanted.ipv6.clone().or(have.ipv6.clone()),
        tokens: wanted.tokens.clone().or(have.tokens.clone()),
        tags: wanted.tags.clone().or(have.tags.clone()),
        hop_limit: wanted.hop_limit.or(have.hop_limit),
    };
    if merged == have {
        return Ok(());
    }
    let Metadata { endpoint, ipv6, tokens, tags, hop_limit } = merged;
    aws.count_call();
    aws.ec2
        .modify_instance_metadata_options()
        .instance_id(id)
        .set_http_endpoint(endpoint.as_deref().map(InstanceMetadataEndpointState::from))
        .set_http_protocol_ipv6(ipv6.as_deref().map(InstanceMetadataProtocolState::from))
        .set_http_tokens(tokens.as_deref().map(HttpTokensState::from))
        .set_instance_metadata_tags(tags.as_deref().map(InstanceMetadataTagsState::from))
        .set_http_put_response_hop_limit(hop_limit)
        .send()
        .await
        .classify(CALL)?;
    Ok(())
}

fn cpu_credits(attrs: &Attrs) -> Option<&str> {
    single_block(attrs, CREDITS).and_then(|b| get_nonempty_str(b, "cpu_credits"))
}

/// The credit option for RunInstances, when the configuration sets one.
pub fn credits_request(desired: &Attrs) -> Option<CreditSpecificationRequest> {
    cpu_credits(desired).map(|c| CreditSpecificationRequest::builder().cpu_credits(c).build())
}

/// The block for state after a create or update: as configured.
pub fn credits_block_of(desired: &Attrs) -> Value {
    match single_block(desired, CREDITS) {
        Some(_) => one_block(json!({"cpu_credits": cpu_credits(desired)}).as_object().cloned().unwrap_or_default()),
        None => Value::Array(Vec::new()),
    }
}

/// The block for state after a create or update. When the configuration has
/// the block but leaves `cpu_credits` to AWS, AWS's choice is read (one
/// call), or the next refresh would report it as drift.
pub async fn credits_block_after_write(aws: &AwsCtx, id: &str, desired: &Attrs) -> Result<Value, ProviderError> {
    if single_block(desired, CREDITS).is_some() && cpu_credits(desired).is_none() {
        return read_credits(aws, id, desired).await;
    }
    Ok(credits_block_of(desired))
}

/// Reads the credit option of an instance whose state has the block.
pub async fn read_credits(aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<Value, ProviderError> {
    if single_block(prior, CREDITS).is_none() {
        return Ok(prior.get(CREDITS).cloned().unwrap_or_else(|| Value::Array(Vec::new())));
    }
    const CALL: &str = "ec2:DescribeInstanceCreditSpecifications";
    aws.count_call();
    let out = aws.ec2.describe_instance_credit_specifications().instance_ids(id).send().await.classify(CALL)?;
    let credits = out.instance_credit_specifications().iter().find_map(|c| c.cpu_credits());
    Ok(one_block(json!({"cpu_credits": credits}).as_object().cloned().unwrap_or_default()))
}

pub async fn update_credits(aws: &AwsCtx, id: &str, prior: &Attrs, desired: &Attrs) -> Result<(), ProviderError> {
    const CALL: &str = "ec2:ModifyInstanceCreditSpecification";
    let Some(wanted) = cpu_credits(desired) else { return Ok(()) };
    if cpu_credits(prior) == Some(wanted) {
        return Ok(());
    }
    let spec = InstanceCreditSpecificationRequest::builder().instance_id(id).cpu_credits(wanted).build();
    aws.count_call();
    let out = aws
        .ec2
        .modify_instance_credit_specification()
        .instance_credit_specifications(spec)
        .send()
        .await
        .classify(CALL)?;
    if let Some(failed) = out.unsuccessful_instance_credit_specifications().first() {
        let error = failed.error();
        return Err(ProviderError::Api {
            call: CALL,
            code: error.and_then(|e| e.code()).map_or("Unsuccessful", |c| c.as_str()).to_string(),
            message: error.and_then(|e| e.message()).unwrap_or("the credit option was not changed").to_string(),
            request_id: None,
            retryable: false,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn metadata_requests_carry_only_what_is_set() {
        let desired = attrs(json!({METADATA: [{"http_tokens": "required", HOP_LIMIT: 2, "http_endpoint": null}]}));
        let request = metadata_request(&desired).expect("the block is set");
        assert_eq!(request.http_tokens(), Some(&HttpTokensState::Required));
        assert_eq!(request.http_put_response_hop_limit(), Some(2));
        assert_eq!(request.http_endpoint(), None);
        assert!(metadata_request(&Attrs::new()).is_none());
    }

    #[test]
    fn credits_follow_the_configuration() {
        let desired = attrs(json!({CREDITS: [{"cpu_credits": "unlimited"}]}));
        assert_eq!(
            credits_request(&desired).and_then(|r| r.cpu_credits().map(str::to_string)),
            Some("unlimited".into())
        );
        assert_eq!(credits_block_of(&desired), json!([{"cpu_credits": "unlimited"}]));
        assert_eq!(credits_block_of(&Attrs::new()), json!([]));
    }
}
