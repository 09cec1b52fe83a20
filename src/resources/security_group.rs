//! `aws_security_group` with inline `ingress` and `egress` rules.
//!
//! EC2 stores rules per (protocol, ports) with one description per source,
//! not as the blocks a stack writes. Rules are therefore compared as sets of
//! single grants (protocol, ports, one source, description): a configured
//! block whose grants all exist reads back exactly as written, and live
//! grants no block accounts for are grouped the way Terraform shows them
//! (one block per protocol, ports and description).
//!
//! As in the provider, a create revokes the allow-all egress rule AWS adds
//! to a new group, and a direction without any block in the configuration
//! is not managed here: without `ingress` (or `egress`) the rules that
//! `aws_security_group_rule` or
//! `aws_vpc_security_group_ingress_rule` resources add are left alone. State
//! records such a direction as an empty list, and reads keep it empty, so
//! rules added by those resources are not drift of the group. A
//! group with inline blocks *and* separate rule resources in the same
//! direction has two owners that undo each other's work on every apply;
//! `plan::sg_overlap` warns about that at load time.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    Filter, IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType as Ec2ResourceType, SecurityGroup as Ec2Group,
    UserIdGroupPair,
};
use serde_json::{json, Value};

use super::naming::NameRule;
use super::support::{
    block_items, complete, copy_attrs, create_tags, describe_many, ec2_owner_filters, ec2_tag_spec, ec2_tags,
    ec2_update_tags, found, get_bool, get_i64, get_nonempty_str, get_str, get_strings, get_tags, partition,
    prior_or_default, require_str, retry_while, tags_to_json, visible_tags,
};
use super::timeouts;
use super::{Attr, Attrs, BlockSchema, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_security_group";
/// EC2 takes group names of at most 255 characters.
const NAMING: NameRule = NameRule::new("name", "name_prefix", 255);
const DEFAULT_DESCRIPTION: &str = "Managed by Terraform";
/// How long a new group may take to become visible to DescribeSecurityGroups.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a delete waits for instances still being terminated to let go.
const DELETE_TIMEOUT: Duration = Duration::from_secs(120);

fn rule_attrs() -> Vec<Attr> {
    vec![
        Attr::required("from_port", Ty::Number),
        Attr::required("to_port", Ty::Number),
        Attr::required("protocol", Ty::String),
        Attr::optional("cidr_blocks", Ty::ListOfString),
        Attr::optional("ipv6_cidr_blocks", Ty::ListOfString),
        Attr::optional("prefix_list_ids", Ty::ListOfString),
        Attr::optional("security_groups", Ty::SetOfString),
        Attr::optional("self", Ty::Bool).default(false),
        Attr::optional("description", Ty::String),
    ]
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::optional_computed("name", Ty::String).force_new(),
            Attr::optional_computed("name_prefix", Ty::String).force_new(),
            Attr::optional("description", Ty::String).default(DEFAULT_DESCRIPTION).force_new(),
            Attr::optional_computed("vpc_id", Ty::String).force_new(),
            Attr::optional("revoke_rules_on_delete", Ty::Bool).default(false),
            Attr::computed("arn", Ty::String),
            Attr::computed("owner_id", Ty::String),
        ],
    )
    .blocks(vec![
        BlockSchema::set("ingress", rule_attrs()).computed_when_absent(),
        BlockSchema::set("egress", rule_attrs()).computed_when_absent(),
        timeouts::block(&["create", "delete"]),
    ])
    .taggable()
});

pub struct SecurityGroup;

