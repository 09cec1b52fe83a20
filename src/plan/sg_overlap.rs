//! A warning for security groups whose rules have two owners: inline
//! `ingress`/`egress` blocks of `aws_security_group` and separate rule
//! resources pointing at the same group.
//!
//! In gantry an inline direction owns all of that direction's rules: each
//! apply of the group revokes what its blocks do not list, and each apply
//! of the rule resource adds its rule back, so the two undo each other
//! forever. A group without blocks in a direction leaves that direction to
//! the rule resources. The provider documents any mix as unsupported (it
//! fights in both directions), so a mix in different directions is still
//! reported: such a stack would not move to Terraform cleanly.

use crate::addr::ResourceAddr;
use crate::config::{ResourceConfig, Stack};
use crate::diag::Diagnostic;
use crate::eval::{references, Reference};

const RULE_TYPES: &[&str] =
    &["aws_security_group_rule", "aws_vpc_security_group_ingress_rule", "aws_vpc_security_group_egress_rule"];

/// One warning per rule resource that targets a group with inline rules.
pub fn warnings(stack: &Stack) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for rule in stack.resources.values().filter(|r| RULE_TYPES.contains(&r.addr.rtype.as_str())) {
        let Some(attr) = rule.body.attrs.iter().find(|a| a.name == "security_group_id") else { continue };
        for reference in references(&attr.expr) {
            let Reference::Resource(addr) = reference.reference else { continue };
            if addr.rtype != "aws_security_group" {
                continue;
            }
            let Some(group) = stack.resources.get(&addr) else { continue };
            let inline: Vec<&str> =
                ["ingress", "egress"].into_iter().filter(|d| group.body.blocks.iter().any(|b| b.name == *d)).collect();
            if inline.is_empty() {
                continue;
            }
            out.push(warning(rule, &addr, &inline));
        }
    }
    out
}

fn warning(rule: &ResourceConfig, group: &ResourceAddr, inline: &[&str]) -> Diagnostic {
    let direction = rule_direction(rule);
    let fights = match direction {
        Some(d) => inline.contains(&d),
        None => true,
    };
    let what = if fights {
        format!(
            "{group} lists its {} rules inline, so each apply of it revokes this rule and each apply of {} adds \
             it back.",
            inline.join(" and "),
            rule.addr
        )
    } else {
        format!(
            "gantry keeps them apart ({group} manages only its inline {} rules), but Terraform does not: the \
             provider documents mixing the two as unsupported.",
            inline.join(" and ")
        )
    };
    Diagnostic::warning(format!("{} adds a rule to {group}, which also has inline rules", rule.addr))
        .at(rule.loc.clone())
        .detail(format!(
            "{what} Keep all of a group's rules in one place: either ingress/egress blocks in the group, or \
             separate rule resources."
        ))
}

/// The direction a rule resource adds to, when it is written as a constant.
fn rule_direction(rule: &ResourceConfig) -> Option<&'static str> {
    match rule.addr.rtype.as_str() {
        "aws_vpc_security_group_ingress_rule" => Some("ingress"),
        "aws_vpc_security_group_egress_rule" => Some("egress"),
        _ => {
            let attr = rule.body.attrs.iter().find(|a| a.name == "type")?;
            let text = attr.expr.as_str()?;
            ["ingress", "egress"].into_iter().find(|d| *d == text)
        }
    }
}
