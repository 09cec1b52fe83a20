//! `aws_eip`: an Elastic IP address in a VPC (AllocateAddress), optionally
//! associated with an instance or a network interface. The id is the
//! allocation id, which import takes.
//!
//! - The create tags the address with the ownership tags, so an allocation
//!   cut short by a crash is found by them rather than leaked.
//! - `instance` and `network_interface` change in place (disassociate, then
//!   associate); when neither is set, an association made elsewhere
//!   (`aws_eip_association`) is left alone, as in the provider.
//! - `public_dns` and `private_dns` are derived from the addresses the way
//!   the provider does (EC2 does not return them).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, DomainType, Filter, ResourceType as Ec2ResourceType};
use futures::future::try_join_all;
use serde_json::Value;

use super::support::{
    complete, create_tags, describe_many, ec2_owner_filters, ec2_tag_spec, ec2_tags, ec2_update_tags, found,
    get_nonempty_str, get_str, get_tags, partition, retry_while, tags_to_json, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_eip";
/// EC2's code for an allocation id it does not know.
const NOT_FOUND: &str = "InvalidAllocationID.NotFound";
/// EC2's code for an association that is already gone.
const ASSOCIATION_GONE: &str = "InvalidAssociationID.NotFound";
/// How long a release waits for an instance that is letting go of the address.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(60);

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("domain", Ty::String).force_new(),
            Attr::optional_computed("instance", Ty::String),
            Attr::optional_computed("network_interface", Ty::String),
            Attr::optional("associate_with_private_ip", Ty::String),
            Attr::optional("address", Ty::String).force_new(),
            Attr::optional_computed("public_ipv4_pool", Ty::String).force_new(),
            Attr::optional_computed("network_border_group", Ty::String).force_new(),
            Attr::computed("allocation_id", Ty::String),
            Attr::computed("association_id", Ty::String),
            Attr::computed("arn", Ty::String),
            Attr::computed("public_ip", Ty::String),
            Attr::computed("private_ip", Ty::String),
            Attr::computed("public_dns", Ty::String),
            Attr::computed("private_dns", Ty::String),
            Attr::computed("carrier_ip", Ty::String),
            Attr::computed("customer_owned_ip", Ty::String),
            Attr::computed("ptr_record", Ty::String),
        ],
    )
    .taggable()
});

pub struct Eip;

