//! String functions: case, trimming, substrings, splitting, regexes.

use super::{int_arg, list_arg, str_arg, Cx, FnError, R};
use crate::eval::convert::to_string;
use crate::value::Value;
use unicode_segmentation::UnicodeSegmentation;

/// Go's simple case mapping, which Terraform uses: one character maps to
/// one character, so `upper("straße")` keeps its ß (Rust's full mapping
/// would give "STRASSE"). The only character whose lowercase is longer is
/// İ, whose simple lowercase is a plain i.
pub(super) fn upper_char(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

pub(super) fn lower(_: &mut Cx, a: Vec<Value>) -> R {
    // Per character, so a final sigma stays σ as in Terraform.
    Ok(Value::String(str_arg(&a, 0)?.chars().map(lower_char).collect()))
}

pub(super) fn upper(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.chars().map(upper_char).collect()))
}

/// Go's `strings.Title`: a letter after a separator is upper-cased, where
/// separators are ASCII characters other than letters, digits and `_`, and
/// white space.
pub(super) fn title(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let mut out = String::with_capacity(s.len());
    let mut after_separator = true;
    for c in s.chars() {
        out.push(if after_separator { upper_char(c) } else { c });
        after_separator = if c.is_ascii() { !(c.is_ascii_alphanumeric() || c == '_') } else { c.is_whitespace() };
    }
    Ok(Value::String(out))
}

pub(super) fn strrev(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.graphemes(true).rev().collect()))
}

pub(super) fn strcontains(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Bool(str_arg(&a, 0)?.contains(&str_arg(&a, 1)?)))
}

pub(super) fn trimspace(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.trim().to_string()))
}

pub(super) fn chomp(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.trim_end_matches(['\r', '\n']).to_string()))
}

pub(super) fn trim(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let cut: Vec<char> = str_arg(&a, 1)?.chars().collect();
    Ok(Value::String(s.trim_matches(|c| cut.contains(&c)).to_string()))
}

pub(super) fn trimprefix(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let p = str_arg(&a, 1)?;
    Ok(Value::String(s.strip_prefix(p.as_str()).unwrap_or(&s).to_string()))
}

pub(super) fn trimsuffix(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let p = str_arg(&a, 1)?;
    Ok(Value::String(s.strip_suffix(p.as_str()).unwrap_or(&s).to_string()))
}

pub(super) fn startswith(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Bool(str_arg(&a, 0)?.starts_with(&str_arg(&a, 1)?)))
}

pub(super) fn endswith(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Bool(str_arg(&a, 0)?.ends_with(&str_arg(&a, 1)?)))
}

pub(super) fn substr(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    // Offsets and lengths count user-perceived characters (grapheme clusters).
    let chars: Vec<&str> = s.graphemes(true).collect();
    let len = chars.len() as i64;
    let mut offset = int_arg(&a, 1)?;
    let length = int_arg(&a, 2)?;
    if offset < 0 {
        offset = (len + offset).max(0);
    }
    if offset >= len {
        return Ok(Value::String(String::new()));
    }
    // A negative length means the rest of the string.
    let end = if length < 0 { len } else { offset.saturating_add(length).min(len) };
    Ok(Value::String(chars[offset as usize..end as usize].concat()))
}

/// Bound on `indent`'s and `format`'s padding, which multiply output size.
pub(super) const MAX_PAD: i64 = 1024;

pub(super) fn indent(_: &mut Cx, a: Vec<Value>) -> R {
    let n = int_arg(&a, 0)?;
    if !(0..=MAX_PAD).contains(&n) {
        return Err(FnError::arg(0, format!("the number of spaces must be between 0 and {MAX_PAD}")));
    }
    let pad = " ".repeat(n as usize);
    let s = str_arg(&a, 1)?;
    Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
}

pub(super) fn split(_: &mut Cx, a: Vec<Value>) -> R {
    let sep = str_arg(&a, 0)?;
    let s = str_arg(&a, 1)?;
    // Go's strings.Split, which Terraform uses: an empty separator splits
    // into characters, and an empty string gives one empty element.
    let parts: Vec<Value> = if sep.is_empty() {
        s.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        s.split(sep.as_str()).map(Value::string).collect()
    };
    Ok(Value::List(parts))
}

pub(super) fn join(_: &mut Cx, a: Vec<Value>) -> R {
    let sep = str_arg(&a, 0)?;
    let mut parts = Vec::new();
    for i in 1..a.len() {
        for (n, v) in list_arg(&a, i)?.iter().enumerate() {
            if v.is_null() {
                return Err(FnError::arg(i, format!("element {n} is null")));
            }
            parts.push(to_string(v).map_err(|m| FnError::arg(i, format!("element {n}: {m}")))?);
        }
    }
    Ok(Value::String(parts.join(&sep)))
}

pub(super) fn replace(cx: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let pattern = str_arg(&a, 1)?;
    let replacement = str_arg(&a, 2)?;
    match pattern.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
        Some(re) if pattern.len() >= 2 => {
            let re = compile_regex(cx, re, 1)?;
            Ok(Value::String(re.replace_all(&s, replacement.as_str()).into_owned()))
        }
        _ => Ok(Value::String(s.replace(&pattern, &replacement))),
    }
}

fn compile_regex(cx: &Cx, pattern: &str, i: usize) -> Result<regex::Regex, FnError> {
    regex::RegexBuilder::new(pattern).size_limit(1 << 20).build().map_err(|e| {
        if cx.sensitive {
            FnError::arg(i, "invalid regular expression")
        } else {
            FnError::arg(i, format!("invalid regular expression: {e}"))
        }
    })
}

/// One match as Terraform's `regex` returns it: the whole match when the
/// pattern has no groups, a map for named groups, a list for unnamed ones.
fn regex_match(re: &regex::Regex, caps: &regex::Captures) -> Result<Value, FnError> {
    let group = |i: usize| caps.get(i).map_or(Value::Null, |m| Value::string(m.as_str()));
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    if names.is_empty() {
        return Ok(group(0));
    }
    let named = names.iter().filter(|n| n.is_some()).count();
    if named == 0 {
        return Ok(Value::List((1..=names.len()).map(group).collect()));
    }
    if named != names.len() {
        return Err(FnError::arg(0, "the pattern must use either only named or only unnamed capture groups"));
    }
    Ok(Value::Map(names.iter().enumerate().filter_map(|(i, n)| n.map(|n| (n.to_string(), group(i + 1)))).collect()))
}

pub(super) fn regex(cx: &mut Cx, a: Vec<Value>) -> R {
    let re = compile_regex(cx, &str_arg(&a, 0)?, 0)?;
    let s = str_arg(&a, 1)?;
    match re.captures(&s) {
        Some(caps) => regex_match(&re, &caps),
        None => Err(FnError::call("the pattern did not match any part of the given string")),
    }
}

pub(super) fn regexall(cx: &mut Cx, a: Vec<Value>) -> R {
    let re = compile_regex(cx, &str_arg(&a, 0)?, 0)?;
    let s = str_arg(&a, 1)?;
    let matches = re.captures_iter(&s).map(|caps| regex_match(&re, &caps)).collect::<Result<_, _>>()?;
    Ok(Value::List(matches))
}
