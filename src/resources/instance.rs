//! `aws_instance`: one EC2 instance.
//!
//! - `instance_type` forces a replacement here (Terraform stops, modifies
//!   and starts the instance instead).
//! - `user_data` is kept in state as given and not read back (Terraform
//!   keeps a hash): EC2 only returns it through a separate attribute call.
//!   It is read from AWS only when state holds nothing for it (an adopted or
//!   imported instance), so that adoption does not plan a replacement.
//! - An instance profile made moments before is not yet visible to EC2 (IAM
//!   is eventually consistent): launches and association changes are retried
//!   for a while on that error.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IamInstanceProfileAssociation, IamInstanceProfileSpecification,
    Instance as Ec2Instance, InstanceAttributeName, InstanceNetworkInterfaceSpecification, InstanceStateName,
    InstanceType, MonitoringState, Placement, ResourceType as Ec2ResourceType, RunInstancesMonitoringEnabled,
};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use base64::Engine;
use futures::future::try_join_all;
use serde_json::Value;

use super::instance_options::{self as options, CREDITS, METADATA};
use super::support::{
    complete, copy_attrs, create_tags, describe_many, ec2_owner_filters, ec2_tag_spec, ec2_tags, ec2_update_tags,
    found, get_bool, get_nonempty_str, get_strings, get_tags, partition, require_str, retry_while, tags_to_json,
    visible_tags, wait_for,
};
use super::timeouts;
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{classify, AwsCtx, ClassifyExt, ProviderError, Tags, TAG_OPERATION};

