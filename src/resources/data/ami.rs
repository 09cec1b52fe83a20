//! `data "aws_ami"`: one machine image found by owner, filters and name
//! pattern (EC2 DescribeImages), the newest when `most_recent` is set.

use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ec2::types::Image;
use serde_json::Value;

use super::partition::Partition;
use super::{ec2_filters, filter_block, opt, timeouts_block};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError};
use crate::resources::support::{complete, ec2_tags, get_bool, get_nonempty_str, get_strings, tags_to_json};
use crate::resources::{Attr, Attrs, DataSource, Schema, Ty};

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    let mut attrs = vec![
        Attr::computed("id", Ty::String),
        Attr::optional("owners", Ty::ListOfString),
        Attr::optional("executable_users", Ty::ListOfString),
        Attr::optional("most_recent", Ty::Bool).default(false),
        Attr::optional("name_regex", Ty::String),
        Attr::optional("include_deprecated", Ty::Bool).default(false),
        Attr::optional("uefi_data", Ty::String),
        Attr::optional_computed("tags", Ty::MapOfString),
        Attr::computed("ena_support", Ty::Bool),
        Attr::computed("public", Ty::Bool),
        Attr::computed("state_reason", Ty::MapOfString),
    ];
    for name in COMPUTED_STRINGS {
        attrs.push(Attr::computed(name, Ty::String));
    }
    Schema::new("aws_ami", attrs).blocks(vec![filter_block(), timeouts_block()])
});

const COMPUTED_STRINGS: [&str; 27] = [
    "arn",
    "architecture",
    "boot_mode",
    "creation_date",
    "deprecation_time",
    "description",
    "hypervisor",
    "image_id",
    "image_location",
    "image_owner_alias",
    "image_type",
    "imds_support",
    "kernel_id",
    "last_launched_time",
    "name",
    "owner_id",
    "platform",
    "platform_details",
    "ramdisk_id",
    "root_device_name",
    "root_device_type",
    "root_snapshot_id",
    "sriov_net_support",
    "state",
    "tpm_support",
    "usage_operation",
    "virtualization_type",
];

pub struct Ami;