#[async_trait]
impl ResourceType for SecurityGroup {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, _desired: &Attrs) -> Option<String> {
        None
    }

    fn name_rule(&self) -> Option<NameRule> {
        Some(NAMING)
    }

    async fn find_by_owner_tags(&self, aws: &AwsCtx, owner_tags: &Tags) -> Result<Option<String>, ProviderError> {
        let groups = describe(aws, &[], ec2_owner_filters(owner_tags)).await?;
        Ok(groups.iter().find_map(|g| g.group_id().map(str::to_string)))
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        let aws = ctx.aws;
        let mut ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let groups = describe_many(&ids, |ids| async move { describe(aws, &ids, Vec::new()).await }).await?;
        let groups: HashMap<&str, &Ec2Group> = groups.iter().filter_map(|g| Some((g.group_id()?, g))).collect();
        Ok(requests
            .iter()
            .map(|req| {
                let group = groups.get(req.id.as_str())?;
                let ingress = read_blocks(group, group.ip_permissions(), &req.prior, "ingress");
                let egress = read_blocks(group, group.ip_permissions_egress(), &req.prior, "egress");
                let tags = visible_tags(&ec2_tags(group.tags()));
                Some(group_attrs(aws, group, &req.prior, &ingress, &egress, tags))
            })
            .collect())
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        const CALL: &str = "ec2:CreateSecurityGroup";
        // A generated name is not journaled: an interrupted create is found
        // again by its ownership tags (find_by_owner_tags).
        let name = require_str(desired, "name", TYPE_NAME)?.to_string();
        let rules = DesiredRules::from(desired)?;
        let vpc_id = match get_nonempty_str(desired, "vpc_id") {
            Some(vpc) => vpc.to_string(),
            None => default_vpc(aws).await?,
        };
        aws.count_call();
        let out = aws
            .ec2
            .create_security_group()
            .group_name(&name)
            .description(get_nonempty_str(desired, "description").unwrap_or(DEFAULT_DESCRIPTION))
            .vpc_id(&vpc_id)
            .tag_specifications(ec2_tag_spec(Ec2ResourceType::SecurityGroup, create_tags(desired, owner_tags)))
            .send()
            .await
            .classify(CALL)?;
        let id = out.group_id().ok_or_else(|| ProviderError::empty_response(CALL, "group id"))?;
        let mut group = retry_while(
            timeouts::limit(desired, "create", VISIBLE_TIMEOUT),
            |e| matches!(e, ProviderError::NotFound { .. }),
            || describe_one(aws, id),
        )
        .await?;
        // As the provider does: the allow-all egress rule AWS gives every new
        // group goes, so that egress is only what the stack declares (in
        // `egress` blocks or rule resources, which would otherwise collide
        // with it as InvalidPermission.Duplicate).
        let default_egress = live_grants(&group, group.ip_permissions_egress());
        if !default_egress.is_empty() {
            revoke(aws, id, Direction::Egress, &default_egress).await?;
            group = describe_one(aws, id).await?;
        }
        let (ingress, egress) = reconcile(aws, &group, &rules).await?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(Created { id: id.to_string(), attrs: group_attrs(aws, &group, desired, &ingress, &egress, tags_all) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        id: &str,
        prior: &Attrs,
        desired: &Attrs,
        owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        let rules = DesiredRules::from(desired)?;
        // Rules are reconciled against what AWS has now, not what state
        // recorded: authorizing a rule that exists, or revoking one that does
        // not, fails the whole call.
        let group = describe_one(aws, id).await?;
        let (ingress, egress) = reconcile(aws, &group, &rules).await?;
        ec2_update_tags(aws, id, prior, desired, owner_tags).await?;
        let tags_all = tags_to_json(&get_tags(desired, "tags_all"));
        Ok(group_attrs(aws, &group, desired, &ingress, &egress, tags_all))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        if prior_or_default(&SCHEMA, prior, "revoke_rules_on_delete") == Value::Bool(true) {
            let Some(group) = found(describe_one(aws, id).await, &[])? else {
                return Ok(());
            };
            // Other groups' rules may point at this one and this one at them;
            // emptying it first lets such cycles be deleted.
            let ingress = live_grants(&group, group.ip_permissions());
            let egress = live_grants(&group, group.ip_permissions_egress());
            revoke(aws, id, Direction::Ingress, &ingress).await?;
            revoke(aws, id, Direction::Egress, &egress).await?;
        }
        let result = retry_while(
            timeouts::limit(prior, "delete", DELETE_TIMEOUT),
            |e| e.code() == Some("DependencyViolation"),
            || async {
                aws.count_call();
                aws.ec2.delete_security_group().group_id(id).send().await.classify("ec2:DeleteSecurityGroup")
            },
        )
        .await;
        found(result, &[]).map(|_| ())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Direction {
    Ingress,
    Egress,
}

/// Where traffic may come from (ingress) or go to (egress).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Source {
    Cidr(String),
    Ipv6(String),
    PrefixList(String),
    /// Another group: `sg-…`, or `ACCOUNT/sg-…` for one in another account.
    Group(String),
    /// This group itself.
    SelfRef,
}

/// One source allowed for one protocol and port range.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Grant {
    pub(super) protocol: String,
    pub(super) from: i64,
    pub(super) to: i64,
    pub(super) source: Source,
    /// Empty when none.
    pub(super) description: String,
}

pub(super) type Grants = BTreeSet<Grant>;

/// EC2 answers `tcp` for 6 and `-1` for all protocols, whatever was sent.
pub(super) fn normalize_protocol(protocol: &str) -> String {
    let p = protocol.trim().to_ascii_lowercase();
    match p.as_str() {
        "all" | "-1" => "-1".into(),
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "icmpv6".into(),
        _ => p,
    }
}

/// Ports mean nothing to the all-protocols rule: EC2 reports none, and
/// Terraform writes 0 and 0.
pub(super) fn ports(protocol: &str, from: i64, to: i64) -> (i64, i64) {
    if protocol == "-1" {
        (0, 0)
    } else {
        (from, to)
    }
}

/// The grants one configured block stands for.
fn block_grants(block: &Attrs, own_id: &str) -> Result<Grants, ProviderError> {
    let protocol = normalize_protocol(require_str(block, "protocol", TYPE_NAME)?);
    let (Some(from), Some(to)) = (get_i64(block, "from_port"), get_i64(block, "to_port")) else {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: \"from_port\" and \"to_port\" are required in every rule"
        )));
    };
    if ![from, to].iter().all(|p| (-1..=65535).contains(p)) {
        return Err(ProviderError::Invalid(format!(
            "{TYPE_NAME}: ports must be between -1 and 65535, not {from} and {to}"
        )));
    }
    let (from, to) = ports(&protocol, from, to);
    let description = get_str(block, "description").unwrap_or_default().to_string();
    let mut sources: Vec<Source> = Vec::new();
    sources.extend(get_strings(block, "cidr_blocks").into_iter().map(Source::Cidr));
    sources.extend(get_strings(block, "ipv6_cidr_blocks").into_iter().map(Source::Ipv6));
    sources.extend(get_strings(block, "prefix_list_ids").into_iter().map(Source::PrefixList));
    sources.extend(get_strings(block, "security_groups").into_iter().map(|g| {
        if g == own_id {
            Source::SelfRef
        } else {
            Source::Group(g)
        }
    }));
    if get_bool(block, "self") == Some(true) {
        sources.push(Source::SelfRef);
    }
    Ok(sources
        .into_iter()
        .map(|source| Grant { protocol: protocol.clone(), from, to, source, description: description.clone() })
        .collect())
}