const TYPE_NAME: &str = "aws_instance";
/// Real AWS needs about ten seconds before a new instance profile can be used.
const PROFILE_TIMEOUT: Duration = Duration::from_secs(60);
const RUNNING_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const TERMINATED_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// States an instance an interrupted create made may be found in.
const LIVE_STATES: &[&str] = &["pending", "running", "stopping", "stopped"];

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("ami", Ty::String).force_new(),
            Attr::required("instance_type", Ty::String).force_new(),
            Attr::optional_computed("subnet_id", Ty::String).force_new(),
            Attr::optional_computed("vpc_security_group_ids", Ty::SetOfString),
            Attr::optional("iam_instance_profile", Ty::String),
            Attr::optional("key_name", Ty::String).force_new(),
            Attr::optional("user_data", Ty::String).force_new(),
            Attr::optional("user_data_base64", Ty::String).force_new(),
            Attr::optional_computed("associate_public_ip_address", Ty::Bool).force_new(),
            Attr::optional("monitoring", Ty::Bool).default(false),
            Attr::optional("disable_api_termination", Ty::Bool).default(false),
            Attr::computed("arn", Ty::String),
            Attr::computed("public_ip", Ty::String),
            Attr::optional_computed("private_ip", Ty::String).force_new(),
            Attr::computed("public_dns", Ty::String),
            Attr::computed("private_dns", Ty::String),
            Attr::computed("primary_network_interface_id", Ty::String),
            Attr::computed("instance_state", Ty::String),
            Attr::optional_computed("availability_zone", Ty::String).force_new(),
            // Tags of the volumes the instance launches with; read back
            // from its root volume, as the provider does.
            Attr::optional("volume_tags", Ty::MapOfString),
        ],
    )
    .blocks(vec![
        options::metadata_block(),
        options::credits_block(),
        timeouts::block(&["create", "delete", "read", "update"]),
    ])
    .omit("cpu_core_count", "deprecated by the provider for cpu_options")
    .omit("cpu_threads_per_core", "deprecated by the provider for cpu_options")
    .omit("cpu_options", "moto's RunInstances ignores CpuOptions, so the setting could not be tested")
    .omit(
        "capacity_reservation_specification",
        "moto's RunInstances ignores CapacityReservationSpecification; capacity reservations are not modelled",
    )
    .omit("enclave_options", "moto's RunInstances ignores EnclaveOptions (Nitro Enclaves)")
    .omit("maintenance_options", "moto's RunInstances ignores MaintenanceOptions")
    .omit("private_dns_name_options", "moto's RunInstances ignores PrivateDnsNameOptions")
    .omit(
        "enable_primary_ipv6",
        "IPv6 needs a subnet with an IPv6 CIDR block; gantry manages no VPCs or subnets, and moto's default \
         subnets have none",
    )
    .omit("ipv6_address_count", "IPv6 needs a subnet with an IPv6 CIDR block (see enable_primary_ipv6)")
    .omit("ipv6_addresses", "IPv6 needs a subnet with an IPv6 CIDR block (see enable_primary_ipv6)")
    .omit(
        "get_password_data",
        "the Windows administrator password is a secret the provider keeps in state (password_data); gantry \
         never stores a secret in state",
    )
    .omit("password_data", "a secret kept in state (see get_password_data)")
    .omit(
        "hibernation",
        "hibernation needs an encrypted root volume sized for memory (root_block_device), and moto cannot stop \
         an instance into hibernation",
    )
    .omit("host_id", "dedicated hosts: moto models no host placement (no ModifyInstancePlacement)")
    .omit("host_resource_group_arn", "dedicated hosts: moto ignores Placement.HostResourceGroupArn")
    .omit("tenancy", "dedicated tenancy: moto ignores Placement.Tenancy")
    .omit("placement_group", "moto ignores Placement.GroupName, and gantry has no aws_placement_group type to make one")
    .omit("placement_partition_number", "only with placement_group (see there)")
    .omit(
        "instance_market_options",
        "spot instances: moto reads only the market type and never interrupts an instance, so the spot \
         behaviour (interruption, instance_interruption_behavior) could not be tested",
    )
    .omit("instance_lifecycle", "reports `spot` for spot instances (see instance_market_options)")
    .omit("spot_instance_request_id", "only for spot instances (see instance_market_options)")
    .omit("outpost_arn", "AWS Outposts only, which the emulator does not model")
    .omit("network_interface", "attaches network interfaces made by aws_network_interface, a type gantry does not have")
    .omit(
        "secondary_private_ips",
        "secondary addresses live on network interfaces, which gantry does not manage (see network_interface)",
    )
    .omit("launch_template", "gantry launches from the instance's own arguments and has no aws_launch_template type")
    .omit(
        "security_groups",
        "group names for EC2-Classic and the default VPC; AWS retired EC2-Classic and the provider recommends \
         vpc_security_group_ids, which gantry takes",
    )
    .omit_accepting(
        "user_data_replace_on_change",
        true,
        "gantry always replaces the instance when user_data changes, which is what `true` asks for; `false` \
         asks for an in-place change, which means stopping the running instance (StopInstances, \
         ModifyInstanceAttribute, StartInstances), which gantry does not do",
    )
    .omit(
        "ebs_optimized",
        "changing it means stopping the instance (StopInstances, ModifyInstanceAttribute, StartInstances), \
         which gantry does not do to a running instance",
    )
    .omit(
        "disable_api_stop",
        "reading it costs a DescribeInstanceAttribute call per instance on every plan; gantry keeps a no-op plan \
         at one DescribeInstances call",
    )
    .omit(
        "instance_initiated_shutdown_behavior",
        "reading it costs a DescribeInstanceAttribute call per instance on every plan (see disable_api_stop)",
    )
    .omit(
        "source_dest_check",
        "only matters for NAT and routing instances, whose network interfaces and routes gantry does not manage",
    )
    .omit(
        "root_block_device",
        "gantry launches with the AMI's block device mapping; moto 5.1.22 creates mapped volumes, so this is a \
         gap of gantry's, listed in issue 13",
    )
    .omit("ebs_block_device", "see root_block_device")
    .omit("ephemeral_block_device", "instance store volumes: moto creates an EBS volume for every mapping")
    .taggable()
});

pub struct Instance;

