//! Type constraints of `variable` blocks (`type = list(string)`) and
//! Terraform's conversions of values to them.

use std::collections::BTreeMap;
use std::fmt;

use hcl_edit::expr::{Expression, FuncCall, ObjectKey};
use hcl_edit::Span;

use super::convert::{split_mark, stringify, to_bool, to_number, to_string, unify, Unified, MAX_VALUE_DEPTH};
use super::expr::error;
use super::functions::make_set;
use super::EvalError;
use crate::value::Value;

/// A Terraform type constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeConstraint {
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeConstraint>),
    Set(Box<TypeConstraint>),
    Map(Box<TypeConstraint>),
    Tuple(Vec<TypeConstraint>),
    /// Attribute types, and whether each attribute is `optional(...)`.
    Object(BTreeMap<String, ObjectAttr>),
}

/// One attribute of an `object({...})` type.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectAttr {
    pub ty: TypeConstraint,
    /// Declared `optional(T)` or `optional(T, default)`.
    pub optional: bool,
    /// The default of `optional(T, default)`: taken when the attribute is
    /// absent or null, before the value is converted (as Terraform does).
    pub default: Option<Value>,
}

const EXPECTED: &str =
    "expected string, number, bool, any, list(T), set(T), map(T), tuple([T, ...]) or object({name = T, ...})";

/// Reads a type constraint expression.
pub fn parse_type(expr: &Expression) -> Result<TypeConstraint, EvalError> {
    parse(expr, false).map(|(t, _)| t)
}

/// Returns the type and, when it was wrapped in `optional(...)` (allowed
/// only for object attributes, `in_object`), that flag and its default.
fn parse(expr: &Expression, in_object: bool) -> Result<(TypeConstraint, Option<Option<Value>>), EvalError> {
    let span = expr.span();
    match expr {
        Expression::Variable(name) => keyword(name.value().as_str(), span).map(|t| (t, None)),
        // Terraform 0.11 wrote types as strings: `type = "string"`.
        Expression::String(s) => match s.value().as_str() {
            "string" => Ok(TypeConstraint::String),
            "list" => Ok(TypeConstraint::List(Box::new(TypeConstraint::String))),
            "map" => Ok(TypeConstraint::Map(Box::new(TypeConstraint::String))),
            other => Err(error(format!("Invalid legacy type: \"{other}\" is not a type; {EXPECTED}"), span)),
        }
        .map(|t| (t, None)),
        Expression::FuncCall(call) => parse_call(call, in_object),
        Expression::Parenthesis(p) => parse(p.inner(), in_object),
        _ => Err(error(format!("Invalid type specification: {EXPECTED}"), span)),
    }
}

fn keyword(name: &str, span: super::expr::SpanRange) -> Result<TypeConstraint, EvalError> {
    match name {
        "string" => Ok(TypeConstraint::String),
        "number" => Ok(TypeConstraint::Number),
        "bool" => Ok(TypeConstraint::Bool),
        "any" => Ok(TypeConstraint::Any),
        // Bare collection keywords are Terraform's shorthand for `list(any)` etc.
        "list" => Ok(TypeConstraint::List(Box::new(TypeConstraint::Any))),
        "set" => Ok(TypeConstraint::Set(Box::new(TypeConstraint::Any))),
        "map" => Ok(TypeConstraint::Map(Box::new(TypeConstraint::Any))),
        other => Err(error(format!("Invalid type specification: \"{other}\" is not a type; {EXPECTED}"), span)),
    }
}

