//! `yamlencode` and `yamldecode`, as Terraform's YAML functions behave:
//! decoding resolves plain scalars with YAML 1.1's rules (`yes`, `on` and
//! `y` are booleans, `0x10` is 16, dates are timestamps), and encoding
//! writes block style with every string and key double-quoted, multi-line
//! strings as literal blocks, and `...` after a plain scalar document.
//!
//! Parsing uses yaml-rust2's event parser (maintained, pure Rust); serde_yaml
//! is unmaintained and resolves scalars by YAML 1.2, not Terraform's rules.

use std::collections::BTreeMap;

use yaml_rust2::parser::{Event, EventReceiver, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use super::{arg, str_arg, Cx, FnError, R};
use crate::value::Value;

pub(super) fn yamlencode(_: &mut Cx, a: Vec<Value>) -> R {
    let v = arg(&a, 0)?;
    let mut out = String::new();
    match v {
        Value::List(items) if !items.is_empty() => seq(items, 0, &mut out),
        Value::Map(map) if !map.is_empty() => mapping(map, 0, &mut out),
        Value::String(s) if s.contains('\n') => {
            literal(s, 0, &mut out);
        }
        other => {
            let s = inline(other);
            // go-yaml ends a document holding one plain scalar with `...`.
            let plain = !s.starts_with(['"', '[', '{']);
            out.push_str(&s);
            out.push('\n');
            if plain {
                out.push_str("...\n");
            }
        }
    }
    Ok(Value::String(out))
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A scalar or empty collection on one line.
fn inline(v: &Value) -> String {
    match v.peel() {
        Value::Null | Value::Unknown => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(*n),
        Value::String(s) => quoted(s),
        Value::List(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
        Value::Sensitive(_) => unreachable!("peeled"),
    }
}

/// Integers in full, as Terraform prints numbers (`1e20` is 100000000000000000000).
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{n:.0}")
    } else {
        crate::value::format_number(n)
    }
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A multi-line string as a literal block; the chomping indicator keeps
/// exactly the string's trailing newlines.
fn literal(s: &str, indent: usize, out: &mut String) {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent + 2);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
}

fn is_block(v: &Value) -> bool {
    match v.peel() {
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
        _ => false,
    }
}

/// A sequence whose first item starts at the current position, the others
/// at `indent`.
fn seq(items: &[Value], indent: usize, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str("- ");
        value_after(item, indent + 2, out);
    }
}

fn mapping(map: &BTreeMap<String, Value>, indent: usize, out: &mut String) {
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            pad(out, indent);
        }
        out.push_str(&quoted(k));
        out.push(':');
        match v.peel() {
            // A sequence under a key is not indented further.
            Value::List(items) if !items.is_empty() => {
                out.push('\n');
                pad(out, indent);
                seq(items, indent, out);
            }
            Value::Map(m) if !m.is_empty() => {
                out.push('\n');
                pad(out, indent + 2);
                mapping(m, indent + 2, out);
            }
            _ => {
                out.push(' ');
                value_after(v, indent, out);
            }
        }
    }
}