#[async_trait]
impl ResourceType for Instance {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        let mut filters = ec2_owner_filters(owner_tags);
        filters.push(
            Filter::builder()
                .name("instance-state-name")
                .set_values(Some(LIVE_STATES.iter().map(|s| s.to_string()).collect()))
                .build(),
        );
        let found = describe(aws, &[], filters).await?;
        let Some(kept) = found.iter().find_map(|l| l.instance.instance_id().map(str::to_string)) else {
            return Ok(None);
        };
        // The create that made it may have failed before it could end the
        // extra launches of a resent RunInstances: adopting one ends the rest.
        terminate_duplicates(aws, &kept, owner_tags).await?;
        Ok(Some(kept))
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
        let by_id: HashMap<&str, &Live> =
            all.iter().filter_map(|l| Some((l.instance.instance_id()?, l))).filter(|(_, l)| !l.is_gone()).collect();

        // DescribeInstances can lag behind a profile association change (the
        // emulator never updates it): where it disagrees with state, the
        // association API, which is authoritative, decides. Agreement costs
        // no call.
        let disputed: Vec<&str> = requests
            .iter()
            .filter(|r| {
                by_id.get(r.id.as_str()).is_some_and(|l| {
                    r.prior.contains_key("iam_instance_profile")
                        && l.profile() != get_nonempty_str(&r.prior, "iam_instance_profile")
                })
            })
            .map(|r| r.id.as_str())
            .collect();
        let mut associated: HashMap<String, String> = HashMap::new();
        if !disputed.is_empty() {
            for a in associations(aws, &disputed).await? {
                if let (Some(id), Some(arn)) = (a.instance_id(), a.iam_instance_profile().and_then(|p| p.arn())) {
                    associated.insert(id.to_string(), profile_name(arn).to_string());
                }
            }
        }

        let reads = requests.iter().map(|req| {
            let live = by_id.get(req.id.as_str()).copied();
            let profile = if disputed.contains(&req.id.as_str()) {
                associated.get(&req.id).map(String::as_str)
            } else {
                live.and_then(Live::profile)
            };
            async move {
                let Some(live) = live else {
                    return Ok(None);
                };
                // One call per instance: made only when state does not say
                // protection is off, so a plain no-op plan needs none.
                let protection = match get_bool(&req.prior, "disable_api_termination") {
                    Some(false) => false,
                    _ => termination_protection(aws, &req.id).await?,
                };
                let mut args = req.prior.clone();
                args.insert(CREDITS.into(), options::read_credits(aws, &req.id, &req.prior).await?);
                if !req.prior.contains_key("user_data") {
                    args.insert("user_data".into(), Value::from(user_data(aws, &req.id).await?));
                }
                // One DescribeVolumes call, only for instances that set volume tags.
                if req.prior.get("volume_tags").is_some_and(|t| !t.is_null()) {
                    let root = live.instance.root_device_name();
                    let volumes = attached_volumes(aws, &req.id).await?;
                    let tags = volumes.iter().find(|v| v.device.as_deref() == root).or(volumes.first());
                    args.insert("volume_tags".into(), tags.map(|v| visible_tags(&v.tags)).unwrap_or(Value::Null));
                }
                let tags = visible_tags(&ec2_tags(live.instance.tags()));
                Ok::<_, ProviderError>(Some(instance_attrs(aws, live, profile, &args, protection, tags)))
            }
        });
        try_join_all(reads).await
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "ec2:RunInstances";
        let ami = require_str(desired, "ami", TYPE_NAME)?;
        let instance_type = require_str(desired, "instance_type", TYPE_NAME)?;
        let subnet = get_nonempty_str(desired, "subnet_id").map(str::to_string);
        let groups = desired
            .get("vpc_security_group_ids")
            .filter(|v| !v.is_null())
            .map(|_| get_strings(desired, "vpc_security_group_ids"));
        let protection = get_bool(desired, "disable_api_termination").unwrap_or(false);
        let private_ip = get_nonempty_str(desired, "private_ip").map(str::to_string);
        let user_data = match (get_nonempty_str(desired, "user_data"), get_nonempty_str(desired, "user_data_base64")) {
            (Some(_), Some(_)) => {
                return Err(ProviderError::Invalid(
                    "aws_instance: `user_data` and `user_data_base64` conflict: set one of them".into(),
                ))
            }
            (Some(text), None) => Some(base64::engine::general_purpose::STANDARD.encode(text)),
            (None, encoded) => encoded.map(str::to_string),
        };