fn parse_call(call: &FuncCall, in_object: bool) -> Result<(TypeConstraint, Option<Option<Value>>), EvalError> {
    let span = call.span();
    let name = call.name.name.value().as_str();
    let args: Vec<&Expression> = call.args.iter().collect();
    let one_arg = || -> Result<&Expression, EvalError> {
        match args.as_slice() {
            [a] if !call.args.expand_final() => Ok(a),
            _ => {
                Err(error(format!("Invalid type specification: {name}(...) takes exactly one argument"), span.clone()))
            }
        }
    };
    if call.name.is_namespaced() {
        return Err(error(format!("Invalid type specification: {EXPECTED}"), span));
    }
    let t = match name {
        "list" => TypeConstraint::List(Box::new(parse(one_arg()?, false)?.0)),
        "set" => TypeConstraint::Set(Box::new(parse(one_arg()?, false)?.0)),
        "map" => TypeConstraint::Map(Box::new(parse(one_arg()?, false)?.0)),
        "tuple" => match one_arg()? {
            Expression::Array(items) => {
                TypeConstraint::Tuple(items.iter().map(|e| parse(e, false).map(|(t, _)| t)).collect::<Result<_, _>>()?)
            }
            other => {
                return Err(error("Invalid type specification: tuple(...) takes a list of types, as in tuple([string, number])", other.span()))
            }
        },
        "object" => match one_arg()? {
            Expression::Object(object) => {
                let mut attrs = BTreeMap::new();
                for (key, value) in object.iter() {
                    let name = match key {
                        ObjectKey::Ident(i) => i.value().to_string(),
                        ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                        ObjectKey::Expression(e) => {
                            return Err(error("Invalid type specification: object attribute names must be identifiers", e.span()))
                        }
                    };
                    let (ty, optional) = parse(value.expr(), true)?;
                    let attr = ObjectAttr { ty, optional: optional.is_some(), default: optional.flatten() };
                    attrs.insert(name, attr);
                }
                TypeConstraint::Object(attrs)
            }
            other => {
                return Err(error("Invalid type specification: object(...) takes an object of attribute types, as in object({name = string})", other.span()))
            }
        },
        "optional" if in_object => {
            return match args.as_slice() {
                [a] => Ok((parse(a, false)?.0, Some(None))),
                [a, default] => {
                    let ty = parse(a, false)?.0;
                    let default = optional_default(&ty, default)?;
                    Ok((ty, Some(default)))
                }
                _ => Err(error("Invalid type specification: optional(...) takes a type and an optional default", span)),
            };
        }
        "optional" => {
            return Err(error("Invalid type specification: optional(...) is allowed only for attributes of object(...)", span))
        }
        other => return Err(error(format!("Invalid type specification: \"{other}\" is not a type constructor; {EXPECTED}"), span)),
    };
    Ok((t, None))
}

/// The default of `optional(T, default)`: a constant that converts to `T`
/// (null means no default, as in Terraform).
fn optional_default(ty: &TypeConstraint, expr: &Expression) -> Result<Option<Value>, EvalError> {
    let value = super::eval(expr, &NoNames)
        .map_err(|e| error(format!("Invalid default value for optional attribute: {}", e.message), expr.span()))?;
    if !value.is_known() {
        return Err(error("Invalid default value for optional attribute: it must be a constant", expr.span()));
    }
    if value.is_null() {
        return Ok(None);
    }
    match ty.convert(value) {
        Ok(v) => Ok(Some(v)),
        Err(m) => Err(error(
            format!("Invalid default value for optional attribute: this default value is not compatible with the attribute's type constraint: {m}."),
            expr.span(),
        )),
    }
}

/// The scope of a type constraint: constants only.
struct NoNames;

impl super::Scope for NoNames {
    fn variable(&self, _: &str) -> Option<Value> {
        None
    }
    fn local(&self, _: &str) -> Option<Value> {
        None
    }
    fn resource(&self, _: &crate::addr::ResourceAddr) -> Option<Value> {
        None
    }
    fn count_index(&self) -> Option<Value> {
        None
    }
    fn each(&self) -> Option<(Value, Value)> {
        None
    }
    fn module_dir(&self) -> &std::path::Path {
        std::path::Path::new(".")
    }
}

impl fmt::Display for TypeConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeConstraint::Any => f.write_str("any"),
            TypeConstraint::String => f.write_str("string"),
            TypeConstraint::Number => f.write_str("number"),
            TypeConstraint::Bool => f.write_str("bool"),
            TypeConstraint::List(t) => write!(f, "list({t})"),
            TypeConstraint::Set(t) => write!(f, "set({t})"),
            TypeConstraint::Map(t) => write!(f, "map({t})"),
            TypeConstraint::Tuple(ts) => {
                f.write_str("tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str("])")
            }
            TypeConstraint::Object(attrs) => {
                f.write_str("object({")?;
                for (i, (name, attr)) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    let t = &attr.ty;
                    match (&attr.optional, &attr.default) {
                        (true, Some(d)) => write!(f, "{name} = optional({t}, {})", d.to_json())?,
                        (true, None) => write!(f, "{name} = optional({t})")?,
                        (false, _) => write!(f, "{name} = {t}")?,
                    }
                }
                f.write_str("})")
            }
        }
    }
}