#[async_trait]
impl DataSource for Ami {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    async fn read(&self, aws: &AwsCtx, args: &Attrs) -> Result<Attrs, ProviderError> {
        let name_regex = match get_nonempty_str(args, "name_regex") {
            Some(r) => Some(regex::Regex::new(r).map_err(|e| {
                ProviderError::Invalid(format!("aws_ami: name_regex is not a valid regular expression: {e}"))
            })?),
            None => None,
        };
        let filters = ec2_filters(args, &[]);
        let owners = get_strings(args, "owners");
        let users = get_strings(args, "executable_users");
        let mut images = Vec::new();
        let mut token = None;
        loop {
            aws.count_call();
            let out = aws
                .ec2
                .describe_images()
                .set_owners((!owners.is_empty()).then(|| owners.clone()))
                .set_executable_users((!users.is_empty()).then(|| users.clone()))
                .set_filters((!filters.is_empty()).then(|| filters.clone()))
                .set_include_deprecated(get_bool(args, "include_deprecated"))
                .set_next_token(token)
                .send()
                .await
                .classify("ec2:DescribeImages")?;
            images.extend(out.images().iter().cloned());
            token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if let Some(re) = &name_regex {
            images.retain(|i| i.name().is_some_and(|n| re.is_match(n)));
        }
        let image = pick(images, get_bool(args, "most_recent").unwrap_or(false))?;
        Ok(complete(&SCHEMA, image_attrs(aws, args, &image)))
    }
}

/// The one image the search means, in the provider's words when it is not one.
fn pick(mut images: Vec<Image>, most_recent: bool) -> Result<Image, ProviderError> {
    if images.is_empty() {
        return Err(ProviderError::Invalid(
            "Your query returned no results. Please change your search criteria and try again.".into(),
        ));
    }
    if images.len() > 1 && !most_recent {
        return Err(ProviderError::Invalid(
            "Your query returned more than one result. Please try a more specific search criteria, or set `most_recent` attribute to true.".into(),
        ));
    }
    // Creation dates are RFC 3339 text of one format: text order is time order.
    images.sort_by(|a, b| a.creation_date().cmp(&b.creation_date()));
    Ok(images.pop().expect("not empty"))
}

fn image_attrs(aws: &AwsCtx, args: &Attrs, image: &Image) -> Attrs {
    let id = image.image_id().unwrap_or_default();
    let mut attrs = args.clone();
    let mut put = |k: &str, v: Value| {
        attrs.insert(k.to_string(), v);
    };
    put("id", Value::from(id));
    put("image_id", Value::from(id));
    put("arn", Value::from(format!("arn:{}:ec2:{}::image/{id}", Partition::of_region(&aws.region).id, aws.region)));
    put("architecture", opt(image.architecture().map(|a| a.as_str())));
    put("boot_mode", opt(image.boot_mode().map(|a| a.as_str())));
    put("creation_date", opt(image.creation_date()));
    put("deprecation_time", opt(image.deprecation_time()));
    put("description", opt(image.description()));
    put("hypervisor", opt(image.hypervisor().map(|a| a.as_str())));
    put("image_location", opt(image.image_location()));
    put("image_owner_alias", opt(image.image_owner_alias()));
    put("image_type", opt(image.image_type().map(|a| a.as_str())));
    put("imds_support", opt(image.imds_support().map(|a| a.as_str())));
    put("kernel_id", opt(image.kernel_id()));
    put("last_launched_time", opt(image.last_launched_time()));
    put("name", opt(image.name()));
    put("owner_id", opt(image.owner_id()));
    put("platform", opt(image.platform().map(|a| a.as_str())));
    put("platform_details", opt(image.platform_details()));
    put("ramdisk_id", opt(image.ramdisk_id()));
    put("root_device_name", opt(image.root_device_name()));
    put("root_device_type", opt(image.root_device_type().map(|a| a.as_str())));
    put("root_snapshot_id", opt(root_snapshot_id(image)));
    put("sriov_net_support", opt(image.sriov_net_support()));
    put("state", opt(image.state().map(|a| a.as_str())));
    put("tpm_support", opt(image.tpm_support().map(|a| a.as_str())));
    put("usage_operation", opt(image.usage_operation()));
    put("virtualization_type", opt(image.virtualization_type().map(|a| a.as_str())));
    put("ena_support", image.ena_support().map(Value::from).unwrap_or(Value::Null));
    put("public", image.public().map(Value::from).unwrap_or(Value::Null));
    let reason = image.state_reason();
    put(
        "state_reason",
        serde_json::json!({
            "code": reason.and_then(|r| r.code()).unwrap_or("UNSET"),
            "message": reason.and_then(|r| r.message()).unwrap_or("UNSET"),
        }),
    );
    put("tags", tags_to_json(&ec2_tags(image.tags())));
    attrs
}

/// The snapshot behind the root device, when it is an EBS volume.
fn root_snapshot_id(image: &Image) -> Option<&str> {
    let root = image.root_device_name()?;
    image
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == Some(root))
        .and_then(|m| m.ebs())
        .and_then(|e| e.snapshot_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, created: &str) -> Image {
        Image::builder().image_id(id).creation_date(created).build()
    }

    #[test]
    fn most_recent_picks_the_newest_and_several_without_it_is_an_error() {
        let images = vec![image("ami-1", "2024-01-02T00:00:00.000Z"), image("ami-2", "2025-01-01T00:00:00.000Z")];
        assert_eq!(pick(images.clone(), true).unwrap().image_id(), Some("ami-2"));
        assert!(pick(images, false).unwrap_err().to_string().contains("more than one result"));
        assert!(pick(Vec::new(), true).unwrap_err().to_string().contains("no results"));
    }
}
