//! The plan in Terraform's own JSON plan format (`terraform show -json`,
//! format_version "1.2"), so that the tools people run on Terraform plans
//! (OPA/conftest policies, infracost, tfcmt, checkov) read gantry's plans.
//!
//! One deliberate difference: Terraform prints sensitive values in clear in
//! its JSON; gantry never does. Every sensitive value is `null`, and marked
//! `true` in the `*_sensitive` masks, so a policy can still tell that a
//! value is set and secret. `gantry plan --json` keeps gantry's own schema
//! (docs/plan-json.md); this one is what `gantry show -json FILE` prints.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as J};

use crate::addr::{InstanceAddr, InstanceKey, Mode, ModuleInstance};
use crate::config::{Body, Module, Repetition, Stack};
use crate::desired::AttrValues;
use crate::eval::{references, Reference};
use crate::plan::{Action, Plan, ResourceChange};
use crate::value::Value;

use super::json::{masked, masked_attrs, unknown_mask};

pub const FORMAT_VERSION: &str = "1.2";
/// The Terraform release whose plan format this follows (and whose plans
/// tests/fixtures/plan-json compares against); tools that check
/// `terraform_version` see a version they know.
pub const TERRAFORM_VERSION: &str = "1.11.4";

/// The whole document. `vars` are the root module's variable values (a
/// sensitive one is written as null).
pub fn render(plan: &Plan, stack: &Stack, vars: &BTreeMap<String, Value>) -> J {
    let changes: Vec<&ResourceChange> = plan.changes.iter().collect();
    let prior: Vec<(&InstanceAddr, &str, &AttrValues)> =
        changes.iter().filter_map(|c| c.before.as_ref().map(|b| (&c.addr, c.rtype.as_str(), b))).collect();
    let planned: Vec<(&InstanceAddr, &str, &AttrValues)> = changes
        .iter()
        .filter(|c| c.action != Action::Delete)
        .filter_map(|c| c.after.as_ref().map(|a| (&c.addr, c.rtype.as_str(), a)))
        .collect();
    let mut doc = json!({
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "gantry_version": env!("CARGO_PKG_VERSION"),
        "variables": variables(stack, vars),
        "planned_values": {
            "outputs": planned_outputs(plan),
            "root_module": module_values(&planned),
        },
        "resource_changes": changes.iter().map(|c| resource_change(c)).collect::<Vec<_>>(),
        "output_changes": output_changes(plan),
        "prior_state": {
            "format_version": "1.0",
            "terraform_version": TERRAFORM_VERSION,
            "values": {
                "outputs": prior_outputs(plan),
                "root_module": module_values(&prior),
            },
        },
        "configuration": {
            "provider_config": provider_config(stack),
            "root_module": module_config(&stack.root),
        },
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "applyable": plan.has_changes(),
        "complete": plan.changes.iter().all(|c| c.action != Action::NoOp || c.after.is_some()),
        "errored": false,
    });
    if !plan.drift.is_empty() {
        doc["resource_drift"] = plan.drift.iter().map(drift).collect::<Vec<_>>().into();
    }
    doc
}

/// The provider a resource type belongs to, as Terraform names it.
fn provider_name(rtype: &str) -> &'static str {
    if rtype.starts_with("random_") {
        "registry.terraform.io/hashicorp/random"
    } else {
        "registry.terraform.io/hashicorp/aws"
    }
}

fn provider_key(rtype: &str) -> &'static str {
    if rtype.starts_with("random_") {
        "random"
    } else {
        "aws"
    }
}

fn mode(addr: &InstanceAddr) -> &'static str {
    match addr.resource.mode {
        Mode::Managed => "managed",
        Mode::Data => "data",
    }
}

fn index(key: &InstanceKey) -> Option<J> {
    match key {
        InstanceKey::None => None,
        InstanceKey::Index(i) => Some(json!(i)),
        InstanceKey::Key(k) => Some(json!(k)),
    }
}

/// Terraform's `action_reason` values, from gantry's reason text.
fn action_reason(c: &ResourceChange) -> Option<&'static str> {
    let reason = c.reason.as_deref().unwrap_or("");
    match c.action {
        Action::Delete if reason.contains("module instance") => Some("delete_because_no_module"),
        Action::Delete if reason.contains("count/for_each") => Some("delete_because_each_key"),
        Action::Delete if reason.contains("removed from the configuration") => {
            Some("delete_because_no_resource_config")
        }
        a if a.is_replace() && reason == crate::plan::diff::REPLACE_REQUESTED => Some("replace_by_request"),
        a if a.is_replace() => Some("replace_because_cannot_update"),
        _ => None,
    }
}

