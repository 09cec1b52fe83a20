//! `format` and `formatlist`: Go's fmt verbs as Terraform supports them.

use super::encoding::json_string;
use super::strings::MAX_PAD;
use super::{str_arg, Cx, FnError, R};
use crate::eval::convert::parse_number;
use crate::eval::convert::to_bool;
use crate::eval::convert::to_number;
use crate::eval::convert::to_string;
use crate::value::Value;
use unicode_segmentation::UnicodeSegmentation;

pub(super) fn format(_: &mut Cx, a: Vec<Value>) -> R {
    let spec = str_arg(&a, 0)?;
    format_values(&spec, &a[1..]).map(Value::String)
}

pub(super) fn formatlist(_: &mut Cx, a: Vec<Value>) -> R {
    let spec = str_arg(&a, 0)?;
    let mut len: Option<usize> = None;
    for (i, v) in a.iter().enumerate().skip(1) {
        if let Value::List(items) = v {
            match len {
                Some(n) if n != items.len() => {
                    return Err(FnError::arg(
                        i,
                        format!(
                            "this list has {} elements, which is inconsistent with the {n} of an earlier list",
                            items.len()
                        ),
                    ))
                }
                _ => len = Some(items.len()),
            }
        }
    }
    let mut out = Vec::new();
    for row in 0..len.unwrap_or(1) {
        let values: Vec<Value> = a[1..]
            .iter()
            .map(|v| match v {
                Value::List(items) => items.get(row).cloned().unwrap_or_default(),
                other => other.clone(),
            })
            .collect();
        out.push(Value::String(format_values(&spec, &values)?));
    }
    Ok(Value::List(out))
}