/// The grants of EC2's permissions of `group`.
fn live_grants(group: &Ec2Group, permissions: &[IpPermission]) -> Grants {
    let own_id = group.group_id().unwrap_or_default();
    let mut grants = Grants::new();
    for p in permissions {
        let protocol = normalize_protocol(p.ip_protocol().unwrap_or("-1"));
        let (from, to) = ports(&protocol, p.from_port().map_or(0, i64::from), p.to_port().map_or(0, i64::from));
        let mut add = |source: Source, description: Option<&str>| {
            grants.insert(Grant {
                protocol: protocol.clone(),
                from,
                to,
                source,
                description: description.unwrap_or_default().to_string(),
            });
        };
        for r in p.ip_ranges() {
            if let Some(cidr) = r.cidr_ip() {
                add(Source::Cidr(cidr.to_string()), r.description());
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(cidr) = r.cidr_ipv6() {
                add(Source::Ipv6(cidr.to_string()), r.description());
            }
        }
        for r in p.prefix_list_ids() {
            if let Some(id) = r.prefix_list_id() {
                add(Source::PrefixList(id.to_string()), r.description());
            }
        }
        for pair in p.user_id_group_pairs() {
            let Some(other) = pair.group_id() else { continue };
            let source = match pair.user_id() {
                _ if other == own_id => Source::SelfRef,
                // Groups of other accounts are written ACCOUNT/sg-…, as in Terraform.
                Some(user) if !user.is_empty() && group.owner_id().is_some_and(|owner| owner != user) => {
                    Source::Group(format!("{user}/{other}"))
                }
                _ => Source::Group(other.to_string()),
            };
            add(source, pair.description());
        }
    }
    grants
}

/// The rule blocks for `live` grants: every block of `prior` whose grants
/// all exist, as written, then the rest grouped like Terraform does.
fn rule_blocks(live: &Grants, prior: &[&Attrs], own_id: &str) -> Vec<Value> {
    let mut blocks = Vec::new();
    let mut covered = Grants::new();
    for block in prior {
        let Ok(grants) = block_grants(block, own_id) else { continue };
        if grants.is_empty() || !grants.is_subset(live) {
            continue;
        }
        let value = Value::Object((*block).clone());
        if !blocks.contains(&value) {
            blocks.push(value);
        }
        covered.extend(grants);
    }

    let mut groups: BTreeMap<(&str, i64, i64, &str), Vec<&Source>> = BTreeMap::new();
    for g in live.difference(&covered) {
        groups.entry((g.protocol.as_str(), g.from, g.to, g.description.as_str())).or_default().push(&g.source);
    }
    for ((protocol, from, to, description), sources) in groups {
        let pick = |f: fn(&Source) -> Option<&String>| sources.iter().filter_map(|s| f(s)).collect::<Vec<_>>();
        blocks.push(json!({
            "from_port": from,
            "to_port": to,
            "protocol": protocol,
            "cidr_blocks": pick(|s| if let Source::Cidr(c) = s { Some(c) } else { None }),
            "ipv6_cidr_blocks": pick(|s| if let Source::Ipv6(c) = s { Some(c) } else { None }),
            "prefix_list_ids": pick(|s| if let Source::PrefixList(c) = s { Some(c) } else { None }),
            "security_groups": pick(|s| if let Source::Group(c) = s { Some(c) } else { None }),
            "self": sources.iter().any(|s| matches!(s, Source::SelfRef)),
            "description": if description.is_empty() { Value::Null } else { Value::from(description) },
        }));
    }
    blocks
}

/// The rules a create or update asks for.
struct DesiredRules<'a> {
    ingress: Vec<&'a Attrs>,
    egress: Vec<&'a Attrs>,
}