/// Attributes as the provider holds them, and their sensitivity mask: where
/// it keeps a digest of the text (`aws_instance.user_data`), the digest,
/// so that values compare with Terraform's plans and states.
fn provider_masked(rtype: &str, attrs: &AttrValues) -> (J, J) {
    use crate::tfstate::rules::{rule, sha1_hex, Rule};
    let mut attrs = attrs.clone();
    for (name, value) in attrs.iter_mut() {
        if let (Some(Rule::Sha1Digest), Value::String(text)) = (rule(rtype, name), &*value) {
            if !text.is_empty() {
                *value = Value::String(sha1_hex(text));
            }
        }
    }
    masked_attrs(&attrs)
}

/// What names an instance in every list Terraform writes: address, mode,
/// type, name, provider, and the module address and index when it has them.
fn identity(addr: &InstanceAddr, rtype: &str) -> Map<String, J> {
    let mut entry = Map::new();
    entry.insert("address".into(), addr.to_string().into());
    entry.insert("mode".into(), mode(addr).into());
    entry.insert("type".into(), rtype.into());
    entry.insert("name".into(), addr.resource.name.clone().into());
    entry.insert("provider_name".into(), provider_name(rtype).into());
    if !addr.resource.module.is_root() {
        entry.insert("module_address".into(), addr.resource.module.to_string().into());
    }
    if let Some(i) = index(&addr.key) {
        entry.insert("index".into(), i);
    }
    entry
}

fn resource_change(c: &ResourceChange) -> J {
    let (before, before_sensitive) =
        c.before.as_ref().map(|b| provider_masked(&c.rtype, b)).unwrap_or((J::Null, J::Bool(false)));
    let (after, after_sensitive) = match (&c.after, c.action) {
        (_, Action::Delete) | (None, _) => (J::Null, J::Bool(false)),
        (Some(a), _) => provider_masked(&c.rtype, a),
    };
    let after_unknown = match (&c.after, c.action) {
        (Some(a), action) if action != Action::Delete => unknown_mask(a),
        _ => J::Object(Map::new()),
    };
    let mut entry = J::Object(identity(&c.addr, &c.rtype));
    entry["change"] = json!({
        "actions": c.action.json_actions(),
        "before": before,
        "after": after,
        "after_unknown": after_unknown,
        "before_sensitive": before_sensitive,
        "after_sensitive": after_sensitive,
    });
    if !c.replace_paths.is_empty() {
        entry["change"]["replace_paths"] = c.replace_paths.iter().map(|p| json!([p])).collect::<Vec<_>>().into();
    }
    if let Some(reason) = action_reason(c) {
        entry["action_reason"] = reason.into();
    }
    entry
}

fn drift(d: &crate::plan::Drift) -> J {
    let (before, before_sensitive) = provider_masked(&d.rtype, &d.before);
    let (after, after_sensitive) =
        d.after.as_ref().map(|a| provider_masked(&d.rtype, a)).unwrap_or((J::Null, J::Bool(false)));
    let mut entry = J::Object(identity(&d.addr, &d.rtype));
    entry["change"] = json!({
        "actions": if d.after.is_some() { Action::Update.json_actions() } else { Action::Delete.json_actions() },
        "before": before,
        "after": after,
        "after_unknown": {},
        "before_sensitive": before_sensitive,
        "after_sensitive": after_sensitive,
    });
    entry
}

/// A `root_module` of `planned_values` or `prior_state.values`: resources
/// of the root, then `child_modules` nested as the module instances are.
fn module_values(resources: &[(&InstanceAddr, &str, &AttrValues)]) -> J {
    module_values_at(&ModuleInstance::root(), resources)
}

