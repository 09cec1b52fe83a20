//! What the configuration wants for one resource instance: its arguments
//! evaluated, converted to the schema's types, defaults applied, and
//! `tags_all` computed from the provider's default tags.

use std::collections::BTreeMap;

use crate::addr::InstanceKey;
use crate::config::{Body, ResourceConfig};
use crate::diag::{Diagnostic, Diagnostics, Loc};
use crate::eval::{self, Scope};
use crate::resources::{Attr, BlockSchema, Omission, Presence, Schema, Ty};
use crate::value::Value;

/// Attribute values of one instance, with unknown and sensitive marks.
pub type AttrValues = BTreeMap<String, Value>;

pub use crate::graph::expand::MAX_COUNT;

/// The instances a resource has, with the `each.value` of each.
pub fn expand(config: &ResourceConfig, scope: &dyn Scope) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    crate::graph::expand_repetition(&config.repetition, scope)
}

fn eval_error(summary: &str, loc: &Loc, e: eval::EvalError) -> Diagnostic {
    Diagnostic::error(summary).at(loc.narrow(e.span)).detail(e.message)
}

/// Evaluates the arguments of one instance.
pub fn evaluate(
    schema: &Schema,
    body: &Body,
    scope: &dyn Scope,
    default_tags: &Value,
    resource: &str,
) -> Result<AttrValues, Diagnostics> {
    let mut diags = Diagnostics::default();
    let omitted = Omitted { list: &schema.omitted, path: String::new(), what: resource.to_string() };
    let mut out = evaluate_body(&schema.attrs, &schema.blocks, body, scope, &[], &omitted, &mut diags);
    if schema.taggable {
        out.insert("tags_all".to_string(), merge_tags(default_tags, out.get("tags").unwrap_or(&Value::Null)));
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

/// The provider arguments a type leaves out on purpose, seen from one body
/// (`path` is the dotted path of that body, empty for the resource's).
struct Omitted<'a> {
    list: &'a [Omission],
    path: String,
    /// The resource type, for messages.
    what: String,
}

impl Omitted<'_> {
    fn path_of(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn find(&self, name: &str) -> Option<&Omission> {
        let path = self.path_of(name);
        self.list.iter().find(|o| o.path == path)
    }

    fn inner(&self, block: &str) -> Omitted<'_> {
        Omitted { list: self.list, path: self.path_of(block), what: self.what.clone() }
    }

    fn refuse(&self, name: &str, omission: &Omission, loc: &Loc) -> Diagnostic {
        Diagnostic::error(format!("\"{name}\" in {} is not supported by gantry: {}", self.what, omission.reason))
            .at(loc.clone())
            .detail(
                "gantry accepts it only while it is null (modules pass their optional inputs through as null), \
                 or set to the value that asks for what gantry does anyway.",
            )
    }
}

/// Modules pass every optional input through to every argument, so an
/// argument gantry deliberately leaves out is refused only when it would
/// do something: set to a value other than null (or the value the omission
/// accepts), or a block that has instances with such values.
fn check_omitted(
    body: &Body,
    attrs: &[Attr],
    blocks: &[BlockSchema],
    scope: &dyn Scope,
    bound: &[(String, Value)],
    omitted: &Omitted<'_>,
    diags: &mut Diagnostics,
) {
    for given in &body.attrs {
        if attrs.iter().any(|a| a.name == given.name) {
            continue;
        }
        let Some(omission) = omitted.find(&given.name) else { continue };
        match eval::eval_with(&given.expr, scope, bound) {
            Ok(v) if omission.is_inert(&v) => {}
            Ok(_) => diags.push(omitted.refuse(&given.name, omission, &given.loc)),
            Err(e) => diags.push(eval_error(&format!("Invalid value for \"{}\"", given.name), &given.loc, e)),
        }
    }
    for b in &body.blocks {
        if blocks.iter().any(|s| s.name == b.name) {
            continue;
        }
        let Some(omission) = omitted.find(&b.name) else { continue };
        let inner = omitted.inner(&b.name);
        let Some(dynamic) = &b.dynamic else {
            if !body_is_inert(&b.body, scope, bound, &inner) {
                diags.push(omitted.refuse(&b.name, omission, &b.loc));
            }
            continue;
        };
        let elements = match eval::eval_with(&dynamic.for_each, scope, bound) {
            Ok(v) => dynamic_elements(v),
            Err(e) => {
                diags.push(eval_error("Invalid dynamic for_each value", &dynamic.for_each_loc, e));
                continue;
            }
        };
        let inert = match elements {
            Ok(Some(elements)) => elements.into_iter().all(|(key, value)| {
                let mut with = bound.to_vec();
                with.push((dynamic.iterator.clone(), iterator_value(key, value)));
                body_is_inert(&b.body, scope, &with, &inner)
            }),
            Ok(None) | Err(_) => false,
        };
        if !inert {
            diags.push(omitted.refuse(&b.name, omission, &b.loc));
        }
    }
}

