//! `aws_security_group_rule`: one rule block of a group, as its own
//! resource. One resource may stand for several EC2 rules (one per CIDR or
//! source); it exists while all of them do.
//!
//! - The id is the provider's: `sgrule-` and the CRC-32 of the group id,
//!   ports, protocol, type and sorted sources (recorded from Terraform 1.11
//!   with provider 5.100 on moto in the unit tests), so state moves between
//!   Terraform and gantry unchanged.
//! - Import takes the provider's import id,
//!   `SGID_TYPE_PROTOCOL_FROM_TO_SOURCE[_SOURCE...]` (a source is a CIDR, a
//!   prefix list, a group id or `self`); the same string is what
//!   `id_from_config` gives, so a create interrupted before state was saved
//!   is adopted by reading it.
//! - Only `description` changes in place; everything else replaces.
//! - The rules EC2 creates carry the ownership tags, so the group they
//!   belong to can tell them from rules added by hand.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use aws_sdk_ec2::types::SecurityGroupRule;
use serde_json::Value;

use super::security_group::{normalize_protocol, permissions, ports, Direction, Grant, Grants, Source};
use super::sg_rule_support::{authorize, direction_of, duplicate_as_exists, grant_of, revoke, rules_of_groups};
use super::support::{complete, found, get_bool, get_i64, get_nonempty_str, get_str, get_strings, require_str};
use super::{Attr, Attrs, Created, ReadCtx, ReadRequest, ResourceType, Schema, Ty};
use crate::aws::{AwsCtx, ClassifyExt, ProviderError, Tags};

const TYPE_NAME: &str = "aws_security_group_rule";

static SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    Schema::new(
        TYPE_NAME,
        vec![
            Attr::computed("id", Ty::String),
            Attr::required("type", Ty::String).force_new(),
            Attr::required("security_group_id", Ty::String).force_new(),
            Attr::required("from_port", Ty::Number).force_new(),
            Attr::required("to_port", Ty::Number).force_new(),
            Attr::required("protocol", Ty::String).force_new(),
            Attr::optional("cidr_blocks", Ty::ListOfString).force_new(),
            Attr::optional("ipv6_cidr_blocks", Ty::ListOfString).force_new(),
            Attr::optional("prefix_list_ids", Ty::ListOfString).force_new(),
            Attr::optional_computed("source_security_group_id", Ty::String).force_new(),
            Attr::optional("self", Ty::Bool).default(false).force_new(),
            Attr::optional("description", Ty::String),
            Attr::computed("security_group_rule_id", Ty::String),
        ],
    )
});

pub struct SecurityGroupRuleType;

#[async_trait]
impl ResourceType for SecurityGroupRuleType {
    fn schema(&self) -> &Schema {
        &SCHEMA
    }

    fn id_from_config(&self, desired: &Attrs) -> Option<String> {
        RuleSpec::from_args(desired).ok().map(|spec| spec.import_id())
    }

