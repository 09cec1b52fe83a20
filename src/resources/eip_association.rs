//! `aws_eip_association`: an Elastic IP associated with an instance or a
//! network interface; the id is the association id (`eipassoc-…`), which
//! import takes. Every argument forces a replacement, as in the provider.
//!
//! An association carries no tags, and its id is EC2's: a create cut short
//! by a crash cannot be found by tag. It cannot be leaked either: an address
//! holds one association, and the next apply associates it again (with
//! `allow_reassociation`, onto the same target).

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Address, Filter};
use serde_json::Value;

use super::eip::{describe, disassociate};
use super::support::{complete, get_bool, get_nonempty_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_eip_association";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("allocation_id", Ty::String).force_new(),
            Attr::optional_computed("public_ip", Ty::String).force_new(),
            Attr::optional_computed("instance_id", Ty::String).force_new(),
            Attr::optional_computed("network_interface_id", Ty::String).force_new(),
            Attr::optional_computed("private_ip_address", Ty::String).force_new(),
            Attr::optional("allow_reassociation", Ty::Bool).force_new(),
        ],
    )
});

pub struct EipAssociation;

#[async_trait]
impl ResourceType for EipAssociation {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        // One call for every association: filters do not fail on what is gone.
        let ids: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
        let filter = Filter::builder().name("association-id").set_values(Some(ids)).build();
        let addresses = describe(ctx.aws, &[], vec![filter]).await?;
        Ok(requests
            .iter()
            .map(|req| {
                let address = addresses.iter().find(|a| a.association_id() == Some(req.id.as_str()))?;
                Some(association_attrs(address, &req.prior))
            })
            .collect())
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, _owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "ec2:AssociateAddress";
        let allocation = get_nonempty_str(desired, "allocation_id");
        let public_ip = get_nonempty_str(desired, "public_ip");
        let instance = get_nonempty_str(desired, "instance_id");
        let interface = get_nonempty_str(desired, "network_interface_id");
        if allocation.is_none() && public_ip.is_none() {
            return Err(ProviderError::Invalid(format!("{TYPE_NAME}: set \"allocation_id\" (or \"public_ip\")")));
        }
        if instance.is_none() && interface.is_none() {
            return Err(ProviderError::Invalid(format!(
                "{TYPE_NAME}: set \"instance_id\" or \"network_interface_id\""
            )));
        }
        aws.count_call();
        let out = aws
            .ec2
            .associate_address()
            .set_allocation_id(allocation.map(str::to_string))
            .set_public_ip(if allocation.is_none() { public_ip.map(str::to_string) } else { None })
            .set_instance_id(instance.map(str::to_string))
            .set_network_interface_id(interface.map(str::to_string))
            .set_private_ip_address(get_nonempty_str(desired, "private_ip_address").map(str::to_string))
            .set_allow_reassociation(get_bool(desired, "allow_reassociation"))
            .send()
            .await
            .classify(CALL)?;
        let id = out.association_id().ok_or_else(|| ProviderError::empty_response(CALL, "association id"))?;
        let filter = Filter::builder().name("association-id").values(id).build();
        let address = describe(aws, &[], vec![filter]).await?.into_iter().next();
        let attrs = match address {
            Some(a) => association_attrs(&a, desired),
            // Not visible yet: what was asked for.
            None => {
                let mut attrs = desired.clone();
                attrs.insert("id".into(), Value::from(id));
                complete(&SCHEMA, attrs)
            }
        };
        Ok(Created { id: id.to_string(), attrs })
    }

    async fn update(
        &self,
        _aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        // Every argument forces a replacement: nothing changes in place.
        let mut attrs = prior.clone();
        attrs.insert("id".into(), Value::from(id));
        attrs.insert("allow_reassociation".into(), desired.get("allow_reassociation").cloned().unwrap_or_default());
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, _prior: &Attrs) -> Result<(), ProviderError> {
        disassociate(aws, id).await
    }
}

fn association_attrs(address: &Address, args: &Attrs) -> Attrs {
    let text = |v: Option<&str>| Value::from(v.filter(|s| !s.is_empty()));
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), text(address.association_id()));
    attrs.insert("allocation_id".into(), text(address.allocation_id()));
    attrs.insert("public_ip".into(), text(address.public_ip()));
    attrs.insert("instance_id".into(), text(address.instance_id()));
    attrs.insert("network_interface_id".into(), text(address.network_interface_id()));
    attrs.insert("private_ip_address".into(), text(address.private_ip_address()));
    attrs.insert("allow_reassociation".into(), args.get("allow_reassociation").cloned().unwrap_or(Value::Null));
    complete(&SCHEMA, attrs)
}