        let mut request = aws
            .ec2
            .run_instances()
            .image_id(ami)
            .instance_type(InstanceType::from(instance_type))
            .min_count(1)
            .max_count(1)
            // Retries of one create (and real AWS) then launch one instance, not two.
            .set_client_token(owner_tags.get(TAG_OPERATION).cloned())
            .set_key_name(get_nonempty_str(desired, "key_name").map(str::to_string))
            .set_user_data(user_data)
            .set_placement(
                get_nonempty_str(desired, "availability_zone")
                    .map(|zone| Placement::builder().availability_zone(zone).build()),
            )
            .monitoring(
                RunInstancesMonitoringEnabled::builder()
                    .enabled(get_bool(desired, "monitoring").unwrap_or(false))
                    .build(),
            )
            .disable_api_termination(protection)
            .set_metadata_options(options::metadata_request(desired))
            .set_credit_specification(options::credits_request(desired))
            .set_iam_instance_profile(
                get_nonempty_str(desired, "iam_instance_profile")
                    .map(|name| IamInstanceProfileSpecification::builder().name(name).build()),
            )
            .tag_specifications(ec2_tag_spec(Ec2ResourceType::Instance, create_tags(desired, owner_tags)));
        let volume_tags = get_tags(desired, "volume_tags");
        if !volume_tags.is_empty() {
            request = request.tag_specifications(ec2_tag_spec(Ec2ResourceType::Volume, volume_tags));
        }
        match get_bool(desired, "associate_public_ip_address") {
            // A public address can only be asked for on a network interface,
            // which must then carry the subnet and groups too.
            Some(public) => {
                let interface = InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .associate_public_ip_address(public)
                    .delete_on_termination(true)
                    .set_subnet_id(subnet)
                    .set_groups(groups)
                    .set_private_ip_address(private_ip)
                    .build();
                request = request.network_interfaces(interface);
            }
            None => {
                request =
                    request.set_subnet_id(subnet).set_security_group_ids(groups).set_private_ip_address(private_ip)
            }
        }
        let out = retry_while(PROFILE_TIMEOUT, profile_not_ready, || {
            let request = request.clone();
            aws.count_call();
            async move { request.send().await.map_err(|e| classify_profile_error(CALL, e)) }
        })
        .await?;
        let id = out
            .instances()
            .iter()
            .find_map(|i| i.instance_id())
            .ok_or_else(|| ProviderError::empty_response(CALL, "instance"))?;
        terminate_duplicates(aws, id, owner_tags).await?;

        let live = wait_until_running(aws, id, timeouts::limit(desired, "create", RUNNING_TIMEOUT)).await?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        let mut args = desired.clone();
        args.insert(CREDITS.into(), options::credits_block_after_write(aws, id, desired).await?);
        let attrs = instance_attrs(aws, &live, live.profile(), &args, protection, tags_all);
        Ok(Created { id: id.to_string(), attrs })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let protection = get_bool(desired, "disable_api_termination").unwrap_or(false);
        if get_bool(prior, "disable_api_termination").unwrap_or(false) != protection {
            aws.count_call();
            aws.ec2
                .modify_instance_attribute()
                .instance_id(id)
                .disable_api_termination(AttributeBooleanValue::builder().value(protection).build())
                .send()
                .await
                .classify("ec2:ModifyInstanceAttribute")?;
        }

        if desired.get("vpc_security_group_ids").is_some_and(|v| !v.is_null()) {
            let mut wanted = get_strings(desired, "vpc_security_group_ids");
            let mut before = get_strings(prior, "vpc_security_group_ids");
            wanted.sort();
            before.sort();
            if wanted != before {
                aws.count_call();
                aws.ec2
                    .modify_instance_attribute()
                    .instance_id(id)
                    .set_groups(Some(wanted))
                    .send()
                    .await
                    .classify("ec2:ModifyInstanceAttribute")?;
            }
        }

