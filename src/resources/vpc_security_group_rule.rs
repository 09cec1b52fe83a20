//! `aws_vpc_security_group_ingress_rule` and
//! `aws_vpc_security_group_egress_rule`: one EC2 rule (`sgr-…`) each, with
//! one source, tags and an ARN. The two types differ only in direction, so
//! they share this file.
//!
//! - The id is EC2's rule id; import takes it.
//! - As in the provider, everything but `security_group_id` changes in place
//!   (ModifySecurityGroupRules); tags with CreateTags/DeleteTags.
//! - The create tags the rule with the ownership tags, so a create cut short
//!   is found by them (DescribeSecurityGroupRules filters by tag).

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, SecurityGroupRule, SecurityGroupRuleRequest,
    SecurityGroupRuleUpdate, UserIdGroupPair,
};
use serde_json::Value;

use super::security_group::{normalize_protocol, Direction};
use super::sg_rule_support::{authorize, describe_rules, direction_of, duplicate_as_exists, revoke};
use super::support::{
    complete, create_tags, describe_many, ec2_owner_filters, ec2_tags, ec2_update_tags, get_i64, get_nonempty_str,
    get_str, get_tags, partition, require_str, tags_to_json, visible_tags,
};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

/// The four ways to say where traffic comes from or goes to; exactly one is set.
const SOURCES: [&str; 4] = ["cidr_ipv4", "cidr_ipv6", "prefix_list_id", "referenced_security_group_id"];

fn schema(type_name: &'static str) -> Schema {
    Schema::new(
        type_name,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("security_group_id", Ty::String).force_new(),
            Attr::required("ip_protocol", Ty::String),
            Attr::optional("from_port", Ty::Number),
            Attr::optional("to_port", Ty::Number),
            Attr::optional("cidr_ipv4", Ty::String),
            Attr::optional("cidr_ipv6", Ty::String),
            Attr::optional("prefix_list_id", Ty::String),
            Attr::optional("referenced_security_group_id", Ty::String),
            Attr::optional("description", Ty::String),
            Attr::computed("arn", Ty::String),
            Attr::computed("security_group_rule_id", Ty::String),
        ],
    )
    .taggable()
}

static INGRESS_SCHEMA: LazyLock<Schema> = LazyLock::new(|| schema("aws_vpc_security_group_ingress_rule"));
static EGRESS_SCHEMA: LazyLock<Schema> = LazyLock::new(|| schema("aws_vpc_security_group_egress_rule"));

pub struct VpcSecurityGroupRule {
    direction: Direction,
}

pub static INGRESS: VpcSecurityGroupRule = VpcSecurityGroupRule { direction: Direction::Ingress };
pub static EGRESS: VpcSecurityGroupRule = VpcSecurityGroupRule { direction: Direction::Egress };

