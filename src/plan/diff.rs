//! Desired vs. refreshed state of one instance: the action, the planned
//! attribute values, and the attributes that force a replacement.

use crate::config::Lifecycle;
use crate::desired::AttrValues;
use crate::resources::{Presence, Schema};
use crate::state::SecretHasher;
use crate::value::Value;

use super::compare::{desired_comparable, kinds, state_comparable, Kind};
use super::Action;

pub struct Diff {
    pub action: Action,
    /// Planned values: desired arguments, computed attributes carried over or
    /// unknown.
    pub after: AttrValues,
    /// Attributes that differ.
    pub changed: Vec<String>,
    pub replace_paths: Vec<String>,
}

/// Compares what the configuration wants with what AWS has.
pub fn diff(
    schema: &Schema,
    desired: &AttrValues,
    prior: Option<&AttrValues>,
    lifecycle: &Lifecycle,
    hasher: &SecretHasher,
) -> Diff {
    let mut after = AttrValues::new();
    let prior_value = |name: &str| prior.and_then(|p| p.get(name)).cloned().unwrap_or(Value::Null);
    let ignored = |name: &str| {
        prior.is_some() && (lifecycle.ignore_all_changes || lifecycle.ignore_changes.iter().any(|n| n == name))
    };

    for attr in schema.attrs.iter().filter(|a| a.is_settable()) {
        let wanted = desired.get(attr.name).cloned().unwrap_or(Value::Null);
        let value = if ignored(attr.name) {
            prior_value(attr.name)
        } else if wanted.is_null() && attr.presence == Presence::OptionalComputed {
            if prior.is_some() {
                prior_value(attr.name)
            } else {
                Value::Unknown
            }
        } else {
            wanted
        };
        after.insert(attr.name.to_string(), value.marked_if(attr.sensitive));
    }
    for block in &schema.blocks {
        let wanted = desired.get(block.name).cloned().unwrap_or(Value::List(Vec::new()));
        let empty = matches!(&wanted, Value::List(items) if items.is_empty());
        let value = if ignored(block.name) || (empty && block.computed_when_absent && prior.is_some()) {
            prior_value(block.name)
        } else {
            fill_computed_in_blocks(block, wanted, &prior_value(block.name))
        };
        after.insert(block.name.to_string(), value);
    }
    if schema.taggable {
        // Ignoring `tags` must ignore the `tags_all` computed from them too.
        let tags_all = if ignored("tags") {
            prior_value("tags_all")
        } else {
            desired.get("tags_all").cloned().unwrap_or(Value::Null)
        };
        after.insert("tags_all".into(), tags_all);
    }

    let mut changed = Vec::new();
    let mut replace_paths = Vec::new();
    if let Some(prior) = prior {
        for (name, kind) in kinds(schema) {
            // `tags` is compared through `tags_all`, which also covers the
            // provider's default tags.
            if schema.taggable && name == "tags" {
                continue;
            }
            let (settable, force_new) = match kind {
                Kind::Attr(_) => {
                    let attr = schema.attr(name).expect("kinds come from the schema");
                    (attr.is_settable() || name == "tags_all", attr.force_new)
                }
                Kind::Block(b) => (true, b.force_new || b.attrs.iter().any(|a| a.force_new)),
            };
            if !settable {
                continue;
            }
            let want = desired_comparable(kind, after.get(name).unwrap_or(&Value::Null), hasher);
            let have = state_comparable(kind, prior.get(name).unwrap_or(&Value::Null));
            if want != have {
                changed.push(name.to_string());
                if force_new {
                    replace_paths.push(name.to_string());
                }
            }
        }
    }

    let action = match prior {
        None => Action::Create,
        Some(_) if !replace_paths.is_empty() => {
            if lifecycle.create_before_destroy {
                Action::CreateThenDelete
            } else {
                Action::DeleteThenCreate
            }
        }
        Some(_) if !changed.is_empty() => Action::Update,
        Some(_) => Action::NoOp,
    };

    for attr in schema.attrs.iter().filter(|a| !a.is_settable() && a.name != "tags_all") {
        let value = match action {
            Action::Create | Action::DeleteThenCreate | Action::CreateThenDelete => Value::Unknown,
            Action::Update if attr.changes_on_update => Value::Unknown,
            _ => prior_value(attr.name),
        };
        after.insert(attr.name.to_string(), value.marked_if(attr.sensitive));
    }
    Diff { action, after, changed, replace_paths }
}

/// The reason of a replacement `-replace=ADDR` asked for.
pub const REPLACE_REQUESTED: &str = "replacement requested with -replace";

/// Turns an update or no-op into a replace, as `-replace=ADDR` asks: the
/// object is made anew, so every attribute AWS computes is unknown again.
pub fn force_replace(d: &mut Diff, schema: &Schema, create_before_destroy: bool) {
    if !matches!(d.action, Action::NoOp | Action::Update) {
        return;
    }
    d.action = if create_before_destroy { Action::CreateThenDelete } else { Action::DeleteThenCreate };
    for attr in schema.attrs.iter().filter(|a| !a.is_settable() && a.name != "tags_all") {
        d.after.insert(attr.name.to_string(), Value::Unknown.marked_if(attr.sensitive));
    }
}