/// A value right after `- ` or `key: `.
fn value_after(v: &Value, indent: usize, out: &mut String) {
    match v.peel() {
        Value::List(items) if is_block(v) => seq(items, indent, out),
        Value::Map(m) if is_block(v) => mapping(m, indent, out),
        Value::String(s) if s.contains('\n') => literal(s, indent.saturating_sub(2), out),
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

pub(super) fn yamldecode(cx: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(&s);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(FnError::call(if cx.sensitive {
            "the string is not valid YAML".into()
        } else {
            format!("the string is not valid YAML: {e}")
        }));
    }
    if let Some(e) = builder.error {
        return Err(FnError::call(e));
    }
    match builder.documents.len() {
        0 => Err(FnError::call("the string holds no YAML document")),
        1 => Ok(builder.documents.pop().unwrap_or_default()),
        _ => Err(FnError::call("the string holds more than one YAML document")),
    }
}

/// Builds values from parser events.
#[derive(Default)]
struct Builder {
    documents: Vec<Value>,
    /// Open collections: a list, or a map with the key awaiting its value.
    stack: Vec<(Value, Option<String>, usize)>,
    anchors: BTreeMap<usize, Value>,
    error: Option<String>,
}

impl Builder {
    fn push(&mut self, v: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, v.clone());
        }
        self.add(v);
    }

    fn add(&mut self, v: Value) {
        match self.stack.last_mut() {
            None => self.documents.push(v),
            Some((Value::List(items), _, _)) => items.push(v),
            Some((Value::Map(map), key, _)) => match key.take() {
                Some(k) => {
                    map.insert(k, v);
                }
                None => match v {
                    Value::String(k) => *key = Some(k),
                    Value::Number(n) => *key = Some(crate::value::format_number(n)),
                    Value::Bool(b) => *key = Some(b.to_string()),
                    Value::Null => *key = Some("null".into()),
                    _ => {
                        self.error.get_or_insert_with(|| "a mapping key must be a scalar".into());
                    }
                },
            },
            Some(_) => {}
        }
    }

    fn close(&mut self) {
        if let Some((v, _, anchor)) = self.stack.pop() {
            self.push(v, anchor);
        }
    }
}

impl EventReceiver for Builder {
    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Scalar(text, style, anchor, tag) => match scalar(&text, style, tag.as_ref()) {
                Ok(v) => self.push(v, anchor),
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            },
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().unwrap_or_default();
                self.add(v);
            }
            Event::SequenceStart(anchor, _) => self.stack.push((Value::List(Vec::new()), None, anchor)),
            Event::MappingStart(anchor, _) => self.stack.push((Value::Map(BTreeMap::new()), None, anchor)),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            _ => {}
        }
    }
}

/// Resolves a scalar as YAML 1.1 does, the way Terraform decodes it.
fn scalar(text: &str, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    if let Some(tag) = tag {
        return match tag.suffix.as_str() {
            "str" => Ok(Value::string(text)),
            "int" | "float" => resolve_plain(text)
                .filter(|v| matches!(v, Value::Number(_)))
                .ok_or(format!("cannot decode {text:?} as a number")),
            "bool" => resolve_plain(text)
                .filter(|v| matches!(v, Value::Bool(_)))
                .ok_or(format!("cannot decode {text:?} as a bool")),
            "null" => Ok(Value::Null),
            other => Err(format!("unsupported YAML tag !!{other}")),
        };
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::string(text));
    }
    if matches!(text, ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | "+.Inf" | "-.Inf" | ".nan" | ".NaN" | ".NAN") {
        return Err(format!("cannot decode {text:?}: infinity and NaN are not numbers Terraform can hold"));
    }
    Ok(resolve_plain(text).unwrap_or_else(|| Value::string(text)))
}

fn resolve_plain(text: &str) -> Option<Value> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Some(Value::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(Value::Bool(true))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(Value::Bool(false))
        }
        _ => {}
    }
    let (negative, digits) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let radix =
        |s: &str, r: u32| i128::from_str_radix(s, r).ok().filter(|_| !s.is_empty() && !s.starts_with(['+', '-']));
    let int = if let Some(h) = digits.strip_prefix("0x") {
        radix(h, 16)
    } else if let Some(o) = digits.strip_prefix("0o") {
        radix(o, 8)
    } else if let Some(b) = digits.strip_prefix("0b") {
        radix(b, 2)
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        radix(digits, 10)
    } else {
        None
    };
    if let Some(i) = int {
        let n = i as f64;
        return Some(Value::Number(if negative { -n } else { n }));
    }
    if let Some(n) = crate::eval::convert::parse_number(text) {
        return Some(Value::Number(n));
    }
    timestamp(text).map(Value::String)
}

/// A YAML date (`2001-12-14`) or date-time, as the RFC 3339 string Terraform gives.
fn timestamp(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let is_date = b.len() == 10 && b[4] == b'-' && b[7] == b'-' && text.bytes().filter(u8::is_ascii_digit).count() == 8;
    if is_date {
        return Some(format!("{text}T00:00:00Z"));
    }
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}
