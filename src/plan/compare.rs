//! Comparable forms of attribute values: JSON documents normalized (key order,
//! whitespace), sets sorted, empty collections equal to null, sensitive
//! values replaced by their keyed hash. Two values are "the same" when their
//! comparable forms are equal; this is what keeps plans free of perpetual diffs.

use std::collections::BTreeMap;

use serde_json::Value as J;

use crate::desired::AttrValues;
use crate::resources::{Attrs, BlockSchema, Schema, Ty};
use crate::state::{ResourceState, SecretHasher};
use crate::value::{number_to_json, Value};

/// The shape of one top-level attribute: a plain attribute or a nested block.
#[derive(Clone, Copy)]
pub enum Kind<'a> {
    Attr(Ty),
    Block(&'a BlockSchema),
}

/// Kinds of every top-level name of a schema.
pub fn kinds(schema: &Schema) -> Vec<(&'static str, Kind<'_>)> {
    schema
        .attrs
        .iter()
        .map(|a| (a.name, Kind::Attr(a.ty)))
        .chain(schema.blocks.iter().map(|b| (b.name, Kind::Block(b))))
        .collect()
}

/// Kinds of the attributes of a nested block.
pub fn block_kinds(block: &BlockSchema) -> Vec<(&'static str, Kind<'_>)> {
    block
        .attrs
        .iter()
        .map(|a| (a.name, Kind::Attr(a.ty)))
        .chain(block.blocks.iter().map(|b| (b.name, Kind::Block(b))))
        .collect()
}

/// Marker for an unknown value: never equal to anything known.
fn unknown_marker() -> J {
    J::String("\u{0}(known after apply)".into())
}

/// Normalizes a JSON value of the given kind for comparison.
pub fn normalize(kind: Kind<'_>, json: &J) -> J {
    let out = match kind {
        Kind::Attr(Ty::Json) => match json {
            J::String(s) => match serde_json::from_str::<J>(s) {
                Ok(doc) => canonical(&doc),
                Err(_) => json.clone(),
            },
            other => canonical(other),
        },
        Kind::Attr(Ty::SetOfString) => match json {
            J::Array(items) => {
                let mut items: Vec<J> = items.iter().map(scalar_to_string).collect();
                items.sort_by_key(|v| v.to_string());
                items.dedup();
                J::Array(items)
            }
            other => other.clone(),
        },
        Kind::Attr(Ty::ListOfString) => match json {
            J::Array(items) => J::Array(items.iter().map(scalar_to_string).collect()),
            other => other.clone(),
        },
        Kind::Attr(Ty::MapOfString) => match json {
            J::Object(map) => J::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), scalar_to_string(v)))
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect(),
            ),
            other => other.clone(),
        },
        Kind::Attr(Ty::Number) => match json {
            J::Number(n) => n.as_f64().map(number_to_json).unwrap_or(J::Null),
            J::String(s) => s.parse::<f64>().map(number_to_json).unwrap_or_else(|_| json.clone()),
            other => other.clone(),
        },
        Kind::Attr(Ty::String) => scalar_to_string(json),
        Kind::Attr(Ty::Bool) => match json {
            J::String(s) if s == "true" || s == "false" => J::Bool(s == "true"),
            other => other.clone(),
        },
        Kind::Block(block) => match json {
            J::Array(items) => {
                let mut items: Vec<J> = items
                    .iter()
                    .map(|item| match item {
                        J::Object(map) => {
                            let mut out = serde_json::Map::new();
                            // What only AWS sets inside a block (a grantee's
                            // display name) is not the configuration's to differ on,
                            // just as computed top-level attributes are not compared.
                            for attr in block.attrs.iter().filter(|a| a.is_settable()) {
                                let v = map.get(attr.name).unwrap_or(&J::Null);
                                out.insert(attr.name.to_string(), normalize(Kind::Attr(attr.ty), v));
                            }
                            for nested in &block.blocks {
                                let v = map.get(nested.name).unwrap_or(&J::Null);
                                out.insert(nested.name.to_string(), normalize(Kind::Block(nested), v));
                            }
                            J::Object(out)
                        }
                        other => other.clone(),
                    })
                    .collect();
                if block.is_set {
                    items.sort_by_key(|v| v.to_string());
                }
                J::Array(items)
            }
            other => other.clone(),
        },
    };
    empty_to_null(out)
}

