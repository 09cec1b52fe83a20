//! The machine-readable plan, modelled on `terraform show -json`'s
//! `resource_changes`: one stable, documented schema (format_version "1").
//! Sensitive values are `null` in `before`/`after` and `true` in the
//! `*_sensitive` masks; unknown values are `null` in `after` and `true` in
//! `after_unknown`.

use serde_json::{json, Map, Value as J};

use crate::addr::InstanceAddr;
use crate::desired::AttrValues;
use crate::plan::{Action, Deposed, Drift, Plan, ResourceChange};
use crate::value::Value;

pub const FORMAT_VERSION: &str = "1";

pub fn render(plan: &Plan) -> J {
    let s = plan.summary();
    json!({
        "format_version": FORMAT_VERSION,
        "gantry_version": env!("CARGO_PKG_VERSION"),
        "stack": plan.stack,
        "environment": plan.env,
        "destroy": plan.destroy,
        "has_changes": plan.has_changes(),
        "summary": { "add": s.add, "change": s.change, "destroy": s.destroy },
        "resource_changes": resource_changes(plan),
        "resource_drift": plan.drift.iter().map(drift).collect::<Vec<_>>(),
        "output_changes": plan.outputs.iter().map(|o| (o.name.clone(), json!({
            "actions": o.action.json_actions(),
            "before": if o.sensitive { J::Null } else { o.before.as_ref().map(|b| masked(b).0).unwrap_or(J::Null) },
            "after": if o.sensitive { J::Null } else { masked(&o.after).0 },
            "after_unknown": !o.after.is_known(),
            "sensitive": o.sensitive,
        }))).collect::<Map<String, J>>(),
    })
}

/// Every instance's change, then each deposed object as a delete of its
/// own, right after the instance of its address (as Terraform lists them).
fn resource_changes(plan: &Plan) -> Vec<J> {
    let mut entries: Vec<(&InstanceAddr, J)> = plan.changes.iter().map(|c| (&c.addr, change(c))).collect();
    entries.extend(plan.deposed.iter().map(|d| (&d.addr, deposed(d))));
    // Stable: a deposed object stays after the current one.
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries.into_iter().map(|(_, j)| j).collect()
}

/// A deposed object: what an interrupted or failed replace left; apply
/// deletes it. Its attributes are not part of the plan (`before` is null).
fn deposed(d: &Deposed) -> J {
    json!({
        "address": d.addr.to_string(),
        "type": d.rtype,
        "name": d.addr.resource.name,
        "index": index(&d.addr),
        "deposed": d.id,
        "change": {
            "actions": Action::Delete.json_actions(),
            "before": J::Null,
            "after": J::Null,
            "after_unknown": false,
            "before_sensitive": false,
            "after_sensitive": false,
            "replace_paths": [],
        },
        "action_reason": "an interrupted or failed replace left this object",
    })
}

fn change(c: &ResourceChange) -> J {
    let (before, before_sensitive) = c.before.as_ref().map(masked_attrs).unwrap_or((J::Null, J::Bool(false)));
    let (after, after_sensitive) = c.after.as_ref().map(masked_attrs).unwrap_or((J::Null, J::Bool(false)));
    let after_unknown = c.after.as_ref().map(unknown_mask).unwrap_or(J::Bool(false));
    json!({
        "address": c.addr.to_string(),
        "type": c.rtype,
        "name": c.addr.resource.name,
        "index": index(&c.addr),
        "change": {
            "actions": c.action.json_actions(),
            "before": before,
            "after": after,
            "after_unknown": after_unknown,
            "before_sensitive": before_sensitive,
            "after_sensitive": after_sensitive,
            "replace_paths": c.replace_paths.iter().map(|p| json!([p])).collect::<Vec<_>>(),
        },
        "action_reason": c.reason,
    })
}

fn drift(d: &Drift) -> J {
    let (before, before_sensitive) = masked_attrs(&d.before);
    let (after, after_sensitive) = d.after.as_ref().map(masked_attrs).unwrap_or((J::Null, J::Bool(false)));
    json!({
        "address": d.addr.to_string(),
        "type": d.rtype,
        "name": d.addr.resource.name,
        "index": index(&d.addr),
        "change": {
            "actions": if d.after.is_some() { Action::Update.json_actions() } else { Action::Delete.json_actions() },
            "before": before,
            "after": after,
            "before_sensitive": before_sensitive,
            "after_sensitive": after_sensitive,
        },
    })
}

fn index(addr: &crate::addr::InstanceAddr) -> J {
    match &addr.key {
        crate::addr::InstanceKey::None => J::Null,
        crate::addr::InstanceKey::Index(i) => json!(i),
        crate::addr::InstanceKey::Key(k) => json!(k),
    }
}

pub(crate) fn masked_attrs(attrs: &AttrValues) -> (J, J) {
    let mut values = Map::new();
    let mut mask = Map::new();
    for (k, v) in attrs {
        let (value, sensitive) = masked(v);
        values.insert(k.clone(), value);
        if sensitive != J::Bool(false) {
            mask.insert(k.clone(), sensitive);
        }
    }
    (J::Object(values), J::Object(mask))
}

/// The value with secrets and unknowns replaced by null, and its sensitivity mask.
pub(crate) fn masked(v: &Value) -> (J, J) {
    match v {
        Value::Sensitive(_) => (J::Null, J::Bool(true)),
        Value::Unknown => (J::Null, J::Bool(false)),
        Value::List(items) => {
            let parts: Vec<(J, J)> = items.iter().map(masked).collect();
            let any = parts.iter().any(|(_, m)| m != &J::Bool(false));
            let values = J::Array(parts.iter().map(|(v, _)| v.clone()).collect());
            let mask = if any { J::Array(parts.into_iter().map(|(_, m)| m).collect()) } else { J::Bool(false) };
            (values, mask)
        }
        Value::Map(map) => {
            let mut values = Map::new();
            let mut mask = Map::new();
            for (k, v) in map {
                let (value, m) = masked(v);
                values.insert(k.clone(), value);
                if m != J::Bool(false) {
                    mask.insert(k.clone(), m);
                }
            }
            let mask = if mask.is_empty() { J::Bool(false) } else { J::Object(mask) };
            (J::Object(values), mask)
        }
        other => (other.to_json(), J::Bool(false)),
    }
}

pub(crate) fn unknown_mask(attrs: &AttrValues) -> J {
    let mut mask = Map::new();
    for (k, v) in attrs {
        if let Some(m) = unknown_of(v) {
            mask.insert(k.clone(), m);
        }
    }
    J::Object(mask)
}

fn unknown_of(v: &Value) -> Option<J> {
    match v {
        Value::Unknown => Some(J::Bool(true)),
        Value::Sensitive(inner) => unknown_of(inner),
        Value::List(items) => {
            let parts: Vec<Option<J>> = items.iter().map(unknown_of).collect();
            parts
                .iter()
                .any(Option::is_some)
                .then(|| J::Array(parts.into_iter().map(|p| p.unwrap_or(J::Bool(false))).collect()))
        }
        Value::Map(map) => {
            let m: Map<String, J> = map.iter().filter_map(|(k, v)| unknown_of(v).map(|u| (k.clone(), u))).collect();
            (!m.is_empty()).then_some(J::Object(m))
        }
        _ => None,
    }
}