#[async_trait]
impl ResourceType for Eip {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        let found = describe(aws, &[], ec2_owner_filters(owner_tags)).await?;
        Ok(found.iter().find_map(|a| a.allocation_id().map(str::to_string)))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let aws = ctx.aws;
        let mut ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let all = describe_many(&ids, |ids| async move { describe(aws, &ids, Vec::new()).await }).await?;
        let by_id: HashMap<&str, &Address> = all.iter().filter_map(|a| Some((a.allocation_id()?, a))).collect();
        let reads = requests.iter().map(|req| {
            let address = by_id.get(req.id.as_str()).copied();
            async move {
                let Some(address) = address else { return Ok(None) };
                let arn = match get_nonempty_str(&req.prior, "arn") {
                    Some(arn) => arn.to_string(),
                    None => arn(aws, &aws.account_id().await?, &req.id),
                };
                let tags = visible_tags(&ec2_tags(address.tags()));
                Ok::<_, ProviderError>(Some(address_attrs(aws, address, &req.prior, arn, tags)))
            }
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "ec2:AllocateAddress";
        if let Some(domain) = get_nonempty_str(desired, "domain").filter(|d| *d != "vpc") {
            return Err(ProviderError::Invalid(format!(
                "{TYPE_NAME}: \"domain\" can only be \"vpc\" (EC2-Classic addresses are gone), not {domain:?}"
            )));
        }
        aws.count_call();
        let out = aws
            .ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .set_address(get_nonempty_str(desired, "address").map(str::to_string))
            .set_public_ipv4_pool(get_nonempty_str(desired, "public_ipv4_pool").map(str::to_string))
            .set_network_border_group(get_nonempty_str(desired, "network_border_group").map(str::to_string))
            .tag_specifications(ec2_tag_spec(Ec2ResourceType::ElasticIp, create_tags(desired, owner_tags)))
            .send()
            .await
            .classify(CALL)?;
        let id = out.allocation_id().ok_or_else(|| ProviderError::empty_response(CALL, "allocation id"))?.to_string();
        associate(aws, &id, desired).await?;
        let address = describe_one(aws, &id).await?;
        let arn = arn(aws, &aws.account_id().await?, &id);
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(Created { attrs: address_attrs(aws, &address, desired, arn, tags_all), id })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let target = |attrs: &Attrs| {
            ["instance", "network_interface", "associate_with_private_ip"]
                .map(|n| get_nonempty_str(attrs, n).map(str::to_string))
        };
        if target(prior) != target(desired) {
            if let Some(association) = get_nonempty_str(prior, "association_id") {
                disassociate(aws, association).await?;
            }
            associate(aws, id, desired).await?;
        }
        ec2_update_tags(aws, id, prior, desired, owner_tags).await?;
        let address = describe_one(aws, id).await?;
        let arn = get_str(prior, "arn").unwrap_or_default().to_string();
        Ok(address_attrs(aws, &address, desired, arn, tags_to_json(&get_tags(desired, "tags_all"))))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        // Read, not trust state: an association made elsewhere since.
        let Some(address) = found(describe_one(aws, id).await, &[])? else { return Ok(()) };
        if let Some(association) = address.association_id().filter(|a| !a.is_empty()) {
            disassociate(aws, association).await?;
        }
        let result = retry_while(
            RELEASE_TIMEOUT,
            |e| e.code() == Some("InvalidIPAddress.InUse") || e.code() == Some("AuthFailure"),
            || async {
                aws.count_call();
                aws.ec2.release_address().allocation_id(id).send().await.classify("ec2:ReleaseAddress")
            },
        )
        .await;
        found(result, &[NOT_FOUND]).map(|_| ())
    }
}

/// Associates the address with the configured instance or interface, if any.
async fn associate(aws: &AwsCtx, id: &str, desired: &Attrs) -> Result<(), ProviderError> {
    let instance = get_nonempty_str(desired, "instance");
    let interface = get_nonempty_str(desired, "network_interface");
    if instance.is_none() && interface.is_none() {
        return Ok(());
    }
    aws.count_call();
    aws.ec2
        .associate_address()
        .allocation_id(id)
        .set_instance_id(instance.map(str::to_string))
        .set_network_interface_id(interface.map(str::to_string))
        .set_private_ip_address(get_nonempty_str(desired, "associate_with_private_ip").map(str::to_string))
        .allow_reassociation(true)
        .send()
        .await
        .classify("ec2:AssociateAddress")?;
    Ok(())
}

pub(super) async fn disassociate(aws: &AwsCtx, association: &str) -> Result<(), ProviderError> {
    aws.count_call();
    let result =
        aws.ec2.disassociate_address().association_id(association).send().await.classify("ec2:DisassociateAddress");
    found(result, &[ASSOCIATION_GONE]).map(|_| ())
}

fn arn(aws: &AwsCtx, account: &str, id: &str) -> String {
    format!("arn:{}:ec2:{}:{account}:elastic-ip/{id}", partition(&aws.region), aws.region)
}

/// EC2's host names for an address, as the provider derives them.
fn dns_names(region: &str, public_ip: Option<&str>, private_ip: Option<&str>) -> (Value, Value) {
    let dashed = |ip: &str| ip.replace('.', "-");
    let public = public_ip.map(|ip| {
        if region == "us-east-1" {
            format!("ec2-{}.compute-1.amazonaws.com", dashed(ip))
        } else {
            format!("ec2-{}.{region}.compute.amazonaws.com", dashed(ip))
        }
    });
    let private = private_ip.map(|ip| {
        if region == "us-east-1" {
            format!("ip-{}.ec2.internal", dashed(ip))
        } else {
            format!("ip-{}.{region}.compute.internal", dashed(ip))
        }
    });
    (Value::from(public), Value::from(private))
}

/// The attribute map of an address; `args` supplies what EC2 does not
/// store (`associate_with_private_ip`, `address`, `tags`).
fn address_attrs(aws: &AwsCtx, address: &Address, args: &Attrs, arn: String, tags_all: Value) -> Attrs {
    // The emulator answers "" for "not associated".
    let text = |v: Option<&str>| Value::from(v.filter(|s| !s.is_empty()));
    let (public_dns, private_dns) = dns_names(
        &aws.region,
        address.public_ip().filter(|s| !s.is_empty()),
        address.private_ip_address().filter(|s| !s.is_empty()),
    );
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), text(address.allocation_id()));
    attrs.insert("allocation_id".into(), text(address.allocation_id()));
    attrs.insert("domain".into(), Value::from(address.domain().map(|d| d.as_str()).unwrap_or("vpc")));
    attrs.insert("instance".into(), text(address.instance_id()));
    attrs.insert("network_interface".into(), text(address.network_interface_id()));
    attrs.insert("association_id".into(), text(address.association_id()));
    attrs.insert("public_ip".into(), text(address.public_ip()));
    attrs.insert("private_ip".into(), text(address.private_ip_address()));
    attrs.insert("public_dns".into(), public_dns);
    attrs.insert("private_dns".into(), private_dns);
    attrs.insert("public_ipv4_pool".into(), text(address.public_ipv4_pool()));
    attrs.insert("network_border_group".into(), text(address.network_border_group()));
    attrs.insert("carrier_ip".into(), text(address.carrier_ip()));
    attrs.insert("customer_owned_ip".into(), text(address.customer_owned_ip()));
    attrs.insert("ptr_record".into(), Value::Null);
    attrs.insert("arn".into(), Value::from(arn));
    for name in ["associate_with_private_ip", "address", "tags"] {
        attrs.insert(name.into(), args.get(name).cloned().unwrap_or(Value::Null));
    }
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}

