//! What the configuration wants for one resource instance: its arguments
//! evaluated, converted to the schema's types, defaults applied, and
//! `tags_all` computed from the provider's default tags.

use std::collections::BTreeMap;

use crate::addr::InstanceKey;
use crate::config::{Body, Repetition, ResourceConfig};
use crate::diag::{Diagnostic, Diagnostics, Loc};
use crate::eval::{self, Scope};
use crate::resources::{Attr, BlockSchema, Presence, Schema, Ty};
use crate::value::Value;

/// Attribute values of one instance, with unknown and sensitive marks.
pub type AttrValues = BTreeMap<String, Value>;

/// More instances than one stack should hold; also keeps a typo like
/// `count = 1e19` from exhausting memory.
pub const MAX_COUNT: usize = 100_000;

/// The instances a resource has, with the `each.value` of each.
pub fn expand(config: &ResourceConfig, scope: &dyn Scope) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    match &config.repetition {
        Repetition::Single => Ok(vec![(InstanceKey::None, None)]),
        Repetition::Count(expr, loc) => {
            let value = eval::eval(expr, scope).map_err(|e| eval_error("Invalid count", loc, e))?;
            if !value.is_known() {
                return Err(unknown_repetition("count", loc));
            }
            let n = value.as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= MAX_COUNT as f64).ok_or_else(
                || {
                    Diagnostic::error("Invalid count").at(loc.clone()).detail(format!(
                        "count must be a whole number from 0 to {MAX_COUNT}, found {}.",
                        match value.peel() {
                            Value::Number(n) => crate::value::format_number(*n),
                            other => other.type_name().to_string(),
                        }
                    ))
                },
            )?;
            Ok((0..n as i64).map(|i| (InstanceKey::Index(i), None)).collect())
        }
        Repetition::ForEach(expr, loc) => {
            let value = eval::eval(expr, scope).map_err(|e| eval_error("Invalid for_each", loc, e))?;
            // Only the keys must be known at plan time: a map's values may
            // still be unknown (they become each.value).
            let keys_known = match value.peel() {
                Value::Map(_) => true,
                other => other.is_known(),
            };
            if !keys_known {
                return Err(unknown_repetition("for_each", loc));
            }
            let (plain, sensitive) = value.unmark();
            if sensitive {
                return Err(Diagnostic::error("Invalid for_each")
                    .at(loc.clone())
                    .detail("for_each cannot use sensitive values: the keys would appear in addresses and output."));
            }
            match plain {
                Value::Map(map) => Ok(map.into_iter().map(|(k, v)| (InstanceKey::Key(k), Some(v))).collect()),
                Value::List(items) => {
                    let mut keys = Vec::new();
                    for item in items {
                        match item {
                            Value::String(s) => keys.push((InstanceKey::Key(s.clone()), Some(Value::String(s)))),
                            other => {
                                return Err(Diagnostic::error("Invalid for_each").at(loc.clone()).detail(format!(
                                    "for_each takes a map or a set of strings; found an element of type {}.",
                                    other.type_name()
                                )))
                            }
                        }
                    }
                    keys.sort_by(|a, b| a.0.cmp(&b.0));
                    keys.dedup_by(|a, b| a.0 == b.0);
                    Ok(keys)
                }
                other => Err(Diagnostic::error("Invalid for_each")
                    .at(loc.clone())
                    .detail(format!("for_each takes a map or a set of strings, found {}.", other.type_name()))),
            }
        }
    }
}

fn unknown_repetition(what: &str, loc: &Loc) -> Diagnostic {
    Diagnostic::error(format!("Invalid {what}"))
        .at(loc.clone())
        .detail(format!(
            "The {what} value depends on attributes that are known only after apply, so gantry cannot tell how many instances to plan. \
             Use values known at plan time (variables, locals), or apply the resources it depends on first with --target."
        ))
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
    resource_loc: &Loc,
) -> Result<AttrValues, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut out = evaluate_attrs(&schema.attrs, &schema.blocks, body, scope, &mut diags);
    if schema.taggable {
        out.insert("tags_all".to_string(), merge_tags(default_tags, out.get("tags").unwrap_or(&Value::Null)));
    }
    let _ = resource_loc;
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
    }
}

fn evaluate_attrs(
    attrs: &[Attr],
    blocks: &[BlockSchema],
    body: &Body,
    scope: &dyn Scope,
    diags: &mut Diagnostics,
) -> AttrValues {
    let mut out = AttrValues::new();
    for attr in attrs.iter().filter(|a| a.is_settable()) {
        let value = match body.attrs.iter().find(|a| a.name == attr.name) {
            Some(given) => match eval::eval(&given.expr, scope) {
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
        let items: Vec<Value> = body
            .blocks
            .iter()
            .filter(|b| b.name == block.name)
            .map(|b| Value::Map(evaluate_attrs(&block.attrs, &block.blocks, &b.body, scope, diags)))
            .collect();
        out.insert(block.name.to_string(), Value::List(items));
    }
    out
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