        let profile = get_nonempty_str(desired, "iam_instance_profile");
        if profile != get_nonempty_str(prior, "iam_instance_profile") {
            set_instance_profile(aws, id, profile).await?;
        }

        let monitoring = get_bool(desired, "monitoring").unwrap_or(false);
        if get_bool(prior, "monitoring").unwrap_or(false) != monitoring {
            aws.count_call();
            if monitoring {
                aws.ec2.monitor_instances().instance_ids(id).send().await.classify("ec2:MonitorInstances")?;
            } else {
                aws.ec2.unmonitor_instances().instance_ids(id).send().await.classify("ec2:UnmonitorInstances")?;
            }
        }

        options::update_metadata(aws, id, prior, desired).await?;
        options::update_credits(aws, id, prior, desired).await?;
        ec2_update_tags(aws, id, prior, desired, owner_tags).await?;
        update_volume_tags(aws, id, prior, desired).await?;

        let live = describe_one(aws, id).await?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        let mut args = desired.clone();
        args.insert(CREDITS.into(), options::credits_block_after_write(aws, id, desired).await?);
        let mut attrs = instance_attrs(aws, &live, live.profile(), &args, protection, tags_all);
        // Association and monitoring changes take a moment to show.
        copy_attrs(&mut attrs, desired, &["iam_instance_profile", "monitoring"]);
        Ok(attrs)
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let limit = timeouts::limit(prior, "delete", TERMINATED_TIMEOUT);
        aws.count_call();
        let result = aws.ec2.terminate_instances().instance_ids(id).send().await.classify("ec2:TerminateInstances");
        if found(result, &[])?.is_none() {
            return Ok(());
        }
        // Its security groups and subnet cannot be deleted while it lives.
        wait_for("ec2:DescribeInstances", &format!("instance {id} is not terminated"), limit, || async {
            let live = found(describe_one(aws, id).await, &[])?;
            Ok(live.is_none_or(|l| l.state() == Some(&InstanceStateName::Terminated)).then_some(()))
        })
        .await
    }
}

/// An EBS volume attached to an instance: its device name and tags.
struct Volume {
    id: String,
    device: Option<String>,
    tags: Tags,
}

async fn attached_volumes(aws: &AwsCtx, instance: &str) -> Result<Vec<Volume>, ProviderError> {
    aws.count_call();
    let out = aws
        .ec2
        .describe_volumes()
        .filters(Filter::builder().name("attachment.instance-id").values(instance).build())
        .send()
        .await
        .classify("ec2:DescribeVolumes")?;
    Ok(out
        .volumes()
        .iter()
        .filter_map(|v| {
            let device = v
                .attachments()
                .iter()
                .find(|a| a.instance_id() == Some(instance))
                .and_then(|a| a.device())
                .map(str::to_string);
            Some(Volume { id: v.volume_id()?.to_string(), device, tags: ec2_tags(v.tags()) })
        })
        .collect())
}

/// A change of `volume_tags` retags every attached volume, as the provider does.
async fn update_volume_tags(aws: &AwsCtx, id: &str, prior: &Attrs, desired: &Attrs) -> Result<(), ProviderError> {
    let (before, after) = (get_tags(prior, "volume_tags"), get_tags(desired, "volume_tags"));
    if before == after {
        return Ok(());
    }
    let volumes: Vec<String> = attached_volumes(aws, id).await?.into_iter().map(|v| v.id).collect();
    if volumes.is_empty() {
        return Ok(());
    }
    let removed: Vec<aws_sdk_ec2::types::Tag> = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build())
        .collect();
    if !removed.is_empty() {
        aws.count_call();
        aws.ec2
            .delete_tags()
            .set_resources(Some(volumes.clone()))
            .set_tags(Some(removed))
            .send()
            .await
            .classify("ec2:DeleteTags")?;
    }
    if !after.is_empty() {
        let tags = after.iter().map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build()).collect();
        aws.count_call();
        aws.ec2
            .create_tags()
            .set_resources(Some(volumes))
            .set_tags(Some(tags))
            .send()
            .await
            .classify("ec2:CreateTags")?;
    }
    Ok(())
}