impl<'a> DesiredRules<'a> {
    fn from(desired: &'a Attrs) -> Result<DesiredRules<'a>, ProviderError> {
        let rules = DesiredRules { ingress: block_items(desired, "ingress"), egress: block_items(desired, "egress") };
        for block in rules.ingress.iter().chain(&rules.egress) {
            // Checked against a placeholder id: only emptiness matters here.
            if block_grants(block, "")?.is_empty() {
                return Err(ProviderError::Invalid(format!(
                    "{TYPE_NAME}: every rule needs at least one of cidr_blocks, ipv6_cidr_blocks, \
                     prefix_list_ids, security_groups or self = true"
                )));
            }
        }
        Ok(rules)
    }

    fn grants(blocks: &[&Attrs], own_id: &str) -> Result<Grants, ProviderError> {
        let mut grants = Grants::new();
        for block in blocks {
            grants.extend(block_grants(block, own_id)?);
        }
        Ok(grants)
    }
}

/// Brings the group's rules to the desired ones and returns the ingress and
/// egress rule blocks as they now are. A direction without desired rules is
/// left alone (AWS's default allow-all egress on a new group, rules other
/// resources manage).
async fn reconcile(
    aws: &AwsCtx,
    group: &Ec2Group,
    rules: &DesiredRules<'_>,
) -> Result<(Vec<Value>, Vec<Value>), ProviderError> {
    let ingress = if rules.ingress.is_empty() {
        Vec::new()
    } else {
        reconcile_direction(aws, group, Direction::Ingress, &rules.ingress).await?
    };
    let egress = if rules.egress.is_empty() {
        Vec::new()
    } else {
        reconcile_direction(aws, group, Direction::Egress, &rules.egress).await?
    };
    Ok((ingress, egress))
}

/// Revokes first (a changed description is a revoke and an authorize of the
/// same source), then authorizes.
async fn reconcile_direction(
    aws: &AwsCtx,
    group: &Ec2Group,
    direction: Direction,
    blocks: &[&Attrs],
) -> Result<Vec<Value>, ProviderError> {
    let id = group.group_id().unwrap_or_default();
    let live = match direction {
        Direction::Ingress => group.ip_permissions(),
        Direction::Egress => group.ip_permissions_egress(),
    };
    let have = live_grants(group, live);
    let want = DesiredRules::grants(blocks, id)?;
    revoke(aws, id, direction, &have.difference(&want).cloned().collect()).await?;
    authorize(aws, id, direction, &want.difference(&have).cloned().collect()).await?;
    Ok(rule_blocks(&want, blocks, id))
}

/// Grants as EC2 permissions: one per protocol and port range.
pub(super) fn permissions(grants: &Grants, own_id: &str) -> Vec<IpPermission> {
    let mut by_ports: BTreeMap<(&str, i64, i64), Vec<&Grant>> = BTreeMap::new();
    for g in grants {
        by_ports.entry((g.protocol.as_str(), g.from, g.to)).or_default().push(g);
    }
    by_ports
        .into_iter()
        .map(|((protocol, from, to), grants)| {
            let mut p = IpPermission::builder().ip_protocol(protocol);
            if protocol != "-1" {
                p = p.from_port(from as i32).to_port(to as i32);
            }
            for g in grants {
                let description = (!g.description.is_empty()).then(|| g.description.clone());
                p = match &g.source {
                    Source::Cidr(c) => p.ip_ranges(IpRange::builder().cidr_ip(c).set_description(description).build()),
                    Source::Ipv6(c) => {
                        p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).set_description(description).build())
                    }
                    Source::PrefixList(id) => p.prefix_list_ids(
                        PrefixListId::builder().prefix_list_id(id).set_description(description).build(),
                    ),
                    Source::Group(group) => {
                        let pair = match group.split_once('/') {
                            Some((user, group)) => UserIdGroupPair::builder().user_id(user).group_id(group),
                            None => UserIdGroupPair::builder().group_id(group),
                        };
                        p.user_id_group_pairs(pair.set_description(description).build())
                    }
                    Source::SelfRef => p.user_id_group_pairs(
                        UserIdGroupPair::builder().group_id(own_id).set_description(description).build(),
                    ),
                };
            }
            p.build()
        })
        .collect()
}

