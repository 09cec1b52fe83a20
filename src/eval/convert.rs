//! Terraform's automatic conversions between primitive values, shared by
//! operators, functions and type constraints.
//!
//! Callers pass values that are already unmarked and known; the messages
//! returned never contain the value itself, because it may have been
//! sensitive before the caller unmarked it.

use crate::value::{format_number, Value};

/// Removes the outer sensitive mark only, leaving marks on nested elements in
/// place; structural operations (indexing, `length`, `keys`) rely on this so
/// that a secret inside a map does not make the whole map secret.
pub(crate) fn split_mark(v: Value) -> (Value, bool) {
    match v {
        Value::Sensitive(inner) => (split_mark(*inner).0, true),
        other => (other, false),
    }
}

/// A sensitive map is treated as a map of sensitive values: its keys stay
/// usable (`keys()`, `length()`, `for` keys, `for_each = keys(var.secrets)`)
/// while every value stays marked. Other values only lose their outer mark
/// into the returned flag.
pub(crate) fn split_mark_keeping_keys(v: Value) -> (Value, bool) {
    match split_mark(v) {
        (Value::Map(map), true) => (Value::Map(map.into_iter().map(|(k, v)| (k, v.mark_sensitive())).collect()), false),
        other => other,
    }
}

/// Parses a string as Terraform converts strings to numbers: decimal
/// notation with an optional sign, fraction and exponent. Rust's own float
/// parser also accepts `inf` and `NaN`, which Terraform rejects.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let mut i = 0;
    if matches!(bytes.first(), Some(b'-') | Some(b'+')) {
        i += 1;
    }
    let digits_start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - digits_start;
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i += 1;
        if matches!(bytes.get(i), Some(b'-') | Some(b'+')) {
            i += 1;
        }
        let exp_start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return None;
        }
    }
    if i != bytes.len() {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The value's type with its article, for messages: "a string", "an object".
pub(crate) fn a_type(v: &Value) -> String {
    let name = v.type_name();
    let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {name}")
}

/// A number, or a string holding one.
pub(crate) fn to_number(v: &Value) -> Result<f64, String> {
    match v.peel() {
        Value::Number(n) => Ok(*n),
        Value::String(s) => {
            parse_number(s).ok_or_else(|| "a number is required; this string does not contain a number".to_string())
        }
        Value::Null => Err("a number is required, but the value is null".to_string()),
        other => Err(format!("a number is required, but the value is {}", a_type(other))),
    }
}

/// A bool, or the strings `"true"`/`"false"` (and `"1"`/`"0"`, as cty accepts).
pub(crate) fn to_bool(v: &Value) -> Result<bool, String> {
    match v.peel() {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("a bool is required; this string is neither \"true\" nor \"false\"".to_string()),
        },
        Value::Null => Err("a bool is required, but the value is null".to_string()),
        other => Err(format!("a bool is required, but the value is {}", a_type(other))),
    }
}

/// A string, or a number or bool rendered as Terraform renders them.
pub(crate) fn to_string(v: &Value) -> Result<String, String> {
    match v.peel() {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(format_number(*n)),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("a string is required, but the value is null".to_string()),
        other => Err(format!("a string is required, but the value is {}", a_type(other))),
    }
}

/// An integer that fits `i64`, for indexes, counts and offsets.
pub(crate) fn to_integer(v: &Value) -> Result<i64, String> {
    let n = to_number(v)?;
    if n.fract() != 0.0 {
        return Err("a whole number is required".to_string());
    }
    if n.abs() > 9.007_199_254_740_992e15 {
        return Err("the number is too large".to_string());
    }
    Ok(n as i64)
}

/// Terraform's `==`: no conversion between types, deep comparison of
/// collections, marks ignored. Callers must handle unknown values first.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a.peel(), b.peel()) {
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && equal(va, vb))
        }
        (x, y) => x == y,
    }
}