impl TypeConstraint {
    /// Converts `v` to this type as Terraform does for input variables:
    /// `"5"` becomes `5` for a number, `5` becomes `"5"` for a string, extra
    /// object attributes are dropped, missing optional ones become null.
    /// Null and unknown values pass unchanged; sensitive marks are kept.
    /// Errors name the path to the offending element and never its value.
    pub fn convert(&self, v: Value) -> Result<Value, String> {
        self.convert_at(self.apply_defaults(v), 0)
            .map_err(|(path, msg)| if path.is_empty() { msg } else { format!("{path}: {msg}") })
    }

    fn convert_at(&self, v: Value, depth: usize) -> Result<Value, (String, String)> {
        if depth > MAX_VALUE_DEPTH {
            return Err((String::new(), "the value is nested too deeply".to_string()));
        }
        let (v, marked) = split_mark(v);
        if matches!(v, Value::Null | Value::Unknown) || *self == TypeConstraint::Any {
            return Ok(v.marked_if(marked));
        }
        let fail = |m: String| Err((String::new(), m));
        let converted = match self {
            TypeConstraint::Any => v,
            TypeConstraint::String => match &v {
                Value::List(_) | Value::Map(_) => return fail("string required".into()),
                _ => match to_string(&v) {
                    Ok(s) => Value::String(s),
                    Err(m) => return fail(m),
                },
            },
            TypeConstraint::Number => match &v {
                Value::String(_) => match to_number(&v) {
                    Ok(n) => Value::Number(n),
                    Err(_) => return fail("a number is required".into()),
                },
                Value::Number(n) => Value::Number(*n),
                _ => return fail("number required".into()),
            },
            TypeConstraint::Bool => match &v {
                Value::String(_) => match to_bool(&v) {
                    Ok(b) => Value::Bool(b),
                    Err(_) => return fail("a bool is required".into()),
                },
                Value::Bool(b) => Value::Bool(*b),
                _ => return fail("bool required".into()),
            },
            TypeConstraint::List(t) | TypeConstraint::Set(t) => {
                let Value::List(items) = v else {
                    return fail(format!("{} of {} required", self.kind(), t.friendly()));
                };
                let items = convert_items(std::iter::repeat(t.as_ref()), items, depth)?;
                let items = if **t == TypeConstraint::Any {
                    unify_elements(items, self.kind()).map_err(|m| (String::new(), m))?
                } else {
                    items
                };
                if let TypeConstraint::Set(_) = self {
                    // Unknown elements may turn out equal, so the set's size
                    // is not known yet.
                    if items.iter().any(|i| !i.is_known()) {
                        return Ok(Value::Unknown.marked_if(marked));
                    }
                    Value::List(make_set(items).map_err(|m| (String::new(), m))?)
                } else {
                    Value::List(items)
                }
            }
            TypeConstraint::Tuple(ts) => {
                let Value::List(items) = v else {
                    return fail("tuple required".into());
                };
                if items.len() != ts.len() {
                    return fail(format!(
                        "the value has {} elements where the tuple type has {}: tuple required",
                        items.len(),
                        ts.len()
                    ));
                }
                Value::List(convert_items(ts.iter(), items, depth)?)
            }
            TypeConstraint::Map(t) => {
                let Value::Map(map) = v else {
                    return fail(format!("map of {} required", t.friendly()));
                };
                let mut out = BTreeMap::new();
                for (k, item) in map {
                    let item =
                        t.convert_at(item, depth + 1).map_err(|(p, m)| (join_path(&format!("[\"{k}\"]"), &p), m))?;
                    out.insert(k, item);
                }
                if **t == TypeConstraint::Any {
                    let keys: Vec<String> = out.keys().cloned().collect();
                    let items = unify_elements(out.into_values().collect(), "map").map_err(|m| (String::new(), m))?;
                    Value::Map(keys.into_iter().zip(items).collect())
                } else {
                    Value::Map(out)
                }
            }
            TypeConstraint::Object(attrs) => {
                let Value::Map(mut map) = v else {
                    return fail("object required".into());
                };
                let mut out = BTreeMap::new();
                for (name, ObjectAttr { ty: t, optional, .. }) in attrs {
                    match map.remove(name) {
                        Some(item) => {
                            let item = t
                                .convert_at(item, depth + 1)
                                .map_err(|(p, m)| (join_path(&format!("attribute \"{name}\""), &p), m))?;
                            out.insert(name.clone(), item);
                        }
                        None if *optional => {
                            out.insert(name.clone(), Value::Null);
                        }
                        None => return fail(format!("attribute \"{name}\" is required")),
                    }
                }
                Value::Map(out)
            }
        };
        Ok(converted.marked_if(marked))
    }