/// EC2's answer to authorizing a rule the group has, and to revoking one it
/// lacks. Either can be the SDK's resend of a call whose answer was lost
/// after EC2 carried it out.
const ALREADY_AUTHORIZED: &str = "InvalidPermission.Duplicate";
const ALREADY_REVOKED: &str = "InvalidPermission.NotFound";

/// The group's live grants in one direction.
async fn live_in(aws: &AwsCtx, id: &str, direction: Direction) -> Result<Grants, ProviderError> {
    let group = describe_one(aws, id).await?;
    Ok(match direction {
        Direction::Ingress => live_grants(&group, group.ip_permissions()),
        Direction::Egress => live_grants(&group, group.ip_permissions_egress()),
    })
}

/// Authorizes `grants`. EC2 adds all of them or none; when it says some
/// exist already (a resent call whose first answer was lost, or a rule
/// added behind gantry's back), the group is read again and only what is
/// still missing is authorized.
async fn authorize(aws: &AwsCtx, id: &str, direction: Direction, grants: &Grants) -> Result<(), ProviderError> {
    match authorize_once(aws, id, direction, grants).await {
        Err(e) if e.code() == Some(ALREADY_AUTHORIZED) => {
            let have = live_in(aws, id, direction).await?;
            authorize_once(aws, id, direction, &grants.difference(&have).cloned().collect()).await
        }
        other => other,
    }
}