    async fn read(&self, ctx: &ReadCtx<'_>, requests: &[ReadRequest]) -> Result<Vec<Option<Attrs>>, ProviderError> {
        // The arguments state recorded, else (import, adoption) the id.
        let specs = requests
            .iter()
            .map(|r| match RuleSpec::from_args(&r.prior) {
                Ok(spec) => Ok(spec),
                Err(_) => RuleSpec::from_import_id(&r.id),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut groups: Vec<&str> = specs.iter().map(|s| s.group_id.as_str()).collect();
        groups.sort_unstable();
        groups.dedup();
        let rules = found(rules_of_groups(ctx.aws, &groups).await, &["InvalidGroup.NotFound"])?.unwrap_or_default();
        let by_group: HashMap<&str, Vec<&SecurityGroupRule>> = rules.iter().fold(HashMap::new(), |mut map, r| {
            map.entry(r.group_id().unwrap_or_default()).or_default().push(r);
            map
        });
        Ok(specs
            .iter()
            .map(|spec| {
                let live = by_group.get(spec.group_id.as_str()).map(Vec::as_slice).unwrap_or_default();
                spec.read(live)
            })
            .collect())
    }

    async fn create(&self, aws: &AwsCtx, desired: &Attrs, owner_tags: &Tags) -> Result<Created, ProviderError> {
        let spec = RuleSpec::from_args(desired)?;
        let call = spec.authorize_call();
        let created = authorize(
            aws,
            &spec.group_id,
            spec.direction,
            permissions(&spec.grants, &spec.group_id),
            owner_tags.clone(),
        )
        .await
        .map_err(|e| duplicate_as_exists(e, call))?;
        let mut attrs = spec.attrs();
        attrs.insert("security_group_rule_id".into(), single_rule_id(&created.iter().collect::<Vec<_>>()));
        Ok(Created { id: spec.provider_id(), attrs: complete(&SCHEMA, attrs) })
    }

    async fn update(
        &self,
        aws: &AwsCtx,
        _id: &str,
        prior: &Attrs,
        desired: &Attrs,
        _owner_tags: &Tags,
    ) -> Result<Attrs, ProviderError> {
        // Only the description is not force-new.
        let spec = RuleSpec::from_args(desired)?;
        let perms = Some(permissions(&spec.grants, &spec.group_id));
        aws.count_call();
        match spec.direction {
            Direction::Ingress => aws
                .ec2
                .update_security_group_rule_descriptions_ingress()
                .group_id(&spec.group_id)
                .set_ip_permissions(perms)
                .send()
                .await
                .classify("ec2:UpdateSecurityGroupRuleDescriptionsIngress")
                .map(|_| ())?,
            Direction::Egress => aws
                .ec2
                .update_security_group_rule_descriptions_egress()
                .group_id(&spec.group_id)
                .set_ip_permissions(perms)
                .send()
                .await
                .classify("ec2:UpdateSecurityGroupRuleDescriptionsEgress")
                .map(|_| ())?,
        }
        let mut attrs = spec.attrs();
        attrs.insert("security_group_rule_id".into(), prior.get("security_group_rule_id").cloned().unwrap_or_default());
        Ok(complete(&SCHEMA, attrs))
    }

    async fn delete(&self, aws: &AwsCtx, id: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let spec = match RuleSpec::from_args(prior) {
            Ok(spec) => spec,
            Err(_) => RuleSpec::from_import_id(id)?,
        };
        let perms = permissions(&spec.grants, &spec.group_id);
        let result = revoke(aws, &spec.group_id, spec.direction, None, Some(perms)).await;
        found(result, &["InvalidGroup.NotFound"]).map(|_| ())
    }
}

/// One resource's rule: a group, a direction, and the grants it stands for.
#[derive(Debug, Clone)]
struct RuleSpec {
    group_id: String,
    direction: Direction,
    /// As written (`all`, `6`, `tcp`), for the arguments.
    protocol: String,
    from: i64,
    to: i64,
    cidrs: Vec<String>,
    ipv6: Vec<String>,
    prefix_lists: Vec<String>,
    source_group: Option<String>,
    own: bool,
    description: String,
    grants: Grants,
}

fn invalid(message: String) -> ProviderError {
    ProviderError::Invalid(format!("{TYPE_NAME}: {message}"))
}

impl RuleSpec {
    fn from_args(args: &Attrs) -> Result<RuleSpec, ProviderError> {
        let direction = match require_str(args, "type", TYPE_NAME)? {
            "ingress" => Direction::Ingress,
            "egress" => Direction::Egress,
            other => return Err(invalid(format!("\"type\" must be \"ingress\" or \"egress\", not {other:?}"))),
        };
        let (Some(from), Some(to)) = (get_i64(args, "from_port"), get_i64(args, "to_port")) else {
            return Err(invalid("\"from_port\" and \"to_port\" are required".into()));
        };
        let spec = RuleSpec {
            group_id: require_str(args, "security_group_id", TYPE_NAME)?.to_string(),
            direction,
            protocol: require_str(args, "protocol", TYPE_NAME)?.to_string(),
            from,
            to,
            cidrs: get_strings(args, "cidr_blocks"),
            ipv6: get_strings(args, "ipv6_cidr_blocks"),
            prefix_lists: get_strings(args, "prefix_list_ids"),
            source_group: get_nonempty_str(args, "source_security_group_id").map(str::to_string),
            own: get_bool(args, "self") == Some(true),
            description: get_str(args, "description").unwrap_or_default().to_string(),
            grants: Grants::new(),
        };
        spec.validated()
    }

    /// `SGID_TYPE_PROTOCOL_FROM_TO_SOURCE[_SOURCE...]`.
    fn from_import_id(id: &str) -> Result<RuleSpec, ProviderError> {
        let parts: Vec<&str> = id.split('_').collect();
        let bad = || {
            invalid(format!(
                "the import id must be SGID_TYPE_PROTOCOL_FROMPORT_TOPORT_SOURCE[_SOURCE...], \
                 such as sg-0123_ingress_tcp_443_443_10.0.0.0/8, not {id:?}"
            ))
        };
        if parts.len() < 6 {
            return Err(bad());
        }
        let number = |s: &str| s.parse::<i64>().map_err(|_| bad());
        let mut spec = RuleSpec {
            group_id: parts[0].to_string(),
            direction: match parts[1] {
                "ingress" => Direction::Ingress,
                "egress" => Direction::Egress,
                _ => return Err(bad()),
            },
            protocol: parts[2].to_string(),
            from: number(parts[3])?,
            to: number(parts[4])?,
            cidrs: Vec::new(),
            ipv6: Vec::new(),
            prefix_lists: Vec::new(),
            source_group: None,
            own: false,
            description: String::new(),
            grants: Grants::new(),
        };
        for source in &parts[5..] {
            match *source {
                "self" => spec.own = true,
                s if s.starts_with("pl-") => spec.prefix_lists.push(s.to_string()),
                s if s.starts_with("sg-") || s.contains("/sg-") => spec.source_group = Some(s.to_string()),
                s if s.contains(':') => spec.ipv6.push(s.to_string()),
                s if s.contains('/') => spec.cidrs.push(s.to_string()),
                _ => return Err(bad()),
            }
        }
        spec.validated()
    }

    /// Checks what the provider checks and works out the grants.
    fn validated(mut self) -> Result<RuleSpec, ProviderError> {
        if self.own && (self.source_group.is_some() || !self.cidrs.is_empty() || !self.ipv6.is_empty()) {
            return Err(invalid(
                "\"self\" cannot be combined with cidr_blocks, ipv6_cidr_blocks or source_security_group_id".into(),
            ));
        }
        if self.source_group.is_some() && (!self.cidrs.is_empty() || !self.ipv6.is_empty()) {
            return Err(invalid(
                "\"source_security_group_id\" cannot be combined with cidr_blocks or ipv6_cidr_blocks".into(),
            ));
        }
        if ![self.from, self.to].iter().all(|p| (-1..=65535).contains(p)) {
            return Err(invalid(format!("ports must be between -1 and 65535, not {} and {}", self.from, self.to)));
        }
        let protocol = normalize_protocol(&self.protocol);
        let (from, to) = ports(&protocol, self.from, self.to);
        let mut sources: Vec<Source> = Vec::new();
        sources.extend(self.cidrs.iter().cloned().map(Source::Cidr));
        sources.extend(self.ipv6.iter().cloned().map(Source::Ipv6));
        sources.extend(self.prefix_lists.iter().cloned().map(Source::PrefixList));
        sources.extend(self.source_group.iter().cloned().map(Source::Group));
        if self.own {
            sources.push(Source::SelfRef);
        }
        if sources.is_empty() {
            return Err(invalid(
                "a rule needs one of cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, source_security_group_id \
                 or self = true"
                    .into(),
            ));
        }
        let description = self.description.clone();
        self.grants = sources
            .into_iter()
            .map(|source| Grant { protocol: protocol.clone(), from, to, source, description: description.clone() })
            .collect();
        Ok(self)
    }

    fn type_name(&self) -> &'static str {
        match self.direction {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    fn authorize_call(&self) -> &'static str {
        match self.direction {
            Direction::Ingress => "ec2:AuthorizeSecurityGroupIngress",
            Direction::Egress => "ec2:AuthorizeSecurityGroupEgress",
        }
    }

    fn import_id(&self) -> String {
        let mut parts = vec![
            self.group_id.clone(),
            self.type_name().to_string(),
            self.protocol.clone(),
            self.from.to_string(),
            self.to.to_string(),
        ];
        parts.extend(self.cidrs.iter().cloned());
        parts.extend(self.ipv6.iter().cloned());
        parts.extend(self.prefix_lists.iter().cloned());
        parts.extend(self.source_group.iter().cloned());
        if self.own {
            parts.push("self".into());
        }
        parts.join("_")
    }

    /// The provider's `sgrule-N`: CRC-32 (IEEE) of the group id, the ports
    /// above zero, the protocol, the type and each sorted source, each
    /// followed by `-`; a group source is written with an empty group name.
    fn provider_id(&self) -> String {
        let mut text = format!("{}-", self.group_id);
        if self.from > 0 {
            text.push_str(&format!("{}-", self.from));
        }
        if self.to > 0 {
            text.push_str(&format!("{}-", self.to));
        }
        text.push_str(&format!("{}-{}-", normalize_protocol(&self.protocol), self.type_name()));
        for list in [&self.cidrs, &self.ipv6, &self.prefix_lists] {
            let mut sorted = list.clone();
            sorted.sort();
            for item in sorted {
                text.push_str(&format!("{item}-"));
            }
        }
        let mut groups: Vec<&str> = self.source_group.iter().map(|g| g.rsplit('/').next().unwrap_or(g)).collect();
        if self.own {
            groups.push(&self.group_id);
        }
        groups.sort_unstable();
        for group in groups {
            text.push_str(&format!("{group}--"));
        }
        format!("sgrule-{}", crc32fast::hash(text.as_bytes()))
    }

    /// The rule as state holds it (without `security_group_rule_id`).
    fn attrs(&self) -> Attrs {
        let list = |items: &[String]| if items.is_empty() { Value::Null } else { Value::from(items.to_vec()) };
        let mut attrs = Attrs::new();
        attrs.insert("id".into(), Value::from(self.provider_id()));
        attrs.insert("type".into(), Value::from(self.type_name()));
        attrs.insert("security_group_id".into(), Value::from(self.group_id.clone()));
        attrs.insert("from_port".into(), Value::from(self.from));
        attrs.insert("to_port".into(), Value::from(self.to));
        attrs.insert("protocol".into(), Value::from(self.protocol.clone()));
        attrs.insert("cidr_blocks".into(), list(&self.cidrs));
        attrs.insert("ipv6_cidr_blocks".into(), list(&self.ipv6));
        attrs.insert("prefix_list_ids".into(), list(&self.prefix_lists));
        attrs.insert("source_security_group_id".into(), Value::from(self.source_group.clone()));
        attrs.insert("self".into(), Value::from(self.own));
        attrs.insert(
            "description".into(),
            if self.description.is_empty() { Value::Null } else { Value::from(self.description.clone()) },
        );
        attrs
    }

    /// The resource as EC2 has it: gone unless every grant exists; the
    /// description is the one EC2 holds (drift when changed by hand).
    fn read(&self, live: &[&SecurityGroupRule]) -> Option<Attrs> {
        let mut matched: Vec<&SecurityGroupRule> = Vec::new();
        let mut description: Option<String> = None;
        for want in &self.grants {
            let rule = live.iter().find(|r| {
                direction_of(r) == self.direction
                    && grant_of(r).is_some_and(|g| {
                        g.protocol == want.protocol
                            && g.from == want.from
                            && g.to == want.to
                            && same_source(&g.source, &want.source)
                    })
            })?;
            if description.is_none() {
                description = Some(rule.description().unwrap_or_default().to_string());
            }
            matched.push(rule);
        }
        let mut spec = self.clone();
        spec.description = description.unwrap_or_default();
        let mut attrs = spec.attrs();
        attrs.insert("security_group_rule_id".into(), single_rule_id(&matched));
        Some(complete(&SCHEMA, attrs))
    }
}

/// Groups compare by id alone (`ACCOUNT/sg-…` and `sg-…` are the same group).
fn same_source(a: &Source, b: &Source) -> bool {
    match (a, b) {
        (Source::Group(x), Source::Group(y)) => x.rsplit('/').next() == y.rsplit('/').next(),
        _ => a == b,
    }
}

/// The provider records the `sgr-` id only when the resource is one rule.
fn single_rule_id(rules: &[&SecurityGroupRule]) -> Value {
    match rules {
        [one] => Value::from(one.security_group_rule_id()),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> Attrs {
        v.as_object().cloned().unwrap_or_default()
    }

    // Ids Terraform 1.11.4 with hashicorp/aws 5.100.0 gave these rules on
    // moto 5.1.22 (group sg-afbcc79b765757315).
    #[test]
    fn ids_are_the_providers() {
        let cidrs = RuleSpec::from_args(&args(json!({
            "type": "ingress", "security_group_id": "sg-afbcc79b765757315", "from_port": 8000, "to_port": 8001,
            "protocol": "tcp", "cidr_blocks": ["10.1.0.0/16", "10.0.0.0/8"],
        })))
        .map(|s| s.provider_id());
        assert_eq!(cidrs.ok().as_deref(), Some("sgrule-276818704"));
        let own = RuleSpec::from_args(&args(json!({
            "type": "egress", "security_group_id": "sg-afbcc79b765757315", "from_port": 0, "to_port": 0,
            "protocol": "-1", "self": true, "description": "self",
        })))
        .map(|s| s.provider_id());
        assert_eq!(own.ok().as_deref(), Some("sgrule-207191425"));
    }

    #[test]
    fn import_ids_round_trip() {
        for id in [
            "sg-1_ingress_tcp_443_443_10.0.0.0/8_2001:db8::/48",
            "sg-1_egress_-1_0_0_self",
            "sg-1_ingress_tcp_22_22_sg-2",
            "sg-1_ingress_udp_53_53_pl-123",
        ] {
            let spec = RuleSpec::from_import_id(id);
            assert_eq!(spec.map(|s| s.import_id()).ok().as_deref(), Some(id));
        }
        assert!(RuleSpec::from_import_id("sg-1_sideways_tcp_1_1_10.0.0.0/8").is_err());
        assert!(RuleSpec::from_import_id("sgrule-123").is_err());
    }

    #[test]
    fn conflicting_sources_are_refused() {
        let base =
            json!({"type": "ingress", "security_group_id": "sg-1", "from_port": 1, "to_port": 1, "protocol": "tcp"});
        let with = |extra: Value| {
            let mut a = args(base.clone());
            a.extend(args(extra));
            RuleSpec::from_args(&a)
        };
        assert!(with(json!({})).is_err());
        assert!(with(json!({"self": true, "cidr_blocks": ["10.0.0.0/8"]})).is_err());
        assert!(with(json!({"source_security_group_id": "sg-2", "cidr_blocks": ["10.0.0.0/8"]})).is_err());
        assert!(with(json!({"source_security_group_id": "sg-2", "prefix_list_ids": ["pl-1"]})).is_ok());
    }
}