/// DescribeAddresses by allocation ids or by filters. An id EC2 does not
/// know fails the whole call, as `NotFound`.
pub(super) async fn describe(aws: &AwsCtx, ids: &[&str], filters: Vec<Filter>) -> Result<Vec<Address>, ProviderError> {
    const CALL: &str = "ec2:DescribeAddresses";
    aws.count_call();
    let mut request = aws.ec2.describe_addresses();
    if !ids.is_empty() {
        request = request.set_allocation_ids(Some(ids.iter().map(|id| id.to_string()).collect()));
    }
    if !filters.is_empty() {
        request = request.set_filters(Some(filters));
    }
    match request.send().await.classify(CALL) {
        Ok(out) => Ok(out.addresses.unwrap_or_default()),
        Err(e) if e.code() == Some(NOT_FOUND) => Err(ProviderError::NotFound { call: CALL }),
        Err(e) => Err(e),
    }
}

async fn describe_one(aws: &AwsCtx, id: &str) -> Result<Address, ProviderError> {
    describe(aws, &[id], Vec::new())
        .await?
        .into_iter()
        .find(|a| a.allocation_id() == Some(id))
        .ok_or(ProviderError::NotFound { call: "ec2:DescribeAddresses" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_the_region() {
        let (public, private) = dns_names("us-east-1", Some("1.2.3.4"), Some("10.0.0.5"));
        assert_eq!(public, "ec2-1-2-3-4.compute-1.amazonaws.com");
        assert_eq!(private, "ip-10-0-0-5.ec2.internal");
        let (public, private) = dns_names("eu-west-1", Some("1.2.3.4"), None);
        assert_eq!(public, "ec2-1-2-3-4.eu-west-1.compute.amazonaws.com");
        assert_eq!(private, Value::Null);
    }
}