    /// Fills the defaults of `optional(T, default)` attributes into a value
    /// not yet converted, at any depth: an absent or null attribute takes
    /// its default (itself filled in turn); a null object stays null.
    fn apply_defaults(&self, v: Value) -> Value {
        if !self.has_defaults() {
            return v;
        }
        let (v, marked) = split_mark(v);
        let filled = match (self, v) {
            (TypeConstraint::Object(attrs), Value::Map(mut map)) => {
                for (name, attr) in attrs {
                    let current = map.remove(name);
                    let item = match (current, &attr.default) {
                        (None, Some(d)) => Some(d.clone()),
                        (Some(item), Some(d)) if item.is_null() => Some(d.clone()),
                        (item, _) => item,
                    };
                    if let Some(item) = item {
                        map.insert(name.clone(), attr.ty.apply_defaults(item));
                    }
                }
                Value::Map(map)
            }
            (TypeConstraint::List(t) | TypeConstraint::Set(t), Value::List(items)) => {
                Value::List(items.into_iter().map(|i| t.apply_defaults(i)).collect())
            }
            (TypeConstraint::Map(t), Value::Map(map)) => {
                Value::Map(map.into_iter().map(|(k, i)| (k, t.apply_defaults(i))).collect())
            }
            (TypeConstraint::Tuple(ts), Value::List(items)) if ts.len() == items.len() => {
                Value::List(ts.iter().zip(items).map(|(t, i)| t.apply_defaults(i)).collect())
            }
            (_, other) => other,
        };
        filled.marked_if(marked)
    }

    fn has_defaults(&self) -> bool {
        match self {
            TypeConstraint::Object(attrs) => attrs.values().any(|a| a.default.is_some() || a.ty.has_defaults()),
            TypeConstraint::List(t) | TypeConstraint::Set(t) | TypeConstraint::Map(t) => t.has_defaults(),
            TypeConstraint::Tuple(ts) => ts.iter().any(TypeConstraint::has_defaults),
            _ => false,
        }
    }

    /// The type as cty names it in messages ("list of string").
    fn friendly(&self) -> String {
        match self {
            TypeConstraint::Any => "any single type".into(),
            TypeConstraint::List(t) => format!("list of {}", t.friendly()),
            TypeConstraint::Set(t) => format!("set of {}", t.friendly()),
            TypeConstraint::Map(t) => format!("map of {}", t.friendly()),
            TypeConstraint::Tuple(_) => "tuple".into(),
            TypeConstraint::Object(_) => "object".into(),
            other => other.to_string(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            TypeConstraint::Set(_) => "set",
            _ => "list",
        }
    }
}

fn convert_items<'a>(
    types: impl Iterator<Item = &'a TypeConstraint>,
    items: Vec<Value>,
    depth: usize,
) -> Result<Vec<Value>, (String, String)> {
    types
        .zip(items)
        .enumerate()
        .map(|(i, (t, item))| {
            t.convert_at(item, depth + 1).map_err(|(p, m)| (join_path(&format!("element {i}"), &p), m))
        })
        .collect()
}

