//! Type constraints of `variable` blocks (`type = list(string)`) and
//! Terraform's conversions of values to them.

use std::collections::BTreeMap;
use std::fmt;

use hcl_edit::expr::{Expression, FuncCall, ObjectKey};
use hcl_edit::Span;

use super::convert::{a_type, split_mark, to_bool, to_number, to_string, MAX_VALUE_DEPTH};
use super::expr::error;
use super::functions::make_set;
use super::EvalError;
use crate::value::Value;

/// A Terraform type constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    Object(BTreeMap<String, (TypeConstraint, bool)>),
}

const EXPECTED: &str =
    "expected string, number, bool, any, list(T), set(T), map(T), tuple([T, ...]) or object({name = T, ...})";

/// Reads a type constraint expression.
pub fn parse_type(expr: &Expression) -> Result<TypeConstraint, EvalError> {
    parse(expr, false).map(|(t, _)| t)
}

/// Returns the type and whether it was wrapped in `optional(...)`, which is
/// allowed only for object attributes (`in_object`).
fn parse(expr: &Expression, in_object: bool) -> Result<(TypeConstraint, bool), EvalError> {
    let span = expr.span();
    match expr {
        Expression::Variable(name) => keyword(name.value().as_str(), span).map(|t| (t, false)),
        // Terraform 0.11 wrote types as strings: `type = "string"`.
        Expression::String(s) => match s.value().as_str() {
            "string" => Ok(TypeConstraint::String),
            "list" => Ok(TypeConstraint::List(Box::new(TypeConstraint::String))),
            "map" => Ok(TypeConstraint::Map(Box::new(TypeConstraint::String))),
            other => Err(error(format!("Invalid legacy type: \"{other}\" is not a type; {EXPECTED}"), span)),
        }
        .map(|t| (t, false)),
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

fn parse_call(call: &FuncCall, in_object: bool) -> Result<(TypeConstraint, bool), EvalError> {
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
                    attrs.insert(name, parse(value.expr(), true)?);
                }
                TypeConstraint::Object(attrs)
            }
            other => {
                return Err(error("Invalid type specification: object(...) takes an object of attribute types, as in object({name = string})", other.span()))
            }
        },
        "optional" if in_object => {
            return match args.as_slice() {
                [a] => Ok((parse(a, false)?.0, true)),
                [_, default] => Err(error(
                    "Unsupported type specification: gantry does not support default values in optional(); declare optional(TYPE) and use coalesce() or the variable's default instead",
                    default.span(),
                )),
                _ => Err(error("Invalid type specification: optional(...) takes a type", span)),
            };
        }
        "optional" => {
            return Err(error("Invalid type specification: optional(...) is allowed only for attributes of object(...)", span))
        }
        other => return Err(error(format!("Invalid type specification: \"{other}\" is not a type constructor; {EXPECTED}"), span)),
    };
    Ok((t, false))
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
                for (i, (name, (t, optional))) in attrs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if *optional {
                        write!(f, "{name} = optional({t})")?;
                    } else {
                        write!(f, "{name} = {t}")?;
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
        self.convert_at(v, 0).map_err(|(path, msg)| if path.is_empty() { msg } else { format!("{path}: {msg}") })
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
            TypeConstraint::String => match to_string(&v) {
                Ok(s) => Value::String(s),
                Err(m) => return fail(m),
            },
            TypeConstraint::Number => match to_number(&v) {
                Ok(n) => Value::Number(n),
                Err(m) => return fail(m),
            },
            TypeConstraint::Bool => match to_bool(&v) {
                Ok(b) => Value::Bool(b),
                Err(m) => return fail(m),
            },
            TypeConstraint::List(t) | TypeConstraint::Set(t) => {
                let Value::List(items) = v else {
                    return fail(format!("a {} is required, but the value is {}", self.kind(), a_type(&v)));
                };
                let items = convert_items(std::iter::repeat(t.as_ref()), items, depth)?;
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
                    return fail(format!("a tuple is required, but the value is {}", a_type(&v)));
                };
                if items.len() != ts.len() {
                    return fail(format!(
                        "a tuple of {} elements is required, but the value has {}",
                        ts.len(),
                        items.len()
                    ));
                }
                Value::List(convert_items(ts.iter(), items, depth)?)
            }
            TypeConstraint::Map(t) => {
                let Value::Map(map) = v else {
                    return fail(format!("a map is required, but the value is {}", a_type(&v)));
                };
                let mut out = BTreeMap::new();
                for (k, item) in map {
                    let item =
                        t.convert_at(item, depth + 1).map_err(|(p, m)| (join_path(&format!("[\"{k}\"]"), &p), m))?;
                    out.insert(k, item);
                }
                Value::Map(out)
            }
            TypeConstraint::Object(attrs) => {
                let Value::Map(mut map) = v else {
                    return fail(format!("an object is required, but the value is {}", a_type(&v)));
                };
                let mut out = BTreeMap::new();
                for (name, (t, optional)) in attrs {
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
        assert!(ty_err("object({a = optional(string, \"x\")})").message.contains("default values"));
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
        assert!(ty("tuple([string])").convert(list(vec![])).unwrap_err().contains("1 elements"));
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
        assert!(ty("object({a = string})").convert(s("x")).unwrap_err().contains("an object is required"));
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
