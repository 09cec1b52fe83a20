//! Encoding functions: JSON and base64.

use super::{arg, str_arg, Cx, FnError, R};
use crate::value::Value;
use base64::Engine as _;

/// JSON as Terraform's `jsonencode` writes it: compact, keys sorted, and
/// `<`, `>`, `&`, U+2028 and U+2029 escaped (Go's encoder escapes them so
/// the result is safe inside HTML).
pub(super) fn json_string(v: &Value) -> String {
    let s = v.to_json().to_string();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

pub(super) fn jsonencode(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(json_string(arg(&a, 0)?)))
}

pub(super) fn jsondecode(cx: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(json) => Ok(Value::from_json(&json)),
        Err(_) if cx.sensitive => Err(FnError::arg(0, "the string is not valid JSON")),
        Err(e) => Err(FnError::arg(0, format!("the string is not valid JSON: {e}"))),
    }
}

pub(super) fn base64encode(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(str_arg(&a, 0)?)))
}

pub(super) fn base64decode(_: &mut Cx, a: Vec<Value>) -> R {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(str_arg(&a, 0)?)
        .map_err(|_| FnError::arg(0, "the string is not valid base64"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| FnError::arg(0, "the decoded bytes are not valid UTF-8; Terraform strings must be UTF-8"))
}