/// A block of an omitted type that changes nothing: every argument null
/// (or the value its omission accepts), every nested block the same.
fn body_is_inert(body: &Body, scope: &dyn Scope, bound: &[(String, Value)], omitted: &Omitted<'_>) -> bool {
    let attrs_inert = body.attrs.iter().all(|given| match eval::eval_with(&given.expr, scope, bound) {
        Ok(v) => v.is_null() || omitted.find(&given.name).is_some_and(|o| o.is_inert(&v)),
        Err(_) => false,
    });
    attrs_inert
        && body.blocks.iter().all(|b| {
            let inner = omitted.inner(&b.name);
            match &b.dynamic {
                None => body_is_inert(&b.body, scope, bound, &inner),
                Some(dynamic) => match eval::eval_with(&dynamic.for_each, scope, bound).map(dynamic_elements) {
                    Ok(Ok(Some(elements))) => elements.into_iter().all(|(key, value)| {
                        let mut with = bound.to_vec();
                        with.push((dynamic.iterator.clone(), iterator_value(key, value)));
                        body_is_inert(&b.body, scope, &with, &inner)
                    }),
                    _ => false,
                },
            }
        })
}

fn iterator_value(key: Value, value: Value) -> Value {
    Value::Map(BTreeMap::from([("key".to_string(), key), ("value".to_string(), value)]))
}

/// Evaluates a body with the iterators of the `dynamic` blocks around it
/// bound (`bound`, innermost last).
fn evaluate_body(
    attrs: &[Attr],
    blocks: &[BlockSchema],
    body: &Body,
    scope: &dyn Scope,
    bound: &[(String, Value)],
    omitted: &Omitted<'_>,
    diags: &mut Diagnostics,
) -> AttrValues {
    check_omitted(body, attrs, blocks, scope, bound, omitted, diags);
    let mut out = AttrValues::new();
    for attr in attrs.iter().filter(|a| a.is_settable()) {
        let value = match body.attrs.iter().find(|a| a.name == attr.name) {
            Some(given) => match eval::eval_with(&given.expr, scope, bound) {
                Ok(v) => match convert(attr.ty, v) {
                    Ok(v) => v,
                    Err(message) => {
                        diags.push(
                            Diagnostic::error(format!("Invalid value for \"{}\"", attr.name))
                                .at(given.loc.clone())
                                .detail(message),
                        );
                        continue;
                    }
                },
                Err(e) => {
                    diags.push(eval_error(&format!("Invalid value for \"{}\"", attr.name), &given.loc, e));
                    continue;
                }
            },
            None => attr.default.as_ref().map(Value::from_json).unwrap_or(Value::Null),
        };
        let value = if value.is_null() && attr.presence == Presence::Optional {
            attr.default.as_ref().map(Value::from_json).unwrap_or(Value::Null)
        } else {
            value
        };
        out.insert(attr.name.to_string(), value);
    }
    for block in blocks {
        let mut items: Vec<Value> = Vec::new();
        for b in body.blocks.iter().filter(|b| b.name == block.name) {
            let Some(dynamic) = &b.dynamic else {
                items.push(Value::Map(evaluate_body(
                    &block.attrs,
                    &block.blocks,
                    &b.body,
                    scope,
                    bound,
                    &omitted.inner(block.name),
                    diags,
                )));
                continue;
            };
            let elements = match eval::eval_with(&dynamic.for_each, scope, bound) {
                Ok(v) => match dynamic_elements(v) {
                    Ok(elements) => elements,
                    Err(message) => {
                        diags.push(
                            Diagnostic::error(format!("Invalid dynamic for_each value for \"{}\"", b.name))
                                .at(dynamic.for_each_loc.clone())
                                .detail(message),
                        );
                        continue;
                    }
                },
                Err(e) => {
                    diags.push(eval_error("Invalid dynamic for_each value", &dynamic.for_each_loc, e));
                    continue;
                }
            };
            let Some(elements) = elements else {
                // Unknown until apply: the blocks are too.
                items.push(Value::Unknown);
                continue;
            };
            for (key, value) in elements {
                let mut inner = bound.to_vec();
                inner.push((dynamic.iterator.clone(), iterator_value(key, value)));
                items.push(Value::Map(evaluate_body(
                    &block.attrs,
                    &block.blocks,
                    &b.body,
                    scope,
                    &inner,
                    &omitted.inner(block.name),
                    diags,
                )));
            }
        }
        if let Some(max) = block.max_items.filter(|max| items.len() > *max) {
            let at = body.blocks.iter().find(|b| b.name == block.name).map(|b| b.loc.clone());
            let mut d = Diagnostic::error(format!("Too many \"{}\" blocks", block.name)).detail(format!(
                "At most {max} \"{}\" block(s) may be given here; its dynamic blocks gave {}.",
                block.name,
                items.len()
            ));
            if let Some(at) = at {
                d = d.at(at);
            }
            diags.push(d);
        }
        let value = if items.iter().any(Value::is_unknown) { Value::Unknown } else { Value::List(items) };
        out.insert(block.name.to_string(), value);
    }
    out
}