/// Fills optional-computed attributes left unset inside nested blocks with
/// what AWS reported for the same block, so they cause no diff.
fn fill_computed_in_blocks(block: &crate::resources::BlockSchema, wanted: Value, prior: &Value) -> Value {
    let (Value::List(items), Value::List(prior_items)) = (&wanted, prior) else { return wanted };
    let filled = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Value::Map(map) = item else { return item.clone() };
            let prior_map = match prior_items.get(i) {
                Some(Value::Map(m)) => Some(m),
                _ => None,
            };
            let mut map = map.clone();
            for attr in block.attrs.iter().filter(|a| a.presence == Presence::OptionalComputed) {
                if map.get(attr.name).is_none_or(Value::is_null) {
                    if let Some(v) = prior_map.and_then(|m| m.get(attr.name)) {
                        map.insert(attr.name.to_string(), v.clone());
                    }
                }
            }
            // The same one level down (`access_control_policy { owner { display_name } }`).
            for nested in &block.blocks {
                if let Some(wanted) = map.get(nested.name).cloned() {
                    let prior_nested = prior_map.and_then(|m| m.get(nested.name)).cloned().unwrap_or(Value::Null);
                    map.insert(nested.name.to_string(), fill_computed_in_blocks(nested, wanted, &prior_nested));
                }
            }
            Value::Map(map)
        })
        .collect();
    Value::List(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{Attr, Ty};

    fn schema() -> Schema {
        Schema::new(
            "t",
            vec![
                Attr::required("name", Ty::String).force_new(),
                Attr::optional("description", Ty::String),
                Attr::optional("value", Ty::String).sensitive(),
                Attr::computed("arn", Ty::String),
                Attr::computed("version", Ty::Number).changes_on_update(),
            ],
        )
    }

    fn values(pairs: &[(&str, Value)]) -> AttrValues {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn create_when_no_prior_with_unknown_computed() {
        let d = diff(
            &schema(),
            &values(&[("name", Value::string("a"))]),
            None,
            &Lifecycle::default(),
            &SecretHasher::new("00"),
        );
        assert_eq!(d.action, Action::Create);
        assert_eq!(d.after["arn"], Value::Unknown);
    }

    #[test]
    fn update_in_place_and_replace_on_force_new() {
        let h = SecretHasher::new("00");
        let prior = values(&[
            ("name", Value::string("a")),
            ("description", Value::string("x")),
            ("arn", Value::string("arn:1")),
        ]);
        let d = diff(
            &schema(),
            &values(&[("name", Value::string("a")), ("description", Value::string("y"))]),
            Some(&prior),
            &Lifecycle::default(),
            &h,
        );
        assert_eq!(d.action, Action::Update);
        assert_eq!(d.changed, vec!["description"]);
        assert_eq!(d.after["arn"], Value::string("arn:1"));
        assert_eq!(d.after["version"], Value::Unknown);
        let d = diff(
            &schema(),
            &values(&[("name", Value::string("b")), ("description", Value::string("x"))]),
            Some(&prior),
            &Lifecycle::default(),
            &h,
        );
        assert_eq!(d.action, Action::DeleteThenCreate);
        assert_eq!(d.replace_paths, vec!["name"]);
        let cbd = Lifecycle { create_before_destroy: true, ..Lifecycle::default() };
        let d = diff(
            &schema(),
            &values(&[("name", Value::string("b")), ("description", Value::string("x"))]),
            Some(&prior),
            &cbd,
            &h,
        );
        assert_eq!(d.action, Action::CreateThenDelete);
    }

    #[test]
    fn secret_change_is_detected_through_hashes() {
        let h = SecretHasher::new("00");
        let old_hash = h.hash(&serde_json::json!("old"));
        let prior = values(&[("name", Value::string("a")), ("value", Value::string(old_hash).mark_sensitive())]);
        let same = diff(
            &schema(),
            &values(&[("name", Value::string("a")), ("value", Value::string("old").mark_sensitive())]),
            Some(&prior),
            &Lifecycle::default(),
            &h,
        );
        assert_eq!(same.action, Action::NoOp);
        let changed = diff(
            &schema(),
            &values(&[("name", Value::string("a")), ("value", Value::string("new").mark_sensitive())]),
            Some(&prior),
            &Lifecycle::default(),
            &h,
        );
        assert_eq!(changed.action, Action::Update);
    }

    #[test]
    fn ignore_changes_keeps_prior_value() {
        let h = SecretHasher::new("00");
        let prior = values(&[("name", Value::string("a")), ("description", Value::string("x"))]);
        let lc = Lifecycle { ignore_changes: vec!["description".into()], ..Lifecycle::default() };
        let d = diff(
            &schema(),
            &values(&[("name", Value::string("a")), ("description", Value::string("y"))]),
            Some(&prior),
            &lc,
            &h,
        );
        assert_eq!(d.action, Action::NoOp);
    }
}