fn module_values_at(at: &ModuleInstance, resources: &[(&InstanceAddr, &str, &AttrValues)]) -> J {
    let here: Vec<J> = resources
        .iter()
        .filter(|(a, _, _)| &a.resource.module == at)
        .map(|(addr, rtype, attrs)| {
            let (values, sensitive) = provider_masked(rtype, attrs);
            let mut r = json!({
                "address": addr.to_string(),
                "mode": mode(addr),
                "type": rtype,
                "name": addr.resource.name,
                "provider_name": provider_name(rtype),
                "schema_version": 0,
                "values": values,
                "sensitive_values": sensitive,
            });
            if let Some(i) = index(&addr.key) {
                r["index"] = i;
            }
            r
        })
        .collect();
    // The direct children of `at` that hold resources, in address order.
    let mut children: Vec<ModuleInstance> = resources
        .iter()
        .map(|(a, _, _)| &a.resource.module)
        .filter(|m| m.0.len() > at.0.len() && m.starts_with(at))
        .map(|m| ModuleInstance(m.0[..at.0.len() + 1].to_vec()))
        .collect();
    children.sort();
    children.dedup();
    let mut module = Map::new();
    if !at.is_root() {
        module.insert("address".into(), at.to_string().into());
    }
    module.insert("resources".into(), here.into());
    if !children.is_empty() {
        module.insert(
            "child_modules".into(),
            children.iter().map(|c| module_values_at(c, resources)).collect::<Vec<_>>().into(),
        );
    }
    J::Object(module)
}

/// The root module's variable values; a variable declared sensitive is null
/// whatever its value (Terraform prints it).
fn variables(stack: &Stack, vars: &BTreeMap<String, Value>) -> J {
    vars.iter()
        .map(|(k, v)| {
            let sensitive = stack.root.variables.get(k).is_some_and(|d| d.sensitive);
            let value = if sensitive { J::Null } else { masked(v).0 };
            (k.clone(), json!({ "value": value }))
        })
        .collect::<Map<_, _>>()
        .into()
}

fn planned_outputs(plan: &Plan) -> J {
    plan.outputs
        .iter()
        .filter(|o| o.action != Action::Delete)
        .map(|o| {
            let value = if o.sensitive || !o.after.is_known() { J::Null } else { masked(&o.after).0 };
            (o.name.clone(), json!({ "sensitive": o.sensitive, "value": value }))
        })
        .collect::<Map<_, _>>()
        .into()
}

fn prior_outputs(plan: &Plan) -> J {
    plan.outputs
        .iter()
        .filter_map(|o| {
            let before = o.before.as_ref()?;
            let value = if o.sensitive { J::Null } else { masked(before).0 };
            Some((o.name.clone(), json!({ "sensitive": o.sensitive, "value": value })))
        })
        .collect::<Map<_, _>>()
        .into()
}

fn output_changes(plan: &Plan) -> J {
    plan.outputs
        .iter()
        .map(|o| {
            let before = if o.sensitive { J::Null } else { o.before.as_ref().map(|b| masked(b).0).unwrap_or(J::Null) };
            let after = if o.sensitive { J::Null } else { masked(&o.after).0 };
            (
                o.name.clone(),
                json!({
                    "actions": o.action.json_actions(),
                    "before": before,
                    "after": after,
                    "after_unknown": !o.after.is_known(),
                    "before_sensitive": o.sensitive,
                    "after_sensitive": o.sensitive,
                }),
            )
        })
        .collect::<Map<_, _>>()
        .into()
}

fn provider_config(stack: &Stack) -> J {
    let mut providers = Map::new();
    let mut aws = json!({ "name": "aws", "full_name": provider_name("aws_") });
    if let Some(p) = &stack.root.provider {
        let mut expressions = Map::new();
        if let Some((expr, _)) = &p.region {
            expressions.insert("region".into(), expression(expr));
        }
        if let Some((expr, _)) = &p.default_tags {
            expressions.insert("default_tags".into(), json!([{ "tags": expression(expr) }]));
        }
        aws["expressions"] = J::Object(expressions);
    }
    providers.insert("aws".into(), aws);
    if stack_uses(&stack.root, "random_") {
        providers.insert("random".into(), json!({ "name": "random", "full_name": provider_name("random_") }));
    }
    J::Object(providers)
}

fn stack_uses(module: &Module, prefix: &str) -> bool {
    module.resources.keys().any(|r| r.rtype.starts_with(prefix))
        || module.calls.values().any(|c| stack_uses(&c.module, prefix))
}