/// The (key, value) pairs a `dynamic` block iterates over: index and
/// element of a list, key and value of a map or object, the element twice
/// for a set (as Terraform does). `None` while the collection is unknown.
type Elements = Option<Vec<(Value, Value)>>;

fn dynamic_elements(value: Value) -> Result<Elements, String> {
    if value.is_unknown() {
        return Ok(None);
    }
    let (plain, sensitive) = value.unmark();
    if sensitive {
        return Err(
            "for_each cannot use a sensitive value here: its elements would become block arguments shown in the plan."
                .into(),
        );
    }
    match plain {
        Value::List(items) => {
            Ok(Some(items.into_iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect()))
        }
        Value::Map(map) => Ok(Some(map.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
        Value::Null => Err("for_each must not be null; use [] for no blocks.".into()),
        other => Err(format!("for_each takes a list, set, map or object, found {}.", other.type_name())),
    }
}

/// `tags_all`: the provider's default tags overlaid with the resource's own.
pub fn merge_tags(default_tags: &Value, tags: &Value) -> Value {
    if !default_tags.is_known() || !tags.is_known() {
        return Value::Unknown;
    }
    let mut merged = BTreeMap::new();
    for source in [default_tags, tags] {
        if let Value::Map(map) = source.peel() {
            for (k, v) in map {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    // A secret in either map makes the merge secret: peeling the outer
    // mark above must not launder it.
    let sensitive = default_tags.is_sensitive() || tags.is_sensitive();
    if merged.is_empty() {
        Value::Null
    } else {
        Value::Map(merged).marked_if(sensitive)
    }
}

/// Converts a value to an attribute's type the way Terraform does ("5" is a
/// number, 5 is a string), keeping marks.
pub fn convert(ty: Ty, value: Value) -> Result<Value, String> {
    if value.is_unknown() || value.is_null() {
        return Ok(value);
    }
    let (plain, sensitive) = value.unmark();
    let converted = match (ty, plain) {
        (Ty::String | Ty::Json, Value::String(s)) => Value::String(s),
        (Ty::String | Ty::Json, Value::Number(n)) => Value::String(crate::value::format_number(n)),
        (Ty::String | Ty::Json, Value::Bool(b)) => Value::String(b.to_string()),
        (Ty::Number, Value::Number(n)) => Value::Number(n),
        (Ty::Number, Value::String(s)) => {
            Value::Number(s.trim().parse().map_err(|_| "a number is required".to_string())?)
        }
        (Ty::Bool, Value::Bool(b)) => Value::Bool(b),
        (Ty::Bool, Value::String(s)) if s == "true" || s == "false" => Value::Bool(s == "true"),
        (Ty::ListOfString | Ty::SetOfString, Value::List(items)) => {
            let mut out = Vec::new();
            for item in items {
                out.push(convert(Ty::String, item).map_err(|_| "a list of strings is required".to_string())?);
            }
            if ty == Ty::SetOfString && out.iter().all(Value::is_known) {
                out.sort_by_key(|v| v.as_str().map(str::to_string));
                out.dedup();
            }
            Value::List(out)
        }
        (Ty::MapOfString, Value::Map(map)) => {
            let mut out = BTreeMap::new();
            for (k, v) in map {
                out.insert(k, convert(Ty::String, v).map_err(|_| "a map of strings is required".to_string())?);
            }
            Value::Map(out)
        }
        (ty, other) => return Err(format!("{} is required, found {}", ty_name(ty), other.type_name())),
    };
    Ok(converted.marked_if(sensitive))
}

fn ty_name(ty: Ty) -> &'static str {
    match ty {
        Ty::String => "a string",
        Ty::Json => "a JSON string (use jsonencode)",
        Ty::Number => "a number",
        Ty::Bool => "true or false",
        Ty::ListOfString => "a list of strings",
        Ty::SetOfString => "a set of strings",
        Ty::MapOfString => "a map of strings",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_terraform() {
        assert_eq!(convert(Ty::Number, Value::string("5")).unwrap(), Value::Number(5.0));
        assert_eq!(convert(Ty::String, Value::Number(5.0)).unwrap(), Value::string("5"));
        assert!(convert(Ty::Bool, Value::string("yes")).is_err());
        let s = convert(Ty::String, Value::string("x").mark_sensitive()).unwrap();
        assert!(s.is_sensitive());
    }

    #[test]
    fn tags_all_keeps_secrets_secret() {
        let t = Value::Map(BTreeMap::from([("k".into(), Value::string("x"))])).mark_sensitive();
        assert!(merge_tags(&Value::Null, &t).is_sensitive());
    }

    #[test]
    fn tags_all_overlays_resource_tags_on_defaults() {
        let d = Value::Map(BTreeMap::from([("a".into(), Value::string("1")), ("b".into(), Value::string("1"))]));
        let t = Value::Map(BTreeMap::from([("b".into(), Value::string("2"))]));
        let Value::Map(m) = merge_tags(&d, &t) else { panic!() };
        assert_eq!(m["a"], Value::string("1"));
        assert_eq!(m["b"], Value::string("2"));
    }
}
