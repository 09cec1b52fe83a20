//! Values of the stack language, with the two marks Terraform users rely on:
//! *unknown* (only known once apply has created something) and *sensitive*
//! (must never be printed or stored).
//!
//! Sensitivity is a wrapper rather than a flag on every variant so that the
//! evaluator can strip it, compute, and put it back: anything derived from a
//! sensitive value is sensitive too.

use std::collections::BTreeMap;
use std::fmt;

/// A value of the stack language.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Known only after apply (an ARN of a resource not created yet).
    Unknown,
    /// A value that must never be shown or stored.
    Sensitive(Box<Value>),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }

    /// Wraps `self` in the sensitive mark (once).
    pub fn mark_sensitive(self) -> Value {
        match self {
            Value::Sensitive(_) => self,
            other => Value::Sensitive(Box::new(other)),
        }
    }

    /// Marks `self` sensitive when `sensitive` is true.
    pub fn marked_if(self, sensitive: bool) -> Value {
        if sensitive {
            self.mark_sensitive()
        } else {
            self
        }
    }

    /// True when the value or anything inside it is sensitive.
    pub fn is_sensitive(&self) -> bool {
        match self {
            Value::Sensitive(_) => true,
            Value::List(items) => items.iter().any(Value::is_sensitive),
            Value::Map(map) => map.values().any(Value::is_sensitive),
            _ => false,
        }
    }

    /// True when the value is completely known (no unknown anywhere inside).
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::Sensitive(inner) => inner.is_known(),
            Value::List(items) => items.iter().all(Value::is_known),
            Value::Map(map) => map.values().all(Value::is_known),
            _ => true,
        }
    }

    /// True when the value itself (not something nested) is unknown.
    pub fn is_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Sensitive(inner) => inner.is_unknown(),
            _ => false,
        }
    }

    /// Removes every sensitive mark, returning the plain value and whether
    /// any mark was removed.
    pub fn unmark(self) -> (Value, bool) {
        match self {
            Value::Sensitive(inner) => (inner.unmark().0, true),
            Value::List(items) => {
                let mut any = false;
                let items = items
                    .into_iter()
                    .map(|v| {
                        let (v, s) = v.unmark();
                        any |= s;
                        v
                    })
                    .collect();
                (Value::List(items), any)
            }
            Value::Map(map) => {
                let mut any = false;
                let map = map
                    .into_iter()
                    .map(|(k, v)| {
                        let (v, s) = v.unmark();
                        any |= s;
                        (k, v)
                    })
                    .collect();
                (Value::Map(map), any)
            }
            other => (other, false),
        }
    }

    /// A borrowed view without the outer sensitive mark.
    pub fn peel(&self) -> &Value {
        match self {
            Value::Sensitive(inner) => inner.peel(),
            other => other,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.peel() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.peel() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self.peel() {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.peel(), Value::Null)
    }

    /// The name of the value's type as Terraform users know it.
    pub fn type_name(&self) -> &'static str {
        match self.peel() {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Map(_) => "object",
            Value::Unknown => "unknown",
            Value::Sensitive(_) => "sensitive",
        }
    }

    /// Converts to JSON. Unknown becomes null and marks are dropped: callers
    /// that may hold unknown or sensitive values must mask them first.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null | Value::Unknown => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Number(n) => number_to_json(*n),
            Value::String(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Value::to_json).collect()),
            Value::Map(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Sensitive(inner) => inner.to_json(),
        }
    }

    pub fn from_json(json: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match json {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
            J::String(s) => Value::String(s.clone()),
            J::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            J::Object(map) => Value::Map(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect()),
        }
    }
}

/// Secrets shorter than this are not replaced in messages: the gaps would
/// give them away.
pub const MIN_REDACTED_LEN: usize = 4;

/// Replaces every sensitive string found in `values` within `text`.
pub fn redact<'a>(text: &str, values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut secrets = Vec::new();
    for v in values {
        v.collect_sensitive_strings(false, &mut secrets);
    }
    // Longest first, so a secret containing another is replaced whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.chars().count() >= MIN_REDACTED_LEN) {
        out = out.replace(s.as_str(), "(sensitive value)");
    }
    out
}

impl Value {
    fn collect_sensitive_strings(&self, inside: bool, out: &mut Vec<String>) {
        match self {
            Value::Sensitive(inner) => inner.collect_sensitive_strings(true, out),
            Value::String(s) if inside => out.push(s.clone()),
            Value::List(items) => items.iter().for_each(|i| i.collect_sensitive_strings(inside, out)),
            Value::Map(map) => map.values().for_each(|v| v.collect_sensitive_strings(inside, out)),
            _ => {}
        }
    }
}

/// Integers print as integers (`5432`, not `5432.0`), as in Terraform.
pub fn number_to_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
    }
}

/// Formats a number the way Terraform prints it in strings.
pub fn format_number(n: f64) -> String {
    number_to_json(n).to_string()
}

/// Renders a value in HCL-like syntax for plan output. Sensitive parts print
/// as `(sensitive value)` and unknown parts as `(known after apply)`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Number(n) => f.write_str(&format_number(*n)),
            Value::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmark_reports_nested_sensitivity() {
        let v = Value::List(vec![Value::string("a"), Value::string("s").mark_sensitive()]);
        assert!(v.is_sensitive());
        let (plain, was) = v.unmark();
        assert!(was);
        assert!(!plain.is_sensitive());
        assert_eq!(plain, Value::List(vec![Value::string("a"), Value::string("s")]));
    }

    #[test]
    fn display_never_reveals_sensitive_values() {
        let v = Value::Map(BTreeMap::from([("k".to_string(), Value::string("canary").mark_sensitive())]));
        assert!(!v.to_string().contains("canary"));
    }

    #[test]
    fn redact_replaces_sensitive_strings_but_not_tiny_ones() {
        let values =
            [Value::string("hunter22").mark_sensitive(), Value::string("y").mark_sensitive(), Value::string("plain")];
        let text = redact("bad value hunter22 for key y near plain", values.iter());
        assert_eq!(text, "bad value (sensitive value) for key y near plain");
    }

    #[test]
    fn integers_print_without_fraction() {
        assert_eq!(format_number(5432.0), "5432");
        assert_eq!(format_number(1.5), "1.5");
    }

    #[test]
    fn unknown_is_not_known() {
        assert!(!Value::List(vec![Value::Unknown]).is_known());
        assert!(Value::Map(BTreeMap::new()).is_known());
    }
}