fn module_config(module: &Module) -> J {
    let resources: Vec<J> = module
        .resources
        .values()
        .map(|r| {
            // Terraform writes a module's resources with their address
            // inside the module.
            let mut entry = json!({
                "address": r.addr.local().to_string(),
                "mode": if r.addr.mode == Mode::Data { "data" } else { "managed" },
                "type": r.addr.rtype,
                "name": r.addr.name,
                "provider_config_key": provider_key(&r.addr.rtype),
                "schema_version": 0,
            });
            let expressions = body_expressions(&r.body);
            if expressions.as_object().is_some_and(|e| !e.is_empty()) {
                entry["expressions"] = expressions;
            }
            add_repetition(&mut entry, &r.repetition);
            if !r.depends_on.is_empty() {
                entry["depends_on"] = r.depends_on.iter().map(|(d, _)| reference_text(d)).collect::<Vec<_>>().into();
            }
            entry
        })
        .collect();
    let module_calls: Map<String, J> = module
        .calls
        .iter()
        .map(|(name, call)| {
            let mut entry = json!({
                "source": call.source,
                "expressions": call.args.iter().map(|a| (a.name.clone(), expression(&a.expr))).collect::<Map<_, _>>(),
                "module": module_config(&call.module),
            });
            add_repetition(&mut entry, &call.repetition);
            (name.clone(), entry)
        })
        .collect();
    let outputs: Map<String, J> = module
        .outputs
        .iter()
        .map(|(name, o)| {
            let mut entry = json!({ "expression": expression(&o.expr) });
            if o.sensitive {
                entry["sensitive"] = true.into();
            }
            if let Some(d) = &o.description {
                entry["description"] = d.clone().into();
            }
            (name.clone(), entry)
        })
        .collect();
    let variables: Map<String, J> = module
        .variables
        .iter()
        .map(|(name, v)| {
            let mut entry = Map::new();
            if let Some(default) = &v.default {
                entry.insert("default".into(), if v.sensitive { J::Null } else { masked(default).0 });
            }
            if let Some(d) = &v.description {
                entry.insert("description".into(), d.clone().into());
            }
            if v.sensitive {
                entry.insert("sensitive".into(), true.into());
            }
            (name.clone(), J::Object(entry))
        })
        .collect();
    let mut out = Map::new();
    if !outputs.is_empty() {
        out.insert("outputs".into(), outputs.into());
    }
    out.insert("resources".into(), resources.into());
    if !module_calls.is_empty() {
        out.insert("module_calls".into(), module_calls.into());
    }
    if !variables.is_empty() {
        out.insert("variables".into(), variables.into());
    }
    J::Object(out)
}

/// `count_expression` or `for_each_expression`, for a resource or module call.
fn add_repetition(entry: &mut J, repetition: &Repetition) {
    match repetition {
        Repetition::Single => {}
        Repetition::Count(expr, _) => entry["count_expression"] = expression(expr),
        Repetition::ForEach(expr, _) => entry["for_each_expression"] = expression(expr),
    }
}

/// A block body's expressions: each argument, and nested blocks as lists of
/// their own expressions (as Terraform writes them).
fn body_expressions(body: &Body) -> J {
    let mut out: Map<String, J> = body.attrs.iter().map(|a| (a.name.clone(), expression(&a.expr))).collect();
    for block in &body.blocks {
        let entry = out.entry(block.name.clone()).or_insert_with(|| J::Array(Vec::new()));
        if let J::Array(items) = entry {
            items.push(body_expressions(&block.body));
        }
    }
    J::Object(out)
}

/// One expression: `references` when it refers to anything, otherwise its
/// `constant_value` (config::constant: evaluated with no names in scope).
fn expression(expr: &hcl_edit::expr::Expression) -> J {
    let refs = references(expr);
    if !refs.is_empty() {
        let mut names: Vec<String> = Vec::new();
        for r in refs {
            let text = reference_text(&r.reference);
            if !names.contains(&text) {
                names.push(text);
            }
        }
        return json!({ "references": names });
    }
    match crate::config::constant(expr) {
        Some(v) => json!({ "constant_value": masked(&v).0 }),
        None => json!({}),
    }
}

/// A reference as Terraform spells it in `references`: the object referred
/// to (gantry's reference walk does not keep the attribute after it).
fn reference_text(r: &Reference) -> String {
    match r {
        Reference::Variable(name) => format!("var.{name}"),
        Reference::Local(name) => format!("local.{name}"),
        Reference::Resource(addr) => addr.to_string(),
        Reference::Module { call, output: Some(o) } => format!("module.{call}.{o}"),
        Reference::Module { call, output: None } => format!("module.{call}"),
        Reference::CountIndex => "count.index".into(),
        Reference::Each => "each.key".into(),
        Reference::Path => "path.module".into(),
        Reference::Terraform => "terraform.workspace".into(),
    }
}
