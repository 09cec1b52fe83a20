//! What the stand-alone security group rule types share: reading rules with
//! DescribeSecurityGroupRules (one grant per rule, each with its `sgr-` id
//! and tags), and authorizing or revoking grants with ownership tags on the
//! rules they create.

use aws_sdk_ec2::types::{Filter, IpPermission, ResourceType as Ec2ResourceType, SecurityGroupRule};

use super::security_group::{normalize_protocol, ports, Direction, Grant, Source};
use super::support::ec2_tag_spec;
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

/// EC2's code for a rule id it does not know.
const RULE_NOT_FOUND: &str = "InvalidSecurityGroupRuleId.NotFound";
/// EC2's codes for revoking what is not there.
pub const GONE_CODES: &[&str] = &["InvalidPermission.NotFound", RULE_NOT_FOUND];

/// DescribeSecurityGroupRules by rule ids or by filters, every page. A rule
/// id EC2 does not know fails the whole call, as `NotFound`.
pub async fn describe_rules(
    aws: &AwsCtx,
    ids: &[&str],
    filters: Vec<Filter>,
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    const CALL: &str = "ec2:DescribeSecurityGroupRules";
    let mut rules = Vec::new();
    let mut token = None;
    loop {
        aws.count_call();
        let mut request = aws.ec2.describe_security_group_rules().set_next_token(token);
        if !ids.is_empty() {
            request = request.set_security_group_rule_ids(Some(ids.iter().map(|id| id.to_string()).collect()));
        }
        if !filters.is_empty() {
            request = request.set_filters(Some(filters.clone()));
        }
        let out = match request.send().await.classify(CALL) {
            Err(e) if e.code() == Some(RULE_NOT_FOUND) => return Err(ProviderError::NotFound { call: CALL }),
            other => other?,
        };
        token = out.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        rules.extend(out.security_group_rules.unwrap_or_default());
        if token.is_none() {
            return Ok(rules);
        }
    }
}

/// The rules of the given groups, every page of one call.
pub async fn rules_of_groups(aws: &AwsCtx, groups: &[&str]) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter::builder().name("group-id").set_values(Some(groups.iter().map(|g| g.to_string()).collect()));
    describe_rules(aws, &[], vec![filter.build()]).await
}

pub fn direction_of(rule: &SecurityGroupRule) -> Direction {
    if rule.is_egress() == Some(true) {
        Direction::Egress
    } else {
        Direction::Ingress
    }
}

/// The one grant a rule stands for. A group of another account is written
/// `ACCOUNT/sg-…` when its owner is not the rule's group owner.
pub fn grant_of(rule: &SecurityGroupRule) -> Option<Grant> {
    let protocol = normalize_protocol(rule.ip_protocol().unwrap_or("-1"));
    let (from, to) = ports(&protocol, rule.from_port().map_or(0, i64::from), rule.to_port().map_or(0, i64::from));
    let source = if let Some(cidr) = rule.cidr_ipv4() {
        Source::Cidr(cidr.to_string())
    } else if let Some(cidr) = rule.cidr_ipv6() {
        Source::Ipv6(cidr.to_string())
    } else if let Some(list) = rule.prefix_list_id() {
        Source::PrefixList(list.to_string())
    } else {
        let other = rule.referenced_group_info()?;
        let id = other.group_id()?;
        if Some(id) == rule.group_id() {
            Source::SelfRef
        } else {
            match (other.user_id(), rule.group_owner_id()) {
                (Some(user), Some(owner)) if !user.is_empty() && user != owner => Source::Group(format!("{user}/{id}")),
                _ => Source::Group(id.to_string()),
            }
        }
    };
    Some(Grant { protocol, from, to, source, description: rule.description().unwrap_or_default().to_string() })
}

/// Authorizes `permissions` in one call, tagging the rules it creates with
/// `tags`, and returns those rules.
pub async fn authorize(
    aws: &AwsCtx,
    group_id: &str,
    direction: Direction,
    permissions: Vec<IpPermission>,
    tags: Tags,
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    let spec = (!tags.is_empty()).then(|| ec2_tag_spec(Ec2ResourceType::SecurityGroupRule, tags));
    aws.count_call();
    let rules = match direction {
        Direction::Ingress => {
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(group_id)
                .set_ip_permissions(Some(permissions))
                .set_tag_specifications(spec.map(|s| vec![s]))
                .send()
                .await
                .classify("ec2:AuthorizeSecurityGroupIngress")?
                .security_group_rules
        }
        Direction::Egress => {
            aws.ec2
                .authorize_security_group_egress()
                .group_id(group_id)
                .set_ip_permissions(Some(permissions))
                .set_tag_specifications(spec.map(|s| vec![s]))
                .send()
                .await
                .classify("ec2:AuthorizeSecurityGroupEgress")?
                .security_group_rules
        }
    };
    Ok(rules.unwrap_or_default())
}

/// Revokes rules by their `sgr-` ids or by permissions; what is already
/// gone (the rule or its whole group) counts as done.
pub async fn revoke(
    aws: &AwsCtx,
    group_id: &str,
    direction: Direction,
    rule_ids: Option<Vec<String>>,
    permissions: Option<Vec<IpPermission>>,
) -> Result<(), ProviderError> {
    aws.count_call();
    let result = match direction {
        Direction::Ingress => aws
            .ec2
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_security_group_rule_ids(rule_ids)
            .set_ip_permissions(permissions)
            .send()
            .await
            .classify("ec2:RevokeSecurityGroupIngress")
            .map(|_| ()),
        Direction::Egress => aws
            .ec2
            .revoke_security_group_egress()
            .group_id(group_id)
            .set_security_group_rule_ids(rule_ids)
            .set_ip_permissions(permissions)
            .send()
            .await
            .classify("ec2:RevokeSecurityGroupEgress")
            .map(|_| ()),
    };
    super::support::found(result, GONE_CODES).map(|_| ())
}

/// `InvalidPermission.Duplicate` as `AlreadyExists`, so that the engine
/// suggests importing the rule.
pub fn duplicate_as_exists(err: ProviderError, call: &'static str) -> ProviderError {
    match err {
        ProviderError::Api { code, message, .. } if code == "InvalidPermission.Duplicate" => {
            ProviderError::AlreadyExists { call, code, message }
        }
        other => other,
    }
}
