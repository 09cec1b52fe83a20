//! JSON text exactly as Go's `encoding/json` writes it, because the Terraform
//! AWS provider computes policy documents with it and a role created by
//! Terraform must compare byte for byte: object keys in the order given
//! (struct fields) or sorted (Go maps), `<`, `>`, `&`, U+2028 and U+2029
//! escaped, and `MarshalIndent`'s layout.

use std::fmt::Write;

/// A JSON value whose object keys keep the order they were built in.
#[derive(Clone, Debug, PartialEq)]
pub enum GoJson {
    Null,
    Bool(bool),
    /// A number as it is to be written.
    Number(String),
    Str(String),
    List(Vec<GoJson>),
    Object(Vec<(String, GoJson)>),
}

impl GoJson {
    pub fn str(s: impl Into<String>) -> GoJson {
        GoJson::Str(s.into())
    }

    /// Converts a decoded document the way Go re-encodes an `any`: maps with
    /// sorted keys.
    pub fn from_any(value: &serde_json::Value) -> GoJson {
        match value {
            serde_json::Value::Null => GoJson::Null,
            serde_json::Value::Bool(b) => GoJson::Bool(*b),
            serde_json::Value::Number(n) => GoJson::Number(n.to_string()),
            serde_json::Value::String(s) => GoJson::Str(s.clone()),
            serde_json::Value::Array(items) => GoJson::List(items.iter().map(GoJson::from_any).collect()),
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().map(|(k, v)| (k.clone(), GoJson::from_any(v))).collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                GoJson::Object(entries)
            }
        }
    }

    /// `json.Marshal`.
    pub fn compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None);
        out
    }

    /// `json.MarshalIndent(v, "", "  ")`.
    pub fn indented(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(0));
        out
    }

    fn write(&self, out: &mut String, depth: Option<usize>) {
        match self {
            GoJson::Null => out.push_str("null"),
            GoJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            GoJson::Number(n) => out.push_str(n),
            GoJson::Str(s) => write_string(out, s),
            GoJson::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth.map(|d| d + 1));
                    item.write(out, depth.map(|d| d + 1));
                }
                if !items.is_empty() {
                    newline(out, depth);
                }
                out.push(']');
            }
            GoJson::Object(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, depth.map(|d| d + 1));
                    write_string(out, key);
                    out.push(':');
                    if depth.is_some() {
                        out.push(' ');
                    }
                    value.write(out, depth.map(|d| d + 1));
                }
                if !entries.is_empty() {
                    newline(out, depth);
                }
                out.push('}');
            }
        }
    }
}

fn newline(out: &mut String, depth: Option<usize>) {
    if let Some(depth) = depth {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

/// Go's string encoding with HTML escaping on (the default of `json.Marshal`).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let s = GoJson::str("a<b>&\"\\\n\t\u{1}\u{2028}é");
        assert_eq!(s.compact(), r#""a\u003cb\u003e\u0026\"\\\n\t\u0001\u2028é""#);
    }

    #[test]
    fn indents_like_marshal_indent() {
        let doc = GoJson::Object(vec![
            ("A".into(), GoJson::List(vec![GoJson::str("x"), GoJson::str("y")])),
            ("B".into(), GoJson::List(vec![])),
            ("C".into(), GoJson::Object(vec![])),
        ]);
        assert_eq!(doc.indented(), "{\n  \"A\": [\n    \"x\",\n    \"y\"\n  ],\n  \"B\": [],\n  \"C\": {}\n}");
        assert_eq!(doc.compact(), r#"{"A":["x","y"],"B":[],"C":{}}"#);
    }

    #[test]
    fn maps_from_documents_are_sorted() {
        let v: serde_json::Value = serde_json::from_str(r#"{"b":1,"a":[true,null]}"#).unwrap();
        assert_eq!(GoJson::from_any(&v).compact(), r#"{"a":[true,null],"b":1}"#);
    }
}