/// Revokes `grants`; when EC2 says some are not there (a resent call, or a
/// rule removed behind gantry's back), revokes only those still present.
async fn revoke(aws: &AwsCtx, id: &str, direction: Direction, grants: &Grants) -> Result<(), ProviderError> {
    match revoke_once(aws, id, direction, grants).await {
        Err(e) if e.code() == Some(ALREADY_REVOKED) => {
            let have = live_in(aws, id, direction).await?;
            revoke_once(aws, id, direction, &grants.intersection(&have).cloned().collect()).await
        }
        other => other,
    }
}

async fn authorize_once(aws: &AwsCtx, id: &str, direction: Direction, grants: &Grants) -> Result<(), ProviderError> {
    if grants.is_empty() {
        return Ok(());
    }
    let permissions = Some(permissions(grants, id));
    aws.count_call();
    match direction {
        Direction::Ingress => {
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(permissions)
                .send()
                .await
                .classify("ec2:AuthorizeSecurityGroupIngress")?;
        }
        Direction::Egress => {
            aws.ec2
                .authorize_security_group_egress()
                .group_id(id)
                .set_ip_permissions(permissions)
                .send()
                .await
                .classify("ec2:AuthorizeSecurityGroupEgress")?;
        }
    }
    Ok(())
}

async fn revoke_once(aws: &AwsCtx, id: &str, direction: Direction, grants: &Grants) -> Result<(), ProviderError> {
    if grants.is_empty() {
        return Ok(());
    }
    let permissions = Some(permissions(grants, id));
    aws.count_call();
    match direction {
        Direction::Ingress => {
            aws.ec2
                .revoke_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(permissions)
                .send()
                .await
                .classify("ec2:RevokeSecurityGroupIngress")?;
        }
        Direction::Egress => {
            aws.ec2
                .revoke_security_group_egress()
                .group_id(id)
                .set_ip_permissions(permissions)
                .send()
                .await
                .classify("ec2:RevokeSecurityGroupEgress")?;
        }
    }
    Ok(())
}

/// DescribeSecurityGroups by ids or by filters, every page.
async fn describe(aws: &AwsCtx, ids: &[&str], filters: Vec<Filter>) -> Result<Vec<Ec2Group>, ProviderError> {
    let mut groups = Vec::new();
    let mut token = None;
    loop {
        aws.count_call();
        let mut request = aws.ec2.describe_security_groups().set_next_token(token);
        if !ids.is_empty() {
            request = request.set_group_ids(Some(ids.iter().map(|id| id.to_string()).collect()));
        }
        if !filters.is_empty() {
            request = request.set_filters(Some(filters.clone()));
        }
        let out = request.send().await.classify("ec2:DescribeSecurityGroups")?;
        token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        groups.extend(out.security_groups.unwrap_or_default());
        if token.is_none() {
            return Ok(groups);
        }
    }
}

async fn describe_one(aws: &AwsCtx, id: &str) -> Result<Ec2Group, ProviderError> {
    let groups = describe(aws, &[id], Vec::new()).await?;
    groups
        .into_iter()
        .find(|g| g.group_id() == Some(id))
        .ok_or(ProviderError::NotFound { call: "ec2:DescribeSecurityGroups" })
}

/// The default VPC, where a group without `vpc_id` goes (as in Terraform).
async fn default_vpc(aws: &AwsCtx) -> Result<String, ProviderError> {
    aws.count_call();
    let out = aws
        .ec2
        .describe_vpcs()
        .filters(Filter::builder().name("isDefault").values("true").build())
        .send()
        .await
        .classify("ec2:DescribeVpcs")?;
    out.vpcs()
        .iter()
        .find_map(|v| v.vpc_id().map(str::to_string))
        .ok_or_else(|| ProviderError::Invalid(format!("{TYPE_NAME}: the region has no default VPC; set \"vpc_id\"")))
}