/// Go's fmt verbs as Terraform's `format` supports them: flags `-+ 0#`,
/// width, precision, explicit argument indexes `%[n]`, and the verbs
/// `%s %v %q %d %f %e %t %x %X %o %b %%`.
fn format_values(spec: &str, args: &[Value]) -> Result<String, FnError> {
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    let mut next_arg = 0usize;
    let mut used = 0usize;
    let mut verb_count = 0usize;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        verb_count += 1;
        let mut flags = Flags::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => flags.left = true,
                '+' => flags.plus = true,
                ' ' => flags.space = true,
                '0' => flags.zero = true,
                '#' => flags.alt = true,
                _ => break,
            }
            chars.next();
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            let n = read_int(&mut chars);
            if chars.next() != Some(']') || n == Some(0) || n.is_none() {
                return Err(FnError::arg(0, format!("invalid argument index in verb {verb_count}")));
            }
            next_arg = n.unwrap_or(1) - 1;
        }
        let width = read_int(&mut chars);
        let precision = if chars.peek() == Some(&'.') {
            chars.next();
            Some(read_int(&mut chars).unwrap_or(0))
        } else {
            None
        };
        if width.is_some_and(|w| w > MAX_PAD as usize) || precision.is_some_and(|p| p > MAX_PAD as usize) {
            return Err(FnError::arg(0, format!("width or precision of verb {verb_count} is larger than {MAX_PAD}")));
        }
        let Some(verb) = chars.next() else {
            return Err(FnError::arg(0, "the format string ends with an incomplete verb (a lone %)"));
        };
        let Some(value) = args.get(next_arg) else {
            return Err(FnError::call(format!(
                "not enough arguments for \"%{verb}\" at {verb_count}: need argument {} but have {} in total",
                next_arg + 1,
                args.len()
            )));
        };
        let at = |m: &str| FnError::arg(next_arg + 1, format!("unsupported value for \"%{verb}\": {m}"));
        if value.is_null() {
            return Err(at("a null value cannot be formatted"));
        }
        let (sign, body, numeric) = match verb {
            's' => {
                let s = to_string(value).map_err(|m| at(&m))?;
                let s = match precision {
                    Some(p) => s.graphemes(true).take(p).collect(),
                    None => s,
                };
                (String::new(), s, false)
            }
            'v' => match value {
                Value::List(_) | Value::Map(_) => (String::new(), json_string(value), false),
                other => (String::new(), to_string(other).map_err(|m| at(&m))?, false),
            },
            'q' => {
                let s = to_string(value).map_err(|m| at(&m))?;
                (String::new(), serde_json::Value::String(s).to_string(), false)
            }
            't' => (String::new(), to_bool(value).map_err(|m| at(&m))?.to_string(), false),
            'd' | 'x' | 'X' | 'o' | 'b' => {
                if verb == 'x' || verb == 'X' {
                    if let Value::String(s) = value {
                        if parse_number(s).is_none() {
                            let hex: String = s.bytes().map(|b| format!("{b:02x}")).collect();
                            let hex = if verb == 'X' { hex.to_uppercase() } else { hex };
                            out.push_str(&pad(String::new(), hex, width, &flags, false));
                            next_arg += 1;
                            used = used.max(next_arg);
                            continue;
                        }
                    }
                }
                let n = to_number(value).map_err(|m| at(&m))?;
                if n.fract() != 0.0 || n.abs() > 9.007_199_254_740_992e15 {
                    return Err(at("an integer is required"));
                }
                let i = n as i64;
                let digits = match verb {
                    'd' => i.unsigned_abs().to_string(),
                    'x' => format!("{:x}", i.unsigned_abs()),
                    'X' => format!("{:X}", i.unsigned_abs()),
                    'o' => format!("{:o}", i.unsigned_abs()),
                    _ => format!("{:b}", i.unsigned_abs()),
                };
                let prefix = match (flags.alt, verb) {
                    (true, 'x') => "0x",
                    (true, 'X') => "0X",
                    (true, 'o') => "0",
                    (true, 'b') => "0b",
                    _ => "",
                };
                (sign_of(i < 0, &flags), format!("{prefix}{digits}"), true)
            }
            'f' | 'F' | 'e' | 'E' => {
                let n = to_number(value).map_err(|m| at(&m))?;
                let p = precision.unwrap_or(6);
                let body = if verb == 'f' || verb == 'F' {
                    format!("{:.*}", p, n.abs())
                } else {
                    go_exponent(n.abs(), p, verb == 'E')
                };
                (sign_of(n.is_sign_negative() && n != 0.0, &flags), body, true)
            }
            other => {
                return Err(FnError::arg(
                    0,
                    format!("unsupported verb \"%{other}\"; supported are %s %v %q %d %f %e %t %x %X %o %b and %%"),
                ))
            }
        };
        out.push_str(&pad(sign, body, width, &flags, numeric));
        next_arg += 1;
        used = used.max(next_arg);
    }
    if used < args.len() {
        return Err(FnError::call(format!(
            "too many arguments; the format string uses {used} but {} were given",
            args.len()
        )));
    }
    Ok(out)
}

#[derive(Default)]
struct Flags {
    left: bool,
    plus: bool,
    space: bool,
    zero: bool,
    alt: bool,
}

fn read_int(chars: &mut std::iter::Peekable<std::str::Chars>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        chars.next();
        // Saturating: an absurd width is rejected by the caller's bound.
        n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(d as usize));
    }
    n
}

fn sign_of(negative: bool, flags: &Flags) -> String {
    if negative {
        "-".into()
    } else if flags.plus {
        "+".into()
    } else if flags.space {
        " ".into()
    } else {
        String::new()
    }
}

fn pad(sign: String, body: String, width: Option<usize>, flags: &Flags, numeric: bool) -> String {
    let len = sign.graphemes(true).count() + body.graphemes(true).count();
    let fill = width.unwrap_or(0).saturating_sub(len);
    if fill == 0 {
        format!("{sign}{body}")
    } else if flags.left {
        format!("{sign}{body}{}", " ".repeat(fill))
    } else if flags.zero && numeric {
        format!("{sign}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{sign}{body}", " ".repeat(fill))
    }
}

/// `%e` as Go prints it: `1.500000e+03`, with a signed two-digit exponent.
fn go_exponent(n: f64, precision: usize, upper: bool) -> String {
    let s = format!("{:.*e}", precision, n);
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let e = if upper { 'E' } else { 'e' };
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}{e}{sign}{:02}", exp.unsigned_abs())
}