/// The elements of a `list(any)`, `set(any)` or `map(any)`: one type for
/// all, as Terraform unifies them (numbers and bools with strings become
/// strings); no common type is an error.
fn unify_elements(items: Vec<Value>, kind: &str) -> Result<Vec<Value>, String> {
    match unify(items.iter()) {
        // Lists of lists: the inner elements share one type too.
        Unified::Same if items.len() > 1 && items.iter().all(|i| matches!(i, Value::List(_))) => {
            let lengths: Vec<usize> = items.iter().map(|i| if let Value::List(l) = i { l.len() } else { 0 }).collect();
            let inner: Vec<Value> =
                items.into_iter().flat_map(|i| if let Value::List(l) = i { l } else { Vec::new() }).collect();
            let mut inner = unify_elements(inner, "list")?.into_iter();
            Ok(lengths.into_iter().map(|n| Value::List(inner.by_ref().take(n).collect())).collect())
        }
        Unified::Same => Ok(items),
        Unified::Strings => Ok(items.into_iter().map(stringify).collect()),
        Unified::Conflict => Err(format!("all {kind} elements must have the same type")),
    }
}

fn join_path(head: &str, rest: &str) -> String {
    if rest.is_empty() {
        head.to_string()
    } else {
        format!("{head}: {rest}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    fn ty(src: &str) -> TypeConstraint {
        parse_type(&hcl_edit::parser::parse_expr(src).unwrap()).unwrap_or_else(|e| panic!("{src}: {}", e.message))
    }

    fn ty_err(src: &str) -> EvalError {
        parse_type(&hcl_edit::parser::parse_expr(src).unwrap()).expect_err(src)
    }

    #[test]
    fn parses_and_displays_types() {
        for src in [
            "string",
            "number",
            "bool",
            "any",
            "list(string)",
            "set(number)",
            "map(any)",
            "tuple([string, number])",
            "object({a = string, b = optional(number)})",
            "list(object({name = string, ports = list(number), tags = map(string)}))",
        ] {
            assert_eq!(ty(src).to_string(), src);
        }
        assert_eq!(ty("\"string\""), TypeConstraint::String);
        assert_eq!(ty("\"list\""), TypeConstraint::List(Box::new(TypeConstraint::String)));
        assert_eq!(ty("list"), TypeConstraint::List(Box::new(TypeConstraint::Any)));
        assert_eq!(ty("object({\"quoted\" = bool})").to_string(), "object({quoted = bool})");
    }

    #[test]
    fn rejects_invalid_types() {
        let src = "list(strin)";
        let e = ty_err(src);
        assert!(e.message.contains("\"strin\" is not a type"), "{}", e.message);
        assert_eq!(&src[e.span.unwrap()], "strin");
        assert!(ty_err("optional(string)").message.contains("only for attributes of object"));
        assert!(ty_err("object({a = optional(number, \"x\")})").message.contains("not compatible"));
        assert!(ty_err("object({a = optional(string, var.x)})").message.contains("Invalid default value"));
        assert!(ty_err("list(string, number)").message.contains("exactly one argument"));
        assert!(ty_err("tuple(string)").message.contains("list of types"));
        assert!(ty_err("object(string)").message.contains("object of attribute types"));
        assert!(ty_err("foo(string)").message.contains("not a type constructor"));
        assert!(ty_err("\"int\"").message.contains("not a type"));
        assert!(ty_err("1").message.contains("Invalid type specification"));
    }

    #[test]
    fn converts_like_terraform() {
        assert_eq!(ty("number").convert(s("5")), Ok(n(5.0)));
        assert_eq!(ty("bool").convert(s("true")), Ok(Value::Bool(true)));
        assert_eq!(ty("string").convert(n(5.0)), Ok(s("5")));
        assert_eq!(ty("string").convert(Value::Bool(false)), Ok(s("false")));
        assert!(ty("number").convert(s("five")).unwrap_err().contains("a number is required"));
        assert!(ty("string").convert(list(vec![])).is_err());
        assert_eq!(ty("list(number)").convert(list(vec![s("1"), n(2.0)])), Ok(list(vec![n(1.0), n(2.0)])));
        assert_eq!(ty("set(string)").convert(list(vec![s("b"), s("a"), s("b")])), Ok(list(vec![s("a"), s("b")])));
        assert_eq!(ty("map(number)").convert(map(vec![("a", s("1"))])), Ok(map(vec![("a", n(1.0))])));
        assert_eq!(ty("tuple([string, number])").convert(list(vec![n(1.0), s("2")])), Ok(list(vec![s("1"), n(2.0)])));
        assert!(ty("tuple([string])")
            .convert(list(vec![]))
            .unwrap_err()
            .contains("the tuple type has 1: tuple required"));
        assert_eq!(ty("any").convert(list(vec![n(1.0)])), Ok(list(vec![n(1.0)])));
        assert_eq!(ty("list(string)").convert(Value::Null), Ok(Value::Null));
    }

    #[test]
    fn converts_objects() {
        let t = ty("object({name = string, port = optional(number), extra = optional(list(string))})");
        let v = map(vec![("name", s("x")), ("port", s("80")), ("ignored", n(1.0))]);
        assert_eq!(t.convert(v), Ok(map(vec![("name", s("x")), ("port", n(80.0)), ("extra", Value::Null)])));
        let e = t.convert(map(vec![("port", n(1.0))])).unwrap_err();
        assert!(e.contains("attribute \"name\" is required"), "{e}");
        let e = ty("list(object({a = number}))")
            .convert(list(vec![map(vec![("a", n(1.0))]), map(vec![("a", s("x"))])]))
            .unwrap_err();
        assert!(e.starts_with("element 1: attribute \"a\": a number is required"), "{e}");
        let e = ty("map(number)").convert(map(vec![("k", s("x"))])).unwrap_err();
        assert!(e.starts_with("[\"k\"]:"), "{e}");
        assert!(ty("object({a = string})").convert(s("x")).unwrap_err().contains("object required"));
    }

    #[test]
    fn optional_defaults_fill_absent_and_null_attributes() {
        let t = ty("object({name = string, port = optional(number, 80), tags = optional(map(string), {})})");
        assert_eq!(
            t.to_string(),
            "object({name = string, port = optional(number, 80), tags = optional(map(string), {})})"
        );
        let v = map(vec![("name", s("x")), ("port", Value::Null)]);
        assert_eq!(t.convert(v), Ok(map(vec![("name", s("x")), ("port", n(80.0)), ("tags", map(vec![]))])));
        // A given value wins, and is converted like any other.
        assert_eq!(t.convert(map(vec![("name", s("x")), ("port", s("8080"))])).unwrap(), {
            map(vec![("name", s("x")), ("port", n(8080.0)), ("tags", map(vec![]))])
        });
        // A null object stays null.
        assert_eq!(t.convert(Value::Null), Ok(Value::Null));
    }

    #[test]
    fn optional_defaults_apply_at_any_depth() {
        let t = ty("list(object({a = optional(object({b = optional(string, \"deep\"), c = optional(bool)}), {})}))");
        let v = list(vec![map(vec![]), map(vec![("a", map(vec![("c", Value::Bool(true))]))])]);
        assert_eq!(
            t.convert(v),
            Ok(list(vec![
                map(vec![("a", map(vec![("b", s("deep")), ("c", Value::Null)]))]),
                map(vec![("a", map(vec![("b", s("deep")), ("c", Value::Bool(true))]))]),
            ]))
        );
        let t = ty("map(object({n = optional(number, 1)}))");
        assert_eq!(t.convert(map(vec![("k", map(vec![]))])), Ok(map(vec![("k", map(vec![("n", n(1.0))]))])));
        // A null default is no default.
        let t = ty("object({a = optional(string, null)})");
        assert_eq!(t.convert(map(vec![])), Ok(map(vec![("a", Value::Null)])));
    }

    #[test]
    fn keeps_marks_and_unknowns() {
        assert_eq!(ty("number").convert(secret(s("5"))), Ok(secret(n(5.0))));
        assert_eq!(ty("number").convert(Value::Unknown), Ok(Value::Unknown));
        assert_eq!(ty("list(number)").convert(list(vec![Value::Unknown])), Ok(list(vec![Value::Unknown])));
        assert_eq!(ty("set(string)").convert(list(vec![Value::Unknown, Value::Unknown])), Ok(Value::Unknown));
        assert_eq!(
            ty("set(string)").convert(list(vec![secret(n(1.0)), s("a")])),
            Ok(list(vec![secret(s("1")), s("a")]))
        );
        assert_eq!(
            ty("map(number)").convert(map(vec![("a", secret(s("1"))), ("b", s("2"))])),
            Ok(map(vec![("a", secret(n(1.0))), ("b", n(2.0))]))
        );
        let e = ty("number").convert(secret(s("hunter2"))).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