/// The attribute map of a group; `args` supplies what EC2 does not store
/// (`revoke_rules_on_delete`, `tags`) and the rule blocks as written.
fn group_attrs(
    aws: &AwsCtx,
    group: &Ec2Group,
    args: &Attrs,
    ingress: &[Value],
    egress: &[Value],
    tags_all: Value,
) -> Attrs {
    let id = group.group_id().unwrap_or_default();
    let owner = group.owner_id().unwrap_or_default();
    let arn = match group.security_group_arn() {
        Some(arn) if !arn.is_empty() => arn.to_string(),
        _ => format!("arn:{}:ec2:{}:{owner}:security-group/{id}", partition(&aws.region), aws.region),
    };
    let mut attrs = Attrs::new();
    attrs.insert("id".into(), Value::from(id));
    attrs.insert("arn".into(), Value::from(arn));
    attrs.insert("owner_id".into(), Value::from(owner));
    attrs.insert("name".into(), Value::from(group.group_name()));
    attrs.insert("name_prefix".into(), NAMING.prefix_to_report(args, group.group_name().unwrap_or_default()));
    attrs.insert("description".into(), Value::from(group.description()));
    attrs.insert("vpc_id".into(), Value::from(group.vpc_id()));
    attrs.insert("revoke_rules_on_delete".into(), prior_or_default(&SCHEMA, args, "revoke_rules_on_delete"));
    attrs.insert("ingress".into(), Value::Array(ingress.to_vec()));
    attrs.insert("egress".into(), Value::Array(egress.to_vec()));
    copy_attrs(&mut attrs, args, &["tags", timeouts::BLOCK]);
    attrs.insert("tags_all".into(), tags_all);
    complete(&SCHEMA, attrs)
}