/// Real AWS launches one instance per `ClientToken`, however often the SDK
/// resends RunInstances after a lost answer; the emulator launches one per
/// call. Instances carrying this create's operation tag other than `kept`
/// are such extra launches: terminate them (without waiting) so none leaks.
async fn terminate_duplicates(aws: &AwsCtx, kept: &str, owner_tags: &Tags) -> Result<(), ProviderError> {
    let Some(operation) = owner_tags.get(TAG_OPERATION) else { return Ok(()) };
    let filters = vec![
        Filter::builder().name(format!("tag:{TAG_OPERATION}")).values(operation).build(),
        Filter::builder()
            .name("instance-state-name")
            .set_values(Some(LIVE_STATES.iter().map(|s| s.to_string()).collect()))
            .build(),
    ];
    let extra: Vec<String> = describe(aws, &[], filters)
        .await?
        .iter()
        .filter_map(|l| l.instance.instance_id())
        .filter(|id| *id != kept)
        .map(str::to_string)
        .collect();
    if !extra.is_empty() {
        tracing::warn!(?extra, kept, "RunInstances was sent again after a lost answer: terminating the extra launches");
        aws.count_call();
        aws.ec2.terminate_instances().set_instance_ids(Some(extra)).send().await.classify("ec2:TerminateInstances")?;
    }
    Ok(())
}

/// An instance and the account its reservation belongs to (for the ARN).
struct Live {
    owner: Option<String>,
    instance: Ec2Instance,
}

impl Live {
    fn state(&self) -> Option<&InstanceStateName> {
        self.instance.state().and_then(|s| s.name())
    }

    /// The name of its instance profile as DescribeInstances reports it.
    fn profile(&self) -> Option<&str> {
        self.instance.iam_instance_profile().and_then(|p| p.arn()).map(profile_name)
    }

    /// Terminated instances stay visible for a while; they are gone all the same.
    fn is_gone(&self) -> bool {
        self.state() == Some(&InstanceStateName::Terminated)
    }
}

/// DescribeInstances by ids or by filters, every page.
async fn describe(aws: &AwsCtx, ids: &[&str], filters: Vec<Filter>) -> Result<Vec<Live>, ProviderError> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        aws.count_call();
        let mut request = aws.ec2.describe_instances().set_next_token(token);
        if !ids.is_empty() {
            request = request.set_instance_ids(Some(ids.iter().map(|id| id.to_string()).collect()));
        }
        if !filters.is_empty() {
            request = request.set_filters(Some(filters.clone()));
        }
        let out = request.send().await.classify("ec2:DescribeInstances")?;
        token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        for reservation in out.reservations.unwrap_or_default() {
            let owner = reservation.owner_id().map(str::to_string);
            for instance in reservation.instances.unwrap_or_default() {
                all.push(Live { owner: owner.clone(), instance });
            }
        }
        if token.is_none() {
            return Ok(all);
        }
    }
}

async fn describe_one(aws: &AwsCtx, id: &str) -> Result<Live, ProviderError> {
    describe(aws, &[id], Vec::new())
        .await?
        .into_iter()
        .find(|l| l.instance.instance_id() == Some(id))
        .ok_or(ProviderError::NotFound { call: "ec2:DescribeInstances" })
}

async fn wait_until_running(aws: &AwsCtx, id: &str, limit: Duration) -> Result<Live, ProviderError> {
    const CALL: &str = "ec2:DescribeInstances";
    wait_for(CALL, &format!("instance {id} is not running"), limit, || async {
        // A new instance may not be visible at once.
        let Some(live) = found(describe_one(aws, id).await, &[])? else {
            return Ok(None);
        };
        match live.state() {
            Some(InstanceStateName::Running) => Ok(Some(live)),
            Some(InstanceStateName::Pending) | None => Ok(None),
            Some(other) => Err(ProviderError::Api {
                call: CALL,
                code: "InstanceNotRunning".into(),
                message: format!(
                    "instance {id} is {} instead of running{}",
                    other.as_str(),
                    live.instance
                        .state_reason()
                        .and_then(|r| r.message())
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ),
                request_id: None,
                retryable: false,
            }),
        }
    })
    .await
}