fn scalar_to_string(v: &J) -> J {
    match v {
        J::Number(n) => J::String(n.as_f64().map(|f| number_to_json(f).to_string()).unwrap_or_else(|| n.to_string())),
        J::Bool(b) => J::String(b.to_string()),
        other => other.clone(),
    }
}

fn empty_to_null(v: J) -> J {
    match &v {
        J::String(s) if s.is_empty() => J::Null,
        J::Array(a) if a.is_empty() => J::Null,
        J::Object(o) if o.is_empty() => J::Null,
        _ => v,
    }
}

/// JSON with object keys sorted at every level.
pub fn canonical(v: &J) -> J {
    match v {
        J::Object(map) => {
            let sorted: BTreeMap<&String, J> = map.iter().map(|(k, v)| (k, canonical(v))).collect();
            J::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        J::Array(items) => J::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Comparable form of a desired (configuration-side) value.
pub fn desired_comparable(kind: Kind<'_>, value: &Value, hasher: &SecretHasher) -> J {
    if !value.is_known() {
        return unknown_marker();
    }
    let normalized = normalize(kind, &value.to_json());
    if value.is_sensitive() && !normalized.is_null() {
        J::String(hasher.hash(&normalized))
    } else {
        normalized
    }
}

/// Comparable form of a state-side value: sensitive ones hold their hash.
pub fn state_comparable(kind: Kind<'_>, value: &Value) -> J {
    match value {
        Value::Sensitive(inner) => inner.to_json(),
        other if !other.is_known() => unknown_marker(),
        other => normalize(kind, &other.to_json()),
    }
}

/// Attribute values of a state entry, sensitive ones holding their hash
/// inside the sensitive mark (displayed as "(sensitive value)").
pub fn state_values(resource: &ResourceState) -> AttrValues {
    let mut out: AttrValues = resource.attributes.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect();
    for (name, hash) in &resource.sensitive_attributes {
        out.insert(name.clone(), Value::String(hash.clone()).mark_sensitive());
    }
    out
}

/// Replaces sensitive attributes of live attributes by their keyed hash:
/// the result is safe to store. Returns the hashes by name.
pub fn seal(
    schema: &Schema,
    attrs: &mut Attrs,
    extra_sensitive: impl IntoIterator<Item = String>,
    hasher: &SecretHasher,
) -> BTreeMap<String, String> {
    let mut names: Vec<String> = schema.attrs.iter().filter(|a| a.sensitive).map(|a| a.name.to_string()).collect();
    names.extend(extra_sensitive);
    names.sort();
    names.dedup();
    let kinds = kinds(schema);
    let mut hashes = BTreeMap::new();
    for name in names {
        let Some(value) = attrs.get_mut(&name) else { continue };
        let kind = kinds.iter().find(|(n, _)| *n == name).map(|(_, k)| *k).unwrap_or(Kind::Attr(Ty::String));
        let normalized = normalize(kind, value);
        if !normalized.is_null() {
            hashes.insert(name.clone(), hasher.hash(&normalized));
        }
        *value = J::Null;
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_documents_compare_by_content() {
        let a = J::String(r#"{"b": 1, "a": [1, 2]}"#.into());
        let b = J::String(r#"{"a":[1,2],"b":1}"#.into());
        assert_eq!(normalize(Kind::Attr(Ty::Json), &a), normalize(Kind::Attr(Ty::Json), &b));
    }

    #[test]
    fn sets_compare_unordered_and_empty_equals_null() {
        let a = serde_json::json!(["b", "a"]);
        let b = serde_json::json!(["a", "b"]);
        assert_eq!(normalize(Kind::Attr(Ty::SetOfString), &a), normalize(Kind::Attr(Ty::SetOfString), &b));
        assert_eq!(normalize(Kind::Attr(Ty::MapOfString), &serde_json::json!({})), J::Null);
    }

    #[test]
    fn sensitive_desired_and_sealed_state_compare_equal() {
        let hasher = SecretHasher::new("abcd");
        let schema = Schema::new("t", vec![crate::resources::Attr::required("value", Ty::String).sensitive()]);
        let mut attrs = Attrs::new();
        attrs.insert("value".into(), J::String("canary".into()));
        let hashes = seal(&schema, &mut attrs, [], &hasher);
        assert_eq!(attrs["value"], J::Null);
        let desired = desired_comparable(Kind::Attr(Ty::String), &Value::string("canary").mark_sensitive(), &hasher);
        assert_eq!(desired, J::String(hashes["value"].clone()));
        assert!(!hashes["value"].contains("canary"));
    }
}