/// The rule blocks a read reports: the prior blocks decide how live grants
/// are grouped. A direction state records as empty is not managed by the
/// group (see the module comment) and stays empty; an import (no prior
/// entry) reads everything.
fn read_blocks(group: &Ec2Group, permissions: &[IpPermission], prior: &Attrs, name: &str) -> Vec<Value> {
    if prior.get(name).and_then(Value::as_array).is_some_and(Vec::is_empty) {
        return Vec::new();
    }
    let own_id = group.group_id().unwrap_or_default();
    rule_blocks(&live_grants(group, permissions), &block_items(prior, name), own_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    fn rule(from: i64, to: i64, protocol: &str, cidrs: &[&str], description: Option<&str>) -> Value {
        json!({
            "from_port": from, "to_port": to, "protocol": protocol, "cidr_blocks": cidrs,
            "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": false,
            "description": description,
        })
    }

    fn group(permissions: Vec<IpPermission>) -> Ec2Group {
        Ec2Group::builder().group_id("sg-1").owner_id("1").set_ip_permissions(Some(permissions)).build()
    }

    fn read(live: Vec<IpPermission>, prior: &Attrs, name: &str) -> Vec<Value> {
        let g = group(live);
        read_blocks(&g, g.ip_permissions(), prior, name)
    }

    fn perm(protocol: &str, ports: Option<(i32, i32)>, cidrs: &[(&str, Option<&str>)]) -> IpPermission {
        let mut p = IpPermission::builder().ip_protocol(protocol);
        if let Some((from, to)) = ports {
            p = p.from_port(from).to_port(to);
        }
        for (cidr, description) in cidrs {
            p = p.ip_ranges(IpRange::builder().cidr_ip(*cidr).set_description(description.map(str::to_string)).build());
        }
        p.build()
    }

    #[test]
    fn configured_blocks_read_back_as_written() {
        let http = block(rule(80, 80, "tcp", &["0.0.0.0/0"], None));
        let ssh = block(rule(22, 22, "tcp", &["10.0.0.0/8", "192.168.0.0/16"], Some("ssh")));
        let live = vec![
            perm("tcp", Some((80, 80)), &[("0.0.0.0/0", None)]),
            perm("tcp", Some((22, 22)), &[("192.168.0.0/16", Some("ssh")), ("10.0.0.0/8", Some("ssh"))]),
        ];
        let prior = block(json!({"ingress": [Value::Object(http.clone()), Value::Object(ssh.clone())]}));
        let blocks = read(live, &prior, "ingress");
        assert_eq!(blocks, vec![Value::Object(http), Value::Object(ssh)]);
    }

    #[test]
    fn all_protocols_match_whatever_the_spelling() {
        let all = block(rule(0, 0, "all", &["0.0.0.0/0"], None));
        let live = vec![perm("-1", None, &[("0.0.0.0/0", None)])];
        let prior = block(json!({"egress": [Value::Object(all.clone())]}));
        assert_eq!(read(live, &prior, "egress"), vec![Value::Object(all)]);
    }

    #[test]
    fn unaccounted_grants_group_by_ports_and_description() {
        let live = vec![perm("tcp", Some((22, 22)), &[("10.0.0.0/8", Some("a")), ("10.1.0.0/16", None)])];
        let wanted = block(rule(22, 22, "tcp", &["10.0.0.0/8"], None));
        let prior = block(json!({"ingress": [Value::Object(wanted)]}));
        let blocks = read(live, &prior, "ingress");
        assert_eq!(
            blocks,
            vec![rule(22, 22, "tcp", &["10.1.0.0/16"], None), rule(22, 22, "tcp", &["10.0.0.0/8"], Some("a"))]
        );
    }

    #[test]
    fn a_partly_revoked_block_no_longer_reads_as_written() {
        let wanted = block(rule(22, 22, "tcp", &["10.0.0.0/8", "10.1.0.0/16"], None));
        let live = vec![perm("tcp", Some((22, 22)), &[("10.0.0.0/8", None)])];
        let prior = block(json!({"ingress": [Value::Object(wanted.clone())]}));
        let blocks = read(live, &prior, "ingress");
        assert_eq!(blocks, vec![rule(22, 22, "tcp", &["10.0.0.0/8"], None)]);
    }

    #[test]
    fn self_references_are_grants_of_this_group() {
        let mut own = block(rule(443, 443, "tcp", &[], None));
        own.insert("self".into(), json!(true));
        let grants = block_grants(&own, "sg-1").unwrap_or_default();
        assert_eq!(grants.iter().map(|g| &g.source).collect::<Vec<_>>(), vec![&Source::SelfRef]);
        let p = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .user_id_group_pairs(UserIdGroupPair::builder().user_id("1").group_id("sg-1").build())
            .build();
        assert_eq!(live_grants(&group(vec![p.clone()]), &[p]), grants);
    }

    #[test]
    fn permissions_group_grants_by_ports() {
        let a = block(rule(22, 22, "tcp", &["10.0.0.0/8"], Some("x")));
        let b = block(rule(22, 22, "tcp", &["10.1.0.0/16"], None));
        let all = block(rule(0, 0, "-1", &["0.0.0.0/0"], None));
        let mut grants = block_grants(&a, "sg-1").unwrap_or_default();
        grants.extend(block_grants(&b, "sg-1").unwrap_or_default());
        grants.extend(block_grants(&all, "sg-1").unwrap_or_default());
        let perms = permissions(&grants, "sg-1");
        assert_eq!(perms.len(), 2);
        assert_eq!(live_grants(&group(Vec::new()), &perms), grants);
        let everything = perms.iter().find(|p| p.ip_protocol() == Some("-1"));
        assert!(everything.is_some_and(|p| p.from_port().is_none()));
    }

    #[test]
    fn rules_without_a_source_are_refused() {
        let desired = block(json!({"ingress": [rule(22, 22, "tcp", &[], None)]}));
        assert!(DesiredRules::from(&desired).is_err());
    }
}