impl VpcSecurityGroupRule {
    fn type_name(&self) -> &'static str {
        self.schema_ref().type_name
    }

    fn schema_ref(&self) -> &'static Schema {
        match self.direction {
            Direction::Ingress => &INGRESS_SCHEMA,
            Direction::Egress => &EGRESS_SCHEMA,
        }
    }

    fn invalid(&self, message: &str) -> ProviderError {
        ProviderError::Invalid(format!("{}: {message}", self.type_name()))
    }

    /// Checks the arguments the way the provider does.
    fn check(&self, desired: &Attrs) -> Result<(), ProviderError> {
        require_str(desired, "security_group_id", self.type_name())?;
        let protocol = normalize_protocol(require_str(desired, "ip_protocol", self.type_name())?);
        let set = SOURCES.iter().filter(|s| get_nonempty_str(desired, s).is_some()).count();
        if set != 1 {
            return Err(self.invalid(
                "exactly one of cidr_ipv4, cidr_ipv6, prefix_list_id and referenced_security_group_id must be set",
            ));
        }
        let ports = (get_i64(desired, "from_port"), get_i64(desired, "to_port"));
        match (protocol.as_str(), ports) {
            ("-1", (None, None)) => Ok(()),
            ("-1", _) => Err(self.invalid("from_port and to_port cannot be set when ip_protocol is \"-1\" (all)")),
            ("tcp" | "udp" | "icmp" | "icmpv6", (Some(_), Some(_))) => Ok(()),
            ("tcp" | "udp" | "icmp" | "icmpv6", _) => {
                Err(self.invalid("from_port and to_port are required for tcp, udp, icmp and icmpv6"))
            }
            _ => Ok(()),
        }
    }

    /// The permission a create sends.
    fn permission(&self, desired: &Attrs) -> IpPermission {
        let description = get_nonempty_str(desired, "description").map(str::to_string);
        let mut p = IpPermission::builder()
            .ip_protocol(get_str(desired, "ip_protocol").unwrap_or("-1"))
            .set_from_port(get_i64(desired, "from_port").map(|p| p as i32))
            .set_to_port(get_i64(desired, "to_port").map(|p| p as i32));
        if let Some(cidr) = get_nonempty_str(desired, "cidr_ipv4") {
            p = p.ip_ranges(IpRange::builder().cidr_ip(cidr).set_description(description).build());
        } else if let Some(cidr) = get_nonempty_str(desired, "cidr_ipv6") {
            p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).set_description(description).build());
        } else if let Some(list) = get_nonempty_str(desired, "prefix_list_id") {
            p = p.prefix_list_ids(PrefixListId::builder().prefix_list_id(list).set_description(description).build());
        } else if let Some(group) = get_nonempty_str(desired, "referenced_security_group_id") {
            let pair = match group.split_once('/') {
                Some((user, group)) => UserIdGroupPair::builder().user_id(user).group_id(group),
                None => UserIdGroupPair::builder().group_id(group),
            };
            p = p.user_id_group_pairs(pair.set_description(description).build());
        }
        p.build()
    }

    /// The attribute map of a live rule; `args` decides spellings EC2
    /// normalizes (`all` for `-1`, ports of an all-protocols rule).
    fn attrs(&self, aws: &AwsCtx, rule: &SecurityGroupRule, args: &Attrs, tags_all: Value) -> Attrs {
        let id = rule.security_group_rule_id().unwrap_or_default();
        let live_protocol = rule.ip_protocol().unwrap_or("-1");
        let protocol = match get_str(args, "ip_protocol") {
            Some(p) if normalize_protocol(p) == normalize_protocol(live_protocol) => p.to_string(),
            _ => live_protocol.to_string(),
        };
        let all = normalize_protocol(&protocol) == "-1";
        let port = |p: Option<i32>| if all { Value::Null } else { Value::from(p) };
        let arn = match rule.security_group_rule_arn() {
            Some(arn) if !arn.is_empty() => arn.to_string(),
            _ => format!(
                "arn:{}:ec2:{}:{}:security-group-rule/{id}",
                partition(&aws.region),
                aws.region,
                rule.group_owner_id().unwrap_or_default()
            ),
        };
        let referenced = rule.referenced_group_info().and_then(|g| {
            let group = g.group_id()?;
            // Keep the `ACCOUNT/sg-…` spelling the configuration used.
            Some(match get_str(args, "referenced_security_group_id") {
                Some(written) if written.rsplit('/').next() == Some(group) => written.to_string(),
                _ => group.to_string(),
            })
        });
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(id));
        attrs.insert("security_group_rule_id".into(), Value::from(id));
        attrs.insert("arn".into(), Value::from(arn));
        attrs.insert("security_group_id".into(), Value::from(rule.group_id()));
        attrs.insert("ip_protocol".into(), Value::from(protocol));
        attrs.insert("from_port".into(), port(rule.from_port()));
        attrs.insert("to_port".into(), port(rule.to_port()));
        attrs.insert("cidr_ipv4".into(), Value::from(rule.cidr_ipv4()));
        attrs.insert("cidr_ipv6".into(), Value::from(rule.cidr_ipv6()));
        attrs.insert("prefix_list_id".into(), Value::from(rule.prefix_list_id()));
        attrs.insert("referenced_security_group_id".into(), Value::from(referenced));
        attrs.insert("description".into(), Value::from(rule.description().filter(|d| !d.is_empty())));
        attrs.insert("tags".into(), args.get("tags").cloned().unwrap_or(Value::Null));
        attrs.insert("tags_all".into(), tags_all);
        complete(self.schema_ref(), attrs)
    }
}