async fn termination_protection(aws: &AwsCtx, id: &str) -> Result<bool, ProviderError> {
    aws.count_call();
    let out = aws
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .classify("ec2:DescribeInstanceAttribute")?;
    Ok(out.disable_api_termination().and_then(|v| v.value()).unwrap_or(false))
}

/// The user data as text; undecodable data is kept base64-encoded.
async fn user_data(aws: &AwsCtx, id: &str) -> Result<Option<String>, ProviderError> {
    aws.count_call();
    let out = aws
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
        .classify("ec2:DescribeInstanceAttribute")?;
    let Some(encoded) = out.user_data().and_then(|v| v.value()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let text = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_else(|| encoded.to_string());
    Ok(Some(text))
}

/// Associates, replaces or removes the instance profile of a running instance.
async fn set_instance_profile(aws: &AwsCtx, id: &str, profile: Option<&str>) -> Result<(), ProviderError> {
    let current = associations(aws, &[id]).await?;
    let association = current.iter().find_map(|a| a.association_id());
    match (association, profile) {
        (None, None) => Ok(()),
        (Some(association), None) => {
            aws.count_call();
            let result = aws
                .ec2
                .disassociate_iam_instance_profile()
                .association_id(association)
                .send()
                .await
                .classify("ec2:DisassociateIamInstanceProfile");
            found(result, &[]).map(|_| ())
        }
        (association, Some(name)) => {
            let spec = IamInstanceProfileSpecification::builder().name(name).build();
            retry_while(PROFILE_TIMEOUT, profile_not_ready, || {
                let spec = spec.clone();
                aws.count_call();
                async move {
                    match association {
                        Some(association) => {
                            const CALL: &str = "ec2:ReplaceIamInstanceProfileAssociation";
                            aws.ec2
                                .replace_iam_instance_profile_association()
                                .association_id(association)
                                .iam_instance_profile(spec)
                                .send()
                                .await
                                .map_err(|e| classify_profile_error(CALL, e))?;
                        }
                        None => {
                            const CALL: &str = "ec2:AssociateIamInstanceProfile";
                            aws.ec2
                                .associate_iam_instance_profile()
                                .instance_id(id)
                                .iam_instance_profile(spec)
                                .send()
                                .await
                                .map_err(|e| classify_profile_error(CALL, e))?;
                        }
                    }
                    Ok(())
                }
            })
            .await
        }
    }
}

/// The current (associating or associated) profile associations of instances.
async fn associations(aws: &AwsCtx, ids: &[&str]) -> Result<Vec<IamInstanceProfileAssociation>, ProviderError> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        aws.count_call();
        let out = aws
            .ec2
            .describe_iam_instance_profile_associations()
            .filters(
                Filter::builder()
                    .name("instance-id")
                    .set_values(Some(ids.iter().map(|id| id.to_string()).collect()))
                    .build(),
            )
            .filters(Filter::builder().name("state").values("associating").values("associated").build())
            .set_next_token(token)
            .send()
            .await
            .classify("ec2:DescribeIamInstanceProfileAssociations")?;
        token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        all.extend(out.iam_instance_profile_associations.unwrap_or_default());
        if token.is_none() {
            return Ok(all);
        }
    }
}

/// EC2's answer while it cannot see an instance profile yet: real AWS says
/// InvalidParameterValue naming `iamInstanceProfile`, the emulator NoSuchEntity.
fn profile_pending(code: &str, message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    (code == "InvalidParameterValue" && message.contains("iaminstanceprofile"))
        || (code == "NoSuchEntity" && message.contains("instance profile"))
}

fn profile_not_ready(err: &ProviderError) -> bool {
    matches!(err, ProviderError::Api { code, message, .. } if profile_pending(code, message))
}