/// What Terraform's type unification makes of a group of values that must
/// share one type (elements of `tolist`/`tomap`, `coalesce` arguments, the
/// two results of a conditional).
#[derive(Debug, PartialEq)]
pub(crate) enum Unified {
    /// Already one type (or nothing to unify): keep the values as they are.
    Same,
    /// Strings mixed with numbers or bools: every value becomes a string.
    Strings,
    /// No common type: a number with a bool, a primitive with a collection.
    Conflict,
}

/// Unifies the types of `values`, ignoring nulls and unknowns.
pub(crate) fn unify<'a>(values: impl IntoIterator<Item = &'a Value>) -> Unified {
    let (mut bools, mut numbers, mut strings, mut lists, mut maps) = (false, false, false, false, false);
    for v in values {
        match v.peel() {
            Value::Bool(_) => bools = true,
            Value::Number(_) => numbers = true,
            Value::String(_) => strings = true,
            Value::List(_) => lists = true,
            Value::Map(_) => maps = true,
            _ => {}
        }
    }
    let primitives = bools || numbers || strings;
    let kinds = [bools, numbers, strings, lists, maps].iter().filter(|k| **k).count();
    if kinds <= 1 {
        Unified::Same
    } else if !primitives || lists || maps {
        // Lists with maps, or a primitive with a collection.
        Unified::Conflict
    } else if strings {
        Unified::Strings
    } else {
        Unified::Conflict
    }
}

/// A primitive as a string, keeping its mark; other values unchanged.
pub(crate) fn stringify(v: Value) -> Value {
    let sensitive = matches!(v, Value::Sensitive(_));
    match to_string(&v) {
        Ok(s) if !v.is_null() && !v.is_unknown() => Value::String(s).marked_if(sensitive),
        _ => v,
    }
}

/// Recursion bound for functions that walk values (`flatten`, conversions):
/// values come from user input, and a stack overflow is not an error message.
pub(crate) const MAX_VALUE_DEPTH: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_like_terraform() {
        assert_eq!(parse_number("5"), Some(5.0));
        assert_eq!(parse_number("-1.5"), Some(-1.5));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        assert_eq!(parse_number(".5"), Some(0.5));
        for bad in ["", "-", "inf", "NaN", "1e", "1x", " 5", "0x10", "1e999"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn converts_primitives() {
        assert_eq!(to_number(&Value::string("7")), Ok(7.0));
        assert!(to_number(&Value::Bool(true)).is_err());
        assert_eq!(to_bool(&Value::string("false")), Ok(false));
        assert_eq!(to_string(&Value::Number(2.5)), Ok("2.5".to_string()));
        assert_eq!(to_string(&Value::Bool(true)), Ok("true".to_string()));
        assert!(to_string(&Value::List(vec![])).is_err());
        assert_eq!(to_integer(&Value::Number(3.0)), Ok(3));
        assert!(to_integer(&Value::Number(3.5)).is_err());
        assert!(to_integer(&Value::Number(1e300)).is_err());
    }

    #[test]
    fn split_mark_keeps_nested_marks() {
        let v = Value::List(vec![Value::string("s").mark_sensitive()]).mark_sensitive();
        let (inner, was) = split_mark(v);
        assert!(was);
        assert!(inner.is_sensitive());
    }

    #[test]
    fn sensitive_maps_keep_their_keys() {
        let m = Value::Map([("k".to_string(), Value::string("v"))].into()).mark_sensitive();
        let (open, marked) = split_mark_keeping_keys(m);
        assert!(!marked);
        assert_eq!(open, Value::Map([("k".to_string(), Value::string("v").mark_sensitive())].into()));
        let (_, marked) = split_mark_keeping_keys(Value::List(vec![]).mark_sensitive());
        assert!(marked);
    }

    #[test]
    fn equality_ignores_marks_but_not_types() {
        assert!(equal(&Value::string("a").mark_sensitive(), &Value::string("a")));
        assert!(!equal(&Value::string("1"), &Value::Number(1.0)));
    }
}