#[async_trait]
impl ResourceType for VpcSecurityGroupRule {
    fn schema(&self) -> &Schema {
        self.schema_ref()
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        let rules = describe_rules(aws, &[], ec2_owner_filters(owner_tags)).await?;
        Ok(rules
            .iter()
            .filter(|r| direction_of(r) == self.direction)
            .find_map(|r| r.security_group_rule_id().map(str::to_string)))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let aws = ctx.aws;
        let mut ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let rules = describe_many(&ids, |ids| async move { describe_rules(aws, &ids, Vec::new()).await }).await?;
        let by_id: HashMap<&str, &SecurityGroupRule> =
            rules.iter().filter_map(|r| Some((r.security_group_rule_id()?, r))).collect();
        requests
            .iter()
            .map(|req| {
                let Some(rule) = by_id.get(req.id.as_str()) else { return Ok(None) };
                if direction_of(rule) != self.direction {
                    return Err(self.invalid(&format!(
                        "{} is an {} rule; use aws_vpc_security_group_{}_rule for it",
                        req.id,
                        if self.direction == Direction::Ingress { "egress" } else { "ingress" },
                        if self.direction == Direction::Ingress { "egress" } else { "ingress" },
                    )));
                }
                let tags = visible_tags(&ec2_tags(rule.tags()));
                Ok(Some(self.attrs(aws, rule, &req.prior, tags)))
            })
            .collect()
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        self.check(desired)?;
        let group = require_str(desired, "security_group_id", self.type_name())?;
        let call = match self.direction {
            Direction::Ingress => "ec2:AuthorizeSecurityGroupIngress",
            Direction::Egress => "ec2:AuthorizeSecurityGroupEgress",
        };
        let created =
            authorize(aws, group, self.direction, vec![self.permission(desired)], create_tags(desired, owner_tags))
                .await
                .map_err(|e| duplicate_as_exists(e, call))?;
        let rule = created.first().ok_or_else(|| ProviderError::empty_response(call, "security group rule"))?;
        let id = rule.security_group_rule_id().ok_or_else(|| ProviderError::empty_response(call, "rule id"))?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(Created { id: id.to_string(), attrs: self.attrs(aws, rule, desired, tags_all) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        const CALL: &str = "ec2:ModifySecurityGroupRules";
        self.check(desired)?;
        let group = require_str(desired, "security_group_id", self.type_name())?;
        let changed = |name: &str| prior.get(name).unwrap_or(&Value::Null) != desired.get(name).unwrap_or(&Value::Null);
        let rule_changed =
            ["ip_protocol", "from_port", "to_port", "description"].into_iter().chain(SOURCES).any(changed);
        if rule_changed {
            // Ports of an all-protocols rule are -1 to EC2.
            let port = |name: &str| get_i64(desired, name).map(|p| p as i32).or(Some(-1));
            let request = SecurityGroupRuleRequest::builder()
                .ip_protocol(get_str(desired, "ip_protocol").unwrap_or("-1"))
                .set_from_port(port("from_port"))
                .set_to_port(port("to_port"))
                .set_cidr_ipv4(get_nonempty_str(desired, "cidr_ipv4").map(str::to_string))
                .set_cidr_ipv6(get_nonempty_str(desired, "cidr_ipv6").map(str::to_string))
                .set_prefix_list_id(get_nonempty_str(desired, "prefix_list_id").map(str::to_string))
                .set_referenced_group_id(
                    get_nonempty_str(desired, "referenced_security_group_id")
                        .map(|g| g.rsplit('/').next().unwrap_or(g).to_string()),
                )
                .set_description(get_str(desired, "description").map(str::to_string))
                .build();
            let update =
                SecurityGroupRuleUpdate::builder().security_group_rule_id(id).security_group_rule(request).build();
            aws.count_call();
            aws.ec2
                .modify_security_group_rules()
                .group_id(group)
                .security_group_rules(update)
                .send()
                .await
                .classify(CALL)?;
        }
        ec2_update_tags(aws, id, prior, desired, owner_tags).await?;
        let rules = describe_rules(aws, &[id], Vec::new()).await?;
        let rule = rules.first().ok_or(ProviderError::NotFound { call: "ec2:DescribeSecurityGroupRules" })?;
        Ok(self.attrs(aws, rule, desired, tags_to_json(&get_tags(desired, "tags_all"))))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let Some(group) = get_nonempty_str(prior, "security_group_id") else {
            return Err(self.invalid("state holds no security_group_id for this rule"));
        };
        let result = revoke(aws, group, self.direction, Some(vec![id.to_string()]), None).await;
        super::support::found(result, &["InvalidGroup.NotFound"]).map(|_| ())
    }
}