/// Like `classify`, but keeps the code and message of a "profile not
/// visible yet" answer, which the shared classification would turn into
/// a bare not-found.
fn classify_profile_error<E, R>(call: &'static str, err: SdkError<E, R>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: Debug,
{
    let code = err.code().unwrap_or_default().to_string();
    let message = err.message().unwrap_or_default().to_string();
    if profile_pending(&code, &message) {
        return ProviderError::Api { call, code, message, request_id: None, retryable: false };
    }
    classify(call, err)
}

/// The name of an instance profile, from its ARN
/// (`arn:aws:iam::123456789012:instance-profile/path/NAME`).
fn profile_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The attribute map of an instance; `args` supplies what EC2 does not
/// report here (`user_data`, `tags`).
fn instance_attrs(
    aws: &AwsCtx,
    live: &Live,
    profile: Option<&str>,
    args: &Attrs,
    protection: bool,
    tags_all: Value,
) -> Attrs {
    let i = &live.instance;
    let id = i.instance_id().unwrap_or_default();
    let nonempty = |s: Option<&str>| Value::from(s.filter(|s| !s.is_empty()));
    let owner = live.owner.as_deref().unwrap_or_default();
    let primary = i
        .network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
        .or_else(|| i.network_interfaces().first());
    // The emulator lists groups only on the network interface when none were asked for.
    let mut groups: Vec<&str> = i.security_groups().iter().filter_map(|g| g.group_id()).collect();
    if groups.is_empty() {
        groups = primary.map(|n| n.groups().iter().filter_map(|g| g.group_id()).collect()).unwrap_or_default();
    }
    groups.sort_unstable();

    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(id));
    attrs.insert(
        "arn".into(),
        Value::from(format!("arn:{}:ec2:{}:{owner}:instance/{id}", partition(&aws.region), aws.region)),
    );
    attrs.insert("ami".into(), Value::from(i.image_id()));
    attrs.insert("instance_type".into(), Value::from(i.instance_type().map(|t| t.as_str())));
    attrs.insert("subnet_id".into(), nonempty(i.subnet_id()));
    attrs.insert("vpc_security_group_ids".into(), Value::from(groups));
    attrs.insert("iam_instance_profile".into(), Value::from(profile));
    attrs.insert("key_name".into(), nonempty(i.key_name()));
    copy_attrs(&mut attrs, args, &["user_data", "user_data_base64", "tags", "volume_tags", CREDITS, timeouts::BLOCK]);
    attrs.insert(METADATA.into(), options::metadata_read(i));
    attrs.insert(
        "associate_public_ip_address".into(),
        Value::from(i.public_ip_address().is_some_and(|ip| !ip.is_empty())),
    );
    let monitoring =
        matches!(i.monitoring().and_then(|m| m.state()), Some(MonitoringState::Enabled | MonitoringState::Pending));
    attrs.insert("monitoring".into(), Value::from(monitoring));
    attrs.insert("disable_api_termination".into(), Value::from(protection));
    attrs.insert("public_ip".into(), nonempty(i.public_ip_address()));
    attrs.insert("private_ip".into(), nonempty(i.private_ip_address()));
    attrs.insert("public_dns".into(), nonempty(i.public_dns_name()));
    attrs.insert("private_dns".into(), nonempty(i.private_dns_name()));
    attrs.insert("primary_network_interface_id".into(), Value::from(primary.and_then(|n| n.network_interface_id())));
    attrs.insert("instance_state".into(), Value::from(live.state().map(|s| s.as_str())));
    attrs.insert("availability_zone".into(), Value::from(i.placement().and_then(|p| p.availability_zone())));
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_come_from_their_arn() {
        assert_eq!(profile_name("arn:aws:iam::123456789012:instance-profile/app"), "app");
        assert_eq!(profile_name("arn:aws:iam::123456789012:instance-profile/team/app"), "app");
    }

    #[test]
    fn an_unseen_profile_is_worth_waiting_for() {
        let real = "Value (app) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name";
        assert!(profile_pending("InvalidParameterValue", real));
        assert!(profile_pending("NoSuchEntity", "Instance profile app not found"));
        assert!(!profile_pending("InvalidParameterValue", "Invalid value 't9.huge' for InstanceType."));
        assert!(!profile_pending("InvalidAMIID.NotFound", "The image id '[ami-1]' does not exist"));
    }
}
