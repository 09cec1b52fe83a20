//! Terraform's built-in functions, the subset stacks use.
//!
//! Most functions are *plain*: they see their arguments unmarked and wholly
//! known; the caller returns unknown when any argument is not wholly known
//! and marks the result sensitive when any argument was. Functions that pass
//! elements through (`lookup`, `merge`, `length`, ...) are *raw*: they see
//! the marks and keep a secret inside a map from making the whole map
//! secret, as Terraform does. `try` and `can` are *lazy*: they get the
//! argument expressions themselves.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use hcl_edit::expr::FuncCall;
use hcl_edit::Span;
use sha2::{Digest, Sha256};

use super::convert::{
    a_type, equal, parse_number, split_mark, split_mark_keeping_keys, to_bool, to_integer, to_number, to_string,
    MAX_VALUE_DEPTH,
};
use super::expr::{error, Evaluator, SpanRange};
use super::EvalError;
use crate::value::Value;

/// Why a function call failed: `arg` is the argument at fault, if one is.
#[derive(Debug)]
pub(crate) struct FnError {
    arg: Option<usize>,
    message: String,
}

impl FnError {
    fn arg(i: usize, message: impl Into<String>) -> Self {
        FnError { arg: Some(i), message: message.into() }
    }

    fn call(message: impl Into<String>) -> Self {
        FnError { arg: None, message: message.into() }
    }
}

type R = Result<Value, FnError>;

/// What a function sees besides its arguments.
pub(crate) struct Cx<'a, 's> {
    ev: &'a mut Evaluator<'s>,
    /// An argument was sensitive: messages must not quote argument text.
    sensitive: bool,
}

impl Cx<'_, '_> {
    fn quote(&self, s: &str) -> String {
        if self.sensitive {
            "(sensitive value)".to_string()
        } else {
            format!("\"{s}\"")
        }
    }
}

type Impl = fn(&mut Cx<'_, '_>, Vec<Value>) -> R;
type LazyImpl = fn(&mut Evaluator<'_>, &FuncCall) -> Result<Value, EvalError>;

#[derive(Clone, Copy)]
enum Kind {
    Plain(Impl),
    Raw(Impl),
    Lazy(LazyImpl),
}

struct Func {
    name: &'static str,
    /// Shown in errors, in the words of Terraform's documentation.
    usage: &'static str,
    min: usize,
    max: Option<usize>,
    kind: Kind,
}

const fn plain(name: &'static str, usage: &'static str, min: usize, max: Option<usize>, f: Impl) -> Func {
    Func { name, usage, min, max, kind: Kind::Plain(f) }
}

const fn raw(name: &'static str, usage: &'static str, min: usize, max: Option<usize>, f: Impl) -> Func {
    Func { name, usage, min, max, kind: Kind::Raw(f) }
}

const ONE: Option<usize> = Some(1);
const TWO: Option<usize> = Some(2);
const THREE: Option<usize> = Some(3);
const ANY: Option<usize> = None;

/// Sorted by name, so the list in "unknown function" errors reads well.
static FUNCTIONS: &[Func] = &[
    plain("abs", "abs(number)", 1, ONE, abs),
    plain("alltrue", "alltrue(list)", 1, ONE, alltrue),
    plain("anytrue", "anytrue(list)", 1, ONE, anytrue),
    plain("base64decode", "base64decode(string)", 1, ONE, base64decode),
    plain("base64encode", "base64encode(string)", 1, ONE, base64encode),
    plain("base64sha256", "base64sha256(string)", 1, ONE, base64sha256),
    Func { name: "can", usage: "can(expression)", min: 1, max: ONE, kind: Kind::Lazy(can) },
    plain("ceil", "ceil(number)", 1, ONE, ceil),
    plain("chomp", "chomp(string)", 1, ONE, chomp),
    raw("coalesce", "coalesce(values...)", 1, ANY, coalesce),
    raw("coalescelist", "coalescelist(lists...)", 1, ANY, coalescelist),
    plain("compact", "compact(list)", 1, ONE, compact),
    raw("concat", "concat(lists...)", 1, ANY, concat),
    plain("contains", "contains(list, value)", 2, TWO, contains),
    plain("distinct", "distinct(list)", 1, ONE, distinct),
    raw("element", "element(list, index)", 2, TWO, element),
    plain("endswith", "endswith(string, suffix)", 2, TWO, endswith),
    plain("file", "file(path)", 1, ONE, file),
    plain("filebase64", "filebase64(path)", 1, ONE, filebase64),
    plain("fileexists", "fileexists(path)", 1, ONE, fileexists),
    raw("flatten", "flatten(list)", 1, ONE, flatten),
    plain("floor", "floor(number)", 1, ONE, floor),
    plain("format", "format(spec, values...)", 1, ANY, format),
    plain("formatlist", "formatlist(spec, values...)", 1, ANY, formatlist),
    plain("indent", "indent(spaces, string)", 2, TWO, indent),
    plain("index", "index(list, value)", 2, TWO, index),
    plain("join", "join(separator, lists...)", 2, ANY, join),
    plain("jsondecode", "jsondecode(string)", 1, ONE, jsondecode),
    plain("jsonencode", "jsonencode(value)", 1, ONE, jsonencode),
    raw("keys", "keys(map)", 1, ONE, keys),
    raw("length", "length(value)", 1, ONE, length),
    raw("lookup", "lookup(map, key, default)", 2, THREE, lookup),
    plain("lower", "lower(string)", 1, ONE, lower),
    plain("max", "max(numbers...)", 1, ANY, max),
    raw("merge", "merge(maps...)", 0, ANY, merge),
    plain("min", "min(numbers...)", 1, ANY, min),
    raw("nonsensitive", "nonsensitive(value)", 1, ONE, nonsensitive),
    raw("one", "one(list)", 1, ONE, one),
    plain("pow", "pow(base, exponent)", 2, TWO, pow),
    plain("range", "range(start, limit, step)", 1, THREE, range),
    plain("regex", "regex(pattern, string)", 2, TWO, regex),
    plain("regexall", "regexall(pattern, string)", 2, TWO, regexall),
    plain("replace", "replace(string, substring, replacement)", 3, THREE, replace),
    raw("reverse", "reverse(list)", 1, ONE, reverse),
    raw("sensitive", "sensitive(value)", 1, ONE, sensitive),
    plain("sha256", "sha256(string)", 1, ONE, sha256),
    plain("signum", "signum(number)", 1, ONE, signum),
    raw("slice", "slice(list, start, end)", 3, THREE, slice),
    plain("sort", "sort(list)", 1, ONE, sort),
    plain("split", "split(separator, string)", 2, TWO, split),
    plain("startswith", "startswith(string, prefix)", 2, TWO, startswith),
    plain("strrev", "strrev(string)", 1, ONE, strrev),
    plain("substr", "substr(string, offset, length)", 3, THREE, substr),
    plain("sum", "sum(list)", 1, ONE, sum),
    raw("templatefile", "templatefile(path, vars)", 2, TWO, templatefile),
    plain("title", "title(string)", 1, ONE, title),
    plain("tobool", "tobool(value)", 1, ONE, tobool),
    raw("tolist", "tolist(value)", 1, ONE, tolist),
    raw("tomap", "tomap(value)", 1, ONE, tomap),
    plain("tonumber", "tonumber(value)", 1, ONE, tonumber),
    plain("toset", "toset(value)", 1, ONE, toset),
    plain("tostring", "tostring(value)", 1, ONE, tostring),
    plain("trim", "trim(string, characters)", 2, TWO, trim),
    plain("trimprefix", "trimprefix(string, prefix)", 2, TWO, trimprefix),
    plain("trimspace", "trimspace(string)", 1, ONE, trimspace),
    plain("trimsuffix", "trimsuffix(string, suffix)", 2, TWO, trimsuffix),
    Func { name: "try", usage: "try(expressions...)", min: 1, max: ANY, kind: Kind::Lazy(try_) },
    plain("upper", "upper(string)", 1, ONE, upper),
    raw("values", "values(map)", 1, ONE, values),
    raw("zipmap", "zipmap(keys, values)", 2, TWO, zipmap),
];

/// Names of every supported function, sorted.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    FUNCTIONS.iter().map(|f| f.name)
}

pub(crate) fn is_function(name: &str) -> bool {
    FUNCTIONS.iter().any(|f| f.name == name)
}

fn lookup_function(name: &str) -> Option<&'static Func> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

pub(crate) fn unknown_function_error(name: &str, span: SpanRange) -> EvalError {
    let names: Vec<&str> = function_names().collect();
    error(format!("Call to unknown function \"{name}\"; supported functions are: {}", names.join(", ")), span)
}

/// The parameter name for argument `i`, read from the usage text.
fn param_name(usage: &str, i: usize) -> &str {
    let inner = usage.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')')).unwrap_or("");
    let params: Vec<&str> = inner.split(", ").filter(|p| !p.is_empty()).collect();
    let p = match params.get(i) {
        Some(p) => p,
        None => match params.last() {
            Some(last) if last.ends_with("...") => last,
            _ => "argument",
        },
    };
    p.trim_end_matches("...")
}

fn arity_error(func: &Func, given: usize, span: SpanRange) -> EvalError {
    let expected = match func.max {
        Some(max) if max == func.min => format!("{max}"),
        Some(max) => format!("{} to {max}", func.min),
        None => format!("at least {}", func.min),
    };
    let plural = if expected == "1" { "" } else { "s" };
    let title = if given < func.min { "Not enough function arguments" } else { "Too many function arguments" };
    error(
        format!(
            "{title}: function \"{}\" expects {expected} argument{plural}, got {given}; usage: {}",
            func.name, func.usage
        ),
        span,
    )
}

impl Evaluator<'_> {
    pub(crate) fn eval_call(&mut self, call: &FuncCall) -> Result<Value, EvalError> {
        let span = call.span();
        let name = call.name.name.value().as_str();
        let func = match lookup_function(name) {
            Some(f) if !call.name.is_namespaced() => f,
            _ => {
                let full: Vec<&str> =
                    call.name.namespace.iter().map(|n| n.value().as_str()).chain(std::iter::once(name)).collect();
                return Err(unknown_function_error(&full.join("::"), span));
            }
        };
        let impl_ = match func.kind {
            Kind::Lazy(f) => {
                if call.args.expand_final() {
                    return Err(error(
                        format!("Invalid expanding argument: \"{name}\" does not accept an expanded (...) argument"),
                        span,
                    ));
                }
                if call.args.len() < func.min || func.max.is_some_and(|m| call.args.len() > m) {
                    return Err(arity_error(func, call.args.len(), span));
                }
                return f(self, call);
            }
            Kind::Plain(f) | Kind::Raw(f) => f,
        };
        let mut args = Vec::with_capacity(call.args.len());
        let mut spans = Vec::with_capacity(call.args.len());
        let last = call.args.len().saturating_sub(1);
        for (i, arg) in call.args.iter().enumerate() {
            let value = self.eval(arg)?;
            if i == last && call.args.expand_final() {
                let (value, marked) = split_mark(value);
                match value {
                    // How many arguments there will be is itself unknown.
                    Value::Unknown => return Ok(Value::Unknown.marked_if(marked)),
                    Value::List(items) => {
                        for item in items {
                            args.push(item.marked_if(marked));
                            spans.push(arg.span());
                        }
                    }
                    other => {
                        return Err(error(
                            format!("Invalid expanding argument value: the expanding argument (indicated by ...) must be a list, not {}", a_type(&other)),
                            arg.span(),
                        ))
                    }
                }
            } else {
                args.push(value);
                spans.push(arg.span());
            }
        }
        if args.len() < func.min || func.max.is_some_and(|m| args.len() > m) {
            return Err(arity_error(func, args.len(), span));
        }
        let sensitive = args.iter().any(Value::is_sensitive);
        let result = match func.kind {
            Kind::Plain(_) => {
                if args.iter().any(|a| !a.is_known()) {
                    return Ok(Value::Unknown.marked_if(sensitive));
                }
                let args = args.into_iter().map(|a| a.unmark().0).collect();
                impl_(&mut Cx { ev: self, sensitive }, args).map(|v| v.marked_if(sensitive))
            }
            _ => impl_(&mut Cx { ev: self, sensitive }, args),
        };
        result.map_err(|e| match e.arg {
            Some(i) => error(
                format!(
                    "Invalid function argument: invalid value for \"{}\" parameter of {}: {}; usage: {}",
                    param_name(func.usage, i),
                    func.name,
                    e.message,
                    func.usage
                ),
                spans.get(i).cloned().flatten().or(span),
            ),
            None => {
                error(format!("Error in function call: call to function \"{}\" failed: {}", func.name, e.message), span)
            }
        })
    }
}

// ---- argument helpers (plain functions: values are unmarked and known) ----

fn arg(args: &[Value], i: usize) -> Result<&Value, FnError> {
    args.get(i).ok_or_else(|| FnError::arg(i, "missing argument"))
}

fn str_arg(args: &[Value], i: usize) -> Result<String, FnError> {
    to_string(arg(args, i)?).map_err(|m| FnError::arg(i, m))
}

fn num_arg(args: &[Value], i: usize) -> Result<f64, FnError> {
    to_number(arg(args, i)?).map_err(|m| FnError::arg(i, m))
}

fn int_arg(args: &[Value], i: usize) -> Result<i64, FnError> {
    to_integer(arg(args, i)?).map_err(|m| FnError::arg(i, m))
}

fn list_arg(args: &[Value], i: usize) -> Result<&Vec<Value>, FnError> {
    match arg(args, i)?.peel() {
        Value::List(items) => Ok(items),
        Value::Null => Err(FnError::arg(i, "a list is required, but the value is null")),
        other => Err(FnError::arg(i, format!("a list is required, but the value is {}", a_type(other)))),
    }
}

fn string_list(args: &[Value], i: usize) -> Result<Vec<String>, FnError> {
    list_arg(args, i)?
        .iter()
        .enumerate()
        .map(|(n, v)| to_string(v).map_err(|m| FnError::arg(i, format!("element {n}: {m}"))))
        .collect()
}

fn finite(n: f64) -> R {
    if n.is_finite() {
        Ok(Value::Number(n))
    } else {
        Err(FnError::call("the result is not a finite number"))
    }
}

fn first(args: Vec<Value>) -> Value {
    args.into_iter().next().unwrap_or_default()
}

// ---- numbers ----

fn abs(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Number(num_arg(&a, 0)?.abs()))
}

fn ceil(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Number(num_arg(&a, 0)?.ceil()))
}

fn floor(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Number(num_arg(&a, 0)?.floor()))
}

fn signum(_: &mut Cx, a: Vec<Value>) -> R {
    let n = num_arg(&a, 0)?;
    Ok(Value::Number(if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    }))
}

fn pow(_: &mut Cx, a: Vec<Value>) -> R {
    finite(num_arg(&a, 0)?.powf(num_arg(&a, 1)?))
}

fn max(_: &mut Cx, a: Vec<Value>) -> R {
    extreme(&a, f64::max)
}

fn min(_: &mut Cx, a: Vec<Value>) -> R {
    extreme(&a, f64::min)
}

fn extreme(a: &[Value], pick: fn(f64, f64) -> f64) -> R {
    let mut best = num_arg(a, 0)?;
    for i in 1..a.len() {
        best = pick(best, num_arg(a, i)?);
    }
    Ok(Value::Number(best))
}

fn sum(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?;
    if items.is_empty() {
        return Err(FnError::arg(0, "cannot sum an empty list"));
    }
    let mut total = 0.0;
    for (n, v) in items.iter().enumerate() {
        total += to_number(v).map_err(|m| FnError::arg(0, format!("element {n}: {m}")))?;
    }
    finite(total)
}

/// Terraform's own bound: a larger range is almost certainly a mistake and
/// would otherwise exhaust memory.
const MAX_RANGE: usize = 1024;

fn range(_: &mut Cx, a: Vec<Value>) -> R {
    let (start, limit) = match a.len() {
        1 => (0.0, num_arg(&a, 0)?),
        _ => (num_arg(&a, 0)?, num_arg(&a, 1)?),
    };
    let step = match a.len() {
        3 => num_arg(&a, 2)?,
        _ if start <= limit => 1.0,
        _ => -1.0,
    };
    if step == 0.0 {
        return Err(FnError::arg(2, "step must not be zero"));
    }
    if (step > 0.0 && start > limit) || (step < 0.0 && start < limit) {
        return Err(FnError::arg(2, "the step moves away from the limit; use a step of the other sign"));
    }
    let mut out = Vec::new();
    let mut i = 0.0;
    loop {
        let v = start + step * i;
        if (step > 0.0 && v >= limit) || (step < 0.0 && v <= limit) {
            break;
        }
        if out.len() >= MAX_RANGE {
            return Err(FnError::call(format!(
                "more than {MAX_RANGE} values were generated; either decrease the difference between start and limit or use a larger step"
            )));
        }
        out.push(Value::Number(v));
        i += 1.0;
    }
    Ok(Value::List(out))
}

// ---- strings ----

fn lower(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.to_lowercase()))
}

fn upper(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.to_uppercase()))
}

fn title(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let mut out = String::with_capacity(s.len());
    let mut at_word_start = true;
    for c in s.chars() {
        if at_word_start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    Ok(Value::String(out))
}

fn strrev(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.chars().rev().collect()))
}

fn trimspace(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.trim().to_string()))
}

fn chomp(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(str_arg(&a, 0)?.trim_end_matches(['\r', '\n']).to_string()))
}

fn trim(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let cut: Vec<char> = str_arg(&a, 1)?.chars().collect();
    Ok(Value::String(s.trim_matches(|c| cut.contains(&c)).to_string()))
}

fn trimprefix(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let p = str_arg(&a, 1)?;
    Ok(Value::String(s.strip_prefix(p.as_str()).unwrap_or(&s).to_string()))
}

fn trimsuffix(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let p = str_arg(&a, 1)?;
    Ok(Value::String(s.strip_suffix(p.as_str()).unwrap_or(&s).to_string()))
}

fn startswith(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Bool(str_arg(&a, 0)?.starts_with(&str_arg(&a, 1)?)))
}

fn endswith(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Bool(str_arg(&a, 0)?.ends_with(&str_arg(&a, 1)?)))
}

fn substr(_: &mut Cx, a: Vec<Value>) -> R {
    let chars: Vec<char> = str_arg(&a, 0)?.chars().collect();
    let len = chars.len() as i64;
    let mut offset = int_arg(&a, 1)?;
    let length = int_arg(&a, 2)?;
    if offset < 0 {
        offset = (len + offset).max(0);
    }
    if length < -1 {
        return Err(FnError::arg(2, "length must be -1 (the rest of the string) or at least 0"));
    }
    if offset >= len {
        return Ok(Value::String(String::new()));
    }
    let end = if length == -1 { len } else { offset.saturating_add(length).min(len) };
    Ok(Value::String(chars[offset as usize..end as usize].iter().collect()))
}

/// Bound on `indent`'s and `format`'s padding, which multiply output size.
const MAX_PAD: i64 = 1024;

fn indent(_: &mut Cx, a: Vec<Value>) -> R {
    let n = int_arg(&a, 0)?;
    if !(0..=MAX_PAD).contains(&n) {
        return Err(FnError::arg(0, format!("the number of spaces must be between 0 and {MAX_PAD}")));
    }
    let pad = " ".repeat(n as usize);
    let s = str_arg(&a, 1)?;
    Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
}

fn split(_: &mut Cx, a: Vec<Value>) -> R {
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

fn join(_: &mut Cx, a: Vec<Value>) -> R {
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

fn replace(cx: &mut Cx, a: Vec<Value>) -> R {
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

fn regex(cx: &mut Cx, a: Vec<Value>) -> R {
    let re = compile_regex(cx, &str_arg(&a, 0)?, 0)?;
    let s = str_arg(&a, 1)?;
    match re.captures(&s) {
        Some(caps) => regex_match(&re, &caps),
        None => Err(FnError::call("the pattern did not match any part of the given string")),
    }
}

fn regexall(cx: &mut Cx, a: Vec<Value>) -> R {
    let re = compile_regex(cx, &str_arg(&a, 0)?, 0)?;
    let s = str_arg(&a, 1)?;
    let matches = re.captures_iter(&s).map(|caps| regex_match(&re, &caps)).collect::<Result<_, _>>()?;
    Ok(Value::List(matches))
}

// ---- format ----

fn format(_: &mut Cx, a: Vec<Value>) -> R {
    let spec = str_arg(&a, 0)?;
    format_values(&spec, &a[1..]).map(Value::String)
}

fn formatlist(_: &mut Cx, a: Vec<Value>) -> R {
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
                    Some(p) => s.chars().take(p).collect(),
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
    let len = sign.chars().count() + body.chars().count();
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

// ---- encodings ----

/// JSON as Terraform's `jsonencode` writes it: compact, keys sorted, and
/// `<`, `>`, `&`, U+2028 and U+2029 escaped (Go's encoder escapes them so
/// the result is safe inside HTML).
fn json_string(v: &Value) -> String {
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

fn jsonencode(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(json_string(arg(&a, 0)?)))
}

fn jsondecode(cx: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(json) => Ok(Value::from_json(&json)),
        Err(_) if cx.sensitive => Err(FnError::arg(0, "the string is not valid JSON")),
        Err(e) => Err(FnError::arg(0, format!("the string is not valid JSON: {e}"))),
    }
}

fn base64encode(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(str_arg(&a, 0)?)))
}

fn base64decode(_: &mut Cx, a: Vec<Value>) -> R {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(str_arg(&a, 0)?)
        .map_err(|_| FnError::arg(0, "the string is not valid base64"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| FnError::arg(0, "the decoded bytes are not valid UTF-8; Terraform strings must be UTF-8"))
}

fn sha256(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(hex::encode(Sha256::digest(str_arg(&a, 0)?.as_bytes()))))
}

fn base64sha256(_: &mut Cx, a: Vec<Value>) -> R {
    let digest = Sha256::digest(str_arg(&a, 0)?.as_bytes());
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(digest)))
}

// ---- conversions ----

fn tostring(_: &mut Cx, a: Vec<Value>) -> R {
    match first(a) {
        Value::Null => Ok(Value::Null),
        v => to_string(&v).map(Value::String).map_err(|m| FnError::arg(0, format!("cannot convert to string: {m}"))),
    }
}

fn tonumber(_: &mut Cx, a: Vec<Value>) -> R {
    match first(a) {
        Value::Null => Ok(Value::Null),
        v => to_number(&v).map(Value::Number).map_err(|m| FnError::arg(0, format!("cannot convert to number: {m}"))),
    }
}

fn tobool(_: &mut Cx, a: Vec<Value>) -> R {
    match first(a) {
        Value::Null => Ok(Value::Null),
        v => to_bool(&v).map(Value::Bool).map_err(|m| FnError::arg(0, format!("cannot convert to bool: {m}"))),
    }
}

fn tolist(_: &mut Cx, a: Vec<Value>) -> R {
    let (v, marked) = split_mark(first(a));
    match v {
        Value::List(_) | Value::Null | Value::Unknown => Ok(v.marked_if(marked)),
        other => Err(FnError::arg(0, format!("cannot convert {} to a list", a_type(&other)))),
    }
}

fn tomap(_: &mut Cx, a: Vec<Value>) -> R {
    let (v, marked) = split_mark(first(a));
    match v {
        Value::Map(_) | Value::Null | Value::Unknown => Ok(v.marked_if(marked)),
        other => Err(FnError::arg(0, format!("cannot convert {} to a map", a_type(&other)))),
    }
}

/// A set as Terraform orders it: strings sorted lexically, numbers by value,
/// no duplicates. Mixed primitives are unified to strings first, as
/// Terraform's type unification does.
pub(crate) fn make_set(items: Vec<Value>) -> Result<Vec<Value>, String> {
    if items.iter().any(Value::is_null) {
        return Err("sets cannot contain null values".to_string());
    }
    let primitive = |v: &Value| matches!(v.peel(), Value::String(_) | Value::Number(_) | Value::Bool(_));
    let all_numbers = items.iter().all(|v| matches!(v.peel(), Value::Number(_)));
    let all_bools = items.iter().all(|v| matches!(v.peel(), Value::Bool(_)));
    let mut items = if !all_numbers && !all_bools && items.iter().all(primitive) {
        items
            .iter()
            .map(|v| to_string(v).map(|s| Value::String(s).marked_if(v.is_sensitive())))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        items
    };
    if all_numbers {
        items.sort_by(|a, b| a.as_f64().partial_cmp(&b.as_f64()).unwrap_or(std::cmp::Ordering::Equal));
    } else if items.iter().all(|v| matches!(v.peel(), Value::String(_))) {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    } else if all_bools {
        items.sort_by_key(|v| v.as_bool());
    }
    Ok(dedupe(items))
}

fn dedupe(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.iter().any(|o| equal(o, &item)) {
            out.push(item);
        }
    }
    out
}

fn toset(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?.clone();
    make_set(items).map(Value::List).map_err(|m| FnError::arg(0, m))
}

fn sensitive(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(first(a).mark_sensitive())
}

fn nonsensitive(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(first(a).unmark().0)
}

// ---- collections ----

fn length(_: &mut Cx, a: Vec<Value>) -> R {
    let (v, marked) = split_mark_keeping_keys(first(a));
    let n = match v {
        Value::Unknown => return Ok(Value::Unknown.marked_if(marked)),
        Value::String(s) => s.chars().count(),
        Value::List(items) => items.len(),
        Value::Map(map) => map.len(),
        Value::Null => return Err(FnError::arg(0, "argument must not be null")),
        other => return Err(FnError::arg(0, format!("a collection or string is required, not {}", a_type(&other)))),
    };
    Ok(Value::Number(n as f64).marked_if(marked))
}

/// Splits the outer mark of a raw map argument; `Ok(None)` when unknown.
fn raw_map(v: Value, i: usize) -> Result<(Option<BTreeMap<String, Value>>, bool), FnError> {
    let (v, marked) = split_mark_keeping_keys(v);
    match v {
        Value::Unknown => Ok((None, marked)),
        Value::Map(m) => Ok((Some(m), marked)),
        Value::Null => Err(FnError::arg(i, "a map is required, but the value is null")),
        other => Err(FnError::arg(i, format!("a map is required, but the value is {}", a_type(&other)))),
    }
}

/// Splits the outer mark of a raw list argument; `Ok(None)` when unknown.
fn raw_list(v: Value, i: usize) -> Result<(Option<Vec<Value>>, bool), FnError> {
    let (v, marked) = split_mark(v);
    match v {
        Value::Unknown => Ok((None, marked)),
        Value::List(l) => Ok((Some(l), marked)),
        Value::Null => Err(FnError::arg(i, "a list is required, but the value is null")),
        other => Err(FnError::arg(i, format!("a list is required, but the value is {}", a_type(&other)))),
    }
}

/// A raw argument that must be known and primitive (a key or an index).
fn raw_scalar(v: Value) -> (Option<Value>, bool) {
    let (v, marked) = v.unmark();
    if v.is_unknown() {
        (None, marked)
    } else {
        (Some(v), marked)
    }
}

fn keys(_: &mut Cx, a: Vec<Value>) -> R {
    let (map, marked) = raw_map(first(a), 0)?;
    let Some(map) = map else { return Ok(Value::Unknown.marked_if(marked)) };
    Ok(Value::List(map.into_keys().map(Value::String).collect()).marked_if(marked))
}

fn values(_: &mut Cx, a: Vec<Value>) -> R {
    let (map, marked) = raw_map(first(a), 0)?;
    let Some(map) = map else { return Ok(Value::Unknown.marked_if(marked)) };
    Ok(Value::List(map.into_values().collect()).marked_if(marked))
}

fn lookup(_: &mut Cx, a: Vec<Value>) -> R {
    let mut it = a.into_iter();
    let (map, mmark) = raw_map(it.next().unwrap_or_default(), 0)?;
    let (key, kmark) = raw_scalar(it.next().unwrap_or_default());
    let default = it.next();
    let marked = mmark || kmark;
    let (Some(map), Some(key)) = (map, key) else { return Ok(Value::Unknown.marked_if(marked)) };
    let key = to_string(&key).map_err(|m| FnError::arg(1, m))?;
    match map.get(&key) {
        Some(v) => Ok(v.clone().marked_if(marked)),
        None => match default {
            Some(d) => Ok(d.marked_if(marked)),
            None => {
                let shown = if kmark { "(sensitive value)".to_string() } else { format!("\"{key}\"") };
                Err(FnError::call(format!("lookup failed to find key {shown}")))
            }
        },
    }
}

fn element(_: &mut Cx, a: Vec<Value>) -> R {
    let mut it = a.into_iter();
    let (list, lmark) = raw_list(it.next().unwrap_or_default(), 0)?;
    let (idx, imark) = raw_scalar(it.next().unwrap_or_default());
    let marked = lmark || imark;
    let (Some(list), Some(idx)) = (list, idx) else { return Ok(Value::Unknown.marked_if(marked)) };
    let idx = to_integer(&idx).map_err(|m| FnError::arg(1, m))?;
    if list.is_empty() {
        return Err(FnError::arg(0, "cannot use element function with an empty list"));
    }
    if idx < 0 {
        return Err(FnError::arg(1, "cannot use element function with a negative index"));
    }
    let i = (idx as u64 % list.len() as u64) as usize;
    Ok(list.into_iter().nth(i).unwrap_or_default().marked_if(marked))
}

fn concat(_: &mut Cx, a: Vec<Value>) -> R {
    let mut out = Vec::new();
    let mut marked = false;
    let mut unknown = false;
    for (i, v) in a.into_iter().enumerate() {
        let (list, m) = raw_list(v, i)?;
        marked |= m;
        match list {
            Some(list) => out.extend(list),
            None => unknown = true,
        }
    }
    Ok(if unknown { Value::Unknown } else { Value::List(out) }.marked_if(marked))
}

fn merge(_: &mut Cx, a: Vec<Value>) -> R {
    let mut out = BTreeMap::new();
    let mut marked = false;
    let mut unknown = false;
    for (i, v) in a.into_iter().enumerate() {
        if v.is_null() {
            marked |= v.is_sensitive();
            continue;
        }
        let (map, m) = raw_map(v, i)?;
        marked |= m;
        match map {
            Some(map) => out.extend(map),
            None => unknown = true,
        }
    }
    Ok(if unknown { Value::Unknown } else { Value::Map(out) }.marked_if(marked))
}

fn flatten(_: &mut Cx, a: Vec<Value>) -> R {
    let (list, marked) = raw_list(first(a), 0)?;
    let Some(list) = list else { return Ok(Value::Unknown.marked_if(marked)) };
    let mut out = Vec::new();
    let mut state = (marked, false);
    flatten_into(list, &mut out, &mut state, 0)?;
    let (marked, unknown) = state;
    Ok(if unknown { Value::Unknown } else { Value::List(out) }.marked_if(marked))
}

fn flatten_into(list: Vec<Value>, out: &mut Vec<Value>, state: &mut (bool, bool), depth: usize) -> Result<(), FnError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(FnError::arg(0, "the list is nested too deeply"));
    }
    for item in list {
        let (inner, m) = split_mark(item.clone());
        match inner {
            Value::List(nested) => {
                state.0 |= m;
                flatten_into(nested, out, state, depth + 1)?;
            }
            // An unknown element might be a list, so the result's length is unknown.
            Value::Unknown => state.1 = true,
            _ => out.push(item),
        }
    }
    Ok(())
}

fn reverse(_: &mut Cx, a: Vec<Value>) -> R {
    let (list, marked) = raw_list(first(a), 0)?;
    let Some(mut list) = list else { return Ok(Value::Unknown.marked_if(marked)) };
    list.reverse();
    Ok(Value::List(list).marked_if(marked))
}

fn slice(_: &mut Cx, a: Vec<Value>) -> R {
    let mut it = a.into_iter();
    let (list, lmark) = raw_list(it.next().unwrap_or_default(), 0)?;
    let (start, smark) = raw_scalar(it.next().unwrap_or_default());
    let (end, emark) = raw_scalar(it.next().unwrap_or_default());
    let marked = lmark || smark || emark;
    let (Some(list), Some(start), Some(end)) = (list, start, end) else {
        return Ok(Value::Unknown.marked_if(marked));
    };
    let start = to_integer(&start).map_err(|m| FnError::arg(1, m))?;
    let end = to_integer(&end).map_err(|m| FnError::arg(2, m))?;
    if start < 0 || end < start || end > list.len() as i64 {
        return Err(FnError::call(format!(
            "the start index must be at least 0 and at most the end index, and the end index at most the list length {}",
            list.len()
        )));
    }
    Ok(Value::List(list.into_iter().skip(start as usize).take((end - start) as usize).collect()).marked_if(marked))
}

fn one(_: &mut Cx, a: Vec<Value>) -> R {
    let (list, marked) = split_mark(first(a));
    match list {
        Value::Unknown => Ok(Value::Unknown.marked_if(marked)),
        Value::Null => Ok(Value::Null.marked_if(marked)),
        Value::List(items) if items.len() <= 1 => Ok(items.into_iter().next().unwrap_or_default().marked_if(marked)),
        Value::List(items) => {
            Err(FnError::arg(0, format!("must be a list with at most one element, but it has {}", items.len())))
        }
        other => Err(FnError::arg(0, format!("a list is required, but the value is {}", a_type(&other)))),
    }
}

fn coalesce(_: &mut Cx, a: Vec<Value>) -> R {
    let mut marked = false;
    for v in a {
        let inner = v.peel();
        if inner.is_unknown() {
            return Ok(Value::Unknown.marked_if(marked || v.is_sensitive()));
        }
        let empty = matches!(inner, Value::Null) || matches!(inner, Value::String(s) if s.is_empty());
        if !empty {
            return Ok(v.marked_if(marked));
        }
        marked |= v.is_sensitive();
    }
    Err(FnError::call("no non-null, non-empty-string arguments"))
}

fn coalescelist(_: &mut Cx, a: Vec<Value>) -> R {
    let mut marked = false;
    for (i, v) in a.into_iter().enumerate() {
        if v.is_null() {
            continue;
        }
        let (list, m) = raw_list(v, i)?;
        marked |= m;
        match list {
            None => return Ok(Value::Unknown.marked_if(marked)),
            Some(list) if !list.is_empty() => return Ok(Value::List(list).marked_if(marked)),
            Some(_) => {}
        }
    }
    Err(FnError::call("no non-null, non-empty list arguments"))
}

fn zipmap(_: &mut Cx, a: Vec<Value>) -> R {
    let mut it = a.into_iter();
    let (keys, kmark) = it.next().unwrap_or_default().unmark();
    let (values, vmark) = raw_list(it.next().unwrap_or_default(), 1)?;
    let marked = kmark || vmark;
    let keys = match keys {
        Value::List(keys) if keys.iter().all(|k| !k.is_unknown()) => keys,
        Value::List(_) | Value::Unknown => return Ok(Value::Unknown.marked_if(marked)),
        other => return Err(FnError::arg(0, format!("a list is required, but the value is {}", a_type(&other)))),
    };
    let Some(values) = values else { return Ok(Value::Unknown.marked_if(marked)) };
    if keys.len() != values.len() {
        return Err(FnError::call(format!(
            "the number of keys ({}) does not match the number of values ({})",
            keys.len(),
            values.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (n, (k, v)) in keys.into_iter().zip(values).enumerate() {
        let k = to_string(&k).map_err(|m| FnError::arg(0, format!("element {n}: {m}")))?;
        out.insert(k, v);
    }
    Ok(Value::Map(out).marked_if(marked))
}

fn contains(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?;
    let needle = arg(&a, 1)?;
    Ok(Value::Bool(items.iter().any(|v| equal(v, needle))))
}

fn index(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?;
    let needle = arg(&a, 1)?;
    match items.iter().position(|v| equal(v, needle)) {
        Some(i) => Ok(Value::Number(i as f64)),
        None => Err(FnError::call("item not found")),
    }
}

fn distinct(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::List(dedupe(list_arg(&a, 0)?.clone())))
}

fn compact(_: &mut Cx, a: Vec<Value>) -> R {
    let mut out = Vec::new();
    for (n, v) in list_arg(&a, 0)?.iter().enumerate() {
        if v.is_null() {
            continue;
        }
        let s = to_string(v).map_err(|m| FnError::arg(0, format!("element {n}: {m}")))?;
        if !s.is_empty() {
            out.push(Value::String(s));
        }
    }
    Ok(Value::List(out))
}

fn sort(_: &mut Cx, a: Vec<Value>) -> R {
    let mut items = string_list(&a, 0)?;
    items.sort();
    Ok(Value::List(items.into_iter().map(Value::String).collect()))
}

fn alltrue(_: &mut Cx, a: Vec<Value>) -> R {
    let mut all = true;
    for (n, v) in list_arg(&a, 0)?.iter().enumerate() {
        all &= to_bool(v).map_err(|m| FnError::arg(0, format!("element {n}: {m}")))?;
    }
    Ok(Value::Bool(all))
}

fn anytrue(_: &mut Cx, a: Vec<Value>) -> R {
    let mut any = false;
    for (n, v) in list_arg(&a, 0)?.iter().enumerate() {
        any |= to_bool(v).map_err(|m| FnError::arg(0, format!("element {n}: {m}")))?;
    }
    Ok(Value::Bool(any))
}

// ---- files ----

fn resolve_path(cx: &Cx, path: &str) -> PathBuf {
    cx.ev.scope.module_dir().join(path)
}

fn read_file(cx: &Cx, path: &str) -> Result<Vec<u8>, FnError> {
    let full = resolve_path(cx, path);
    std::fs::read(&full).map_err(|e| {
        let shown = cx.quote(path);
        if e.kind() == std::io::ErrorKind::NotFound {
            FnError::arg(
                0,
                format!(
                    "no file exists at {shown} (paths are relative to the stack folder {})",
                    cx.ev.scope.module_dir().display()
                ),
            )
        } else {
            FnError::arg(0, format!("cannot read {shown}: {e}"))
        }
    })
}

fn file(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let bytes = read_file(cx, &path)?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            format!("the contents of {} are not valid UTF-8; use filebase64 for binary files", cx.quote(&path)),
        )
    })
}

fn filebase64(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(read_file(cx, &path)?)))
}

fn fileexists(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    Ok(Value::Bool(resolve_path(cx, &path).is_file()))
}

fn templatefile(cx: &mut Cx, a: Vec<Value>) -> R {
    if cx.ev.in_template_file() {
        return Err(FnError::call("templatefile cannot be called from inside a template given to templatefile"));
    }
    let mut it = a.into_iter();
    let (path, pmark) = raw_scalar(it.next().unwrap_or_default());
    let (vars, vmark) = raw_map(it.next().unwrap_or_default(), 1)?;
    let (Some(path), Some(vars)) = (path, vars) else { return Ok(Value::Unknown.marked_if(pmark || vmark)) };
    let path = to_string(&path).map_err(|m| FnError::arg(0, m))?;
    for name in vars.keys() {
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(FnError::arg(1, format!("invalid template variable name \"{name}\": it must start with a letter and contain only letters, digits, underscores and dashes")));
        }
    }
    let bytes = read_file(cx, &path)?;
    let shown = cx.quote(&path);
    let text = String::from_utf8(bytes)
        .map_err(|_| FnError::arg(0, format!("the contents of {shown} are not valid UTF-8")))?;
    let template = hcl_edit::parser::parse_template(&text)
        .map_err(|e| FnError::arg(0, format!("the template {shown} is invalid: {e}")))?;
    let mut sub = cx.ev.for_template(vars);
    let result = sub.eval_template_wrapped(&template);
    cx.ev.absorb(&sub);
    let result = result.map_err(|e| {
        let at =
            e.span.as_ref().map(|s| line_col(&text, s.start)).map(|(l, c)| format!(":{l},{c}")).unwrap_or_default();
        FnError::call(format!("error in template {shown}{at}: {}", e.message))
    })?;
    Ok(result.marked_if(pmark || vmark))
}

/// 1-based line and column of a byte offset, for errors inside templates.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

// ---- lazy ----

fn try_(ev: &mut Evaluator<'_>, call: &FuncCall) -> Result<Value, EvalError> {
    let mut last = None;
    for arg in call.args.iter() {
        ev.check_static(arg)?;
        match ev.eval(arg) {
            Ok(v) if v.is_known() => return Ok(v),
            // A later plan might find this value invalid, so which argument
            // wins is not known yet either.
            Ok(v) => return Ok(Value::Unknown.marked_if(v.is_sensitive())),
            Err(e) => last = Some(e),
        }
    }
    let reason = last.map(|e| e.message).unwrap_or_default();
    Err(error(
        format!("Error in function call: call to function \"try\" failed: no expression succeeded; the last error was: {reason}"),
        call.span(),
    ))
}

fn can(ev: &mut Evaluator<'_>, call: &FuncCall) -> Result<Value, EvalError> {
    let Some(arg) = call.args.iter().next() else {
        return Err(error("Not enough function arguments: function \"can\" expects 1 argument", call.span()));
    };
    ev.check_static(arg)?;
    match ev.eval(arg) {
        Ok(v) if v.is_known() => Ok(Value::Bool(true)),
        Ok(v) => Ok(Value::Unknown.marked_if(v.is_sensitive())),
        Err(_) => Ok(Value::Bool(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::value::Value;

    fn strs(items: &[&str]) -> Value {
        list(items.iter().map(|x| s(x)).collect())
    }

    const ARG_POOL: &[&str] = &[
        "null",
        "var.later",
        "var.password",
        "var.secret_map",
        "var.creds",
        "var.zones",
        "var.tags",
        "local.objs",
        "1e300",
        "-1e300",
        "0",
        "-1",
        "1.5",
        "9007199254740993",
        "\"\"",
        "\"%\"",
        "\"%99999999999999999999999d\"",
        "\"%[99999999999999999999999]s\"",
        "\"%-0+ #[2]5.3x\"",
        "\"/(/\"",
        "\"/a*/\"",
        "\"x\"",
        "\"5\"",
        "[]",
        "[null]",
        "[[1, [2]], 3]",
        "[var.later]",
        "{}",
        "{a = null}",
        "{a = var.later}",
        "true",
        "\".\"",
        "\"Cargo.toml\"",
        "[\"a\", 1, true]",
        "[{a = 1}, {a = 1}]",
    ];

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, .. proptest::prelude::ProptestConfig::default() })]

        #[test]
        fn any_function_with_any_arguments_never_panics(
            name in proptest::sample::select(super::function_names().collect::<Vec<_>>()),
            args in proptest::collection::vec(proptest::sample::select(ARG_POOL), 0..4),
            expand in proptest::bool::ANY,
        ) {
            let src = format!("{name}({}{})", args.join(", "), if expand && !args.is_empty() { "..." } else { "" });
            let expr = hcl_edit::parser::parse_expr(&src).unwrap();
            let _ = super::super::eval(&expr, &scope());
        }

        #[test]
        fn format_never_panics(spec in "(%[-+ 0#]{0,3}(\\[[0-9]{0,22}\\])?[0-9]{0,22}(\\.[0-9]{0,22})?[a-zA-Z%]?|[a-z ]){0,6}") {
            let src = format!("format({}, 1, \"a\", 2.5, true, [1], -7)", serde_json::Value::String(spec));
            if let Ok(expr) = hcl_edit::parser::parse_expr(&src) {
                let _ = super::super::eval(&expr, &scope());
            }
        }
    }

    #[test]
    fn unknown_function_lists_supported_ones() {
        let e = err("foo(1)");
        assert!(
            e.message.starts_with("Call to unknown function \"foo\"; supported functions are: abs, "),
            "{}",
            e.message
        );
        assert!(e.message.contains("jsonencode"));
        assert_eq!(
            err_at("provider::aws::arn_parse(\"x\")", "unknown function \"provider::aws::arn_parse\""),
            "provider::aws::arn_parse(\"x\")"
        );
    }

    #[test]
    fn argument_count_and_type_errors_name_the_signature() {
        let e = err("lookup({})");
        assert!(e.message.contains("Not enough function arguments"), "{}", e.message);
        assert!(e.message.contains("lookup(map, key, default)"), "{}", e.message);
        let e = err("upper(\"a\", \"b\")");
        assert!(e.message.contains("Too many function arguments"), "{}", e.message);
        assert!(e.message.contains("upper(string)"), "{}", e.message);
        assert_eq!(err_at("upper(\"a\", [1])", "Too many"), "upper(\"a\", [1])");
        // Type errors point at the argument and name the parameter.
        assert_eq!(
            err_at("join(\",\", \"notalist\")", "invalid value for \"lists\" parameter of join"),
            "\"notalist\""
        );
        assert_eq!(err_at("upper([])", "\"string\" parameter"), "[]");
        assert_eq!(err_at("element([1], \"x\")", "\"index\" parameter"), "\"x\"");
    }

    #[test]
    fn json() {
        assert_eq!(ok("jsonencode({b = [1, 2.5, true, null], a = \"x\"})"), s("{\"a\":\"x\",\"b\":[1,2.5,true,null]}"));
        assert_eq!(ok("jsonencode(\"<a&b>\")"), s("\"\\u003ca\\u0026b\\u003e\""));
        assert_eq!(ok("jsonencode(8080)"), s("8080"));
        assert_eq!(ok("jsondecode(\"{\\\"a\\\": [1, \\\"x\\\"]}\")"), map(vec![("a", list(vec![n(1.0), s("x")]))]));
        assert!(err("jsondecode(\"{\")").message.contains("not valid JSON"));
        assert_eq!(ok("jsonencode(var.later)"), Value::Unknown);
        assert_eq!(ok("jsonencode({a = var.later})"), Value::Unknown);
        assert_eq!(ok("jsondecode(jsonencode(local.objs))"), ok("local.objs"));
    }

    #[test]
    fn strings() {
        assert_eq!(ok("join(\"-\", [\"a\", 1, true])"), s("a-1-true"));
        assert_eq!(ok("join(\",\", [\"a\"], [\"b\", \"c\"])"), s("a,b,c"));
        assert_eq!(ok("split(\",\", \"a,b,,c\")"), strs(&["a", "b", "", "c"]));
        assert_eq!(ok("split(\",\", \"\")"), strs(&[""]));
        assert_eq!(ok("lower(\"AbC\")"), s("abc"));
        assert_eq!(ok("upper(\"straße\")"), s("STRASSE"));
        assert_eq!(ok("title(\"hello big-world\")"), s("Hello Big-World"));
        assert_eq!(ok("replace(\"a-b-c\", \"-\", \"_\")"), s("a_b_c"));
        assert_eq!(ok("replace(\"hello world\", \"/o(r?)/\", \"0$1\")"), s("hell0 w0rld"));
        assert_eq!(ok("replace(\"/\", \"/\", \"x\")"), s("x"));
        assert_eq!(ok("trimspace(\"  a b \\n\")"), s("a b"));
        assert_eq!(ok("trimprefix(\"prefix-x\", \"prefix-\")"), s("x"));
        assert_eq!(ok("trimsuffix(\"x.tf\", \".tf\")"), s("x"));
        assert_eq!(ok("trim(\"?!hi!?\", \"!?\")"), s("hi"));
        assert_eq!(ok("chomp(\"x\\n\\n\")"), s("x"));
        assert_eq!(ok("startswith(\"arn:aws\", \"arn:\")"), Value::Bool(true));
        assert_eq!(ok("endswith(\"arn:aws\", \"arn\")"), Value::Bool(false));
        assert_eq!(ok("substr(\"hello\", 1, 3)"), s("ell"));
        assert_eq!(ok("substr(\"hello\", -3, -1)"), s("llo"));
        assert_eq!(ok("substr(\"hello\", 10, 2)"), s(""));
        assert_eq!(ok("substr(\"hello\", 3, 100)"), s("lo"));
        assert_eq!(ok("strrev(\"abc\")"), s("cba"));
        assert_eq!(ok("indent(2, \"a\\nb\")"), s("a\n  b"));
        assert_eq!(ok("length(\"héllo\")"), n(5.0));
        assert!(err("indent(99999999, \"a\")").message.contains("between 0 and"));
    }

    #[test]
    fn regexes() {
        assert_eq!(ok("regex(\"[a-z]+\", \"123abc456\")"), s("abc"));
        assert_eq!(ok("regex(\"(\\\\d+)-(\\\\d+)\", \"10-20\")"), strs(&["10", "20"]));
        assert_eq!(ok("regex(\"(?P<a>\\\\d+)\", \"x7\")"), map(vec![("a", s("7"))]));
        assert_eq!(ok("regexall(\"\\\\d\", \"a1b2\")"), strs(&["1", "2"]));
        assert!(err("regex(\"z\", \"abc\")").message.contains("did not match"));
        assert!(err("regex(\"(\", \"abc\")").message.contains("invalid regular expression"));
    }

    #[test]
    fn format_verbs() {
        assert_eq!(ok("format(\"%s-%d\", \"a\", 5)"), s("a-5"));
        assert_eq!(ok("format(\"%v %v %v\", \"a\", 1.5, true)"), s("a 1.5 true"));
        assert_eq!(ok("format(\"%v\", [1, \"a\"])"), s("[1,\"a\"]"));
        assert_eq!(ok("format(\"%q\", \"a\\\"b\")"), s("\"a\\\"b\""));
        assert_eq!(ok("format(\"%.2f\", 3.14159)"), s("3.14"));
        assert_eq!(ok("format(\"%f\", 1)"), s("1.000000"));
        assert_eq!(ok("format(\"%5d|%-5d|%05d|%+d\", 42, 42, 42, 42)"), s("   42|42   |00042|+42"));
        assert_eq!(ok("format(\"%x %X %o %b\", 255, 255, 8, 5)"), s("ff FF 10 101"));
        assert_eq!(ok("format(\"%e\", 1500)"), s("1.500000e+03"));
        assert_eq!(ok("format(\"%t\", true)"), s("true"));
        assert_eq!(ok("format(\"100%%\")"), s("100%"));
        assert_eq!(ok("format(\"%[2]s %[1]s\", \"a\", \"b\")"), s("b a"));
        assert_eq!(ok("format(\"%.3s\", \"abcdef\")"), s("abc"));
        assert_eq!(ok("format(\"%d\", \"12\")"), s("12"));
        assert!(err("format(\"%d\", 1.5)").message.contains("integer"));
        assert!(err("format(\"%s %s\", \"a\")").message.contains("not enough arguments"));
        assert!(err("format(\"%s\", \"a\", \"b\")").message.contains("too many arguments"));
        assert!(err("format(\"%s\", null)").message.contains("null"));
        assert!(err("format(\"%z\", 1)").message.contains("unsupported verb"));
        assert!(err("format(\"%\")").message.contains("incomplete"));
        assert!(err("format(\"%99999999999999999999d\", 1)").message.contains("larger than"));
        assert_eq!(ok("formatlist(\"%s=%s\", [\"a\", \"b\"], \"x\")"), strs(&["a=x", "b=x"]));
        assert!(err("formatlist(\"%s%s\", [\"a\"], [\"b\", \"c\"])").message.contains("inconsistent"));
    }

    #[test]
    fn collections() {
        assert_eq!(ok("merge({a = 1, b = 2}, null, {b = 3})"), map(vec![("a", n(1.0)), ("b", n(3.0))]));
        assert_eq!(ok("merge()"), map(vec![]));
        assert!(err("merge({}, [1])").message.contains("map is required"));
        assert_eq!(ok("concat([1], [], [2, 3])"), list(vec![n(1.0), n(2.0), n(3.0)]));
        assert_eq!(ok("concat([1], var.later)"), Value::Unknown);
        assert_eq!(ok("lookup(var.tags, \"team\")"), s("core"));
        assert_eq!(ok("lookup(var.tags, \"nope\", \"dflt\")"), s("dflt"));
        assert!(err("lookup(var.tags, \"nope\")").message.contains("lookup failed to find key \"nope\""));
        assert_eq!(ok("lookup(var.later, \"x\", 1)"), Value::Unknown);
        assert_eq!(ok("length([1, 2])"), n(2.0));
        assert_eq!(ok("length(var.tags)"), n(2.0));
        assert!(err("length(null)").message.contains("null"));
        assert!(err("length(1)").message.contains("collection or string"));
        assert_eq!(ok("keys(var.tags)"), strs(&["env", "team"]));
        assert_eq!(ok("values(var.tags)"), strs(&["prod", "core"]));
        assert_eq!(ok("contains(var.zones, \"b\")"), Value::Bool(true));
        assert_eq!(ok("contains([1], \"1\")"), Value::Bool(false));
        assert_eq!(ok("index(var.zones, \"c\")"), n(2.0));
        assert_eq!(ok("coalesce(null, \"\", \"x\", \"y\")"), s("x"));
        assert_eq!(ok("coalesce(null, var.later, \"x\")"), Value::Unknown);
        assert!(err("coalesce(null, \"\")").message.contains("no non-null"));
        assert_eq!(ok("coalescelist([], [1])"), list(vec![n(1.0)]));
        assert_eq!(ok("compact([\"a\", \"\", null, \"b\"])"), strs(&["a", "b"]));
        assert_eq!(ok("distinct([1, 2, 1, 3, 2])"), list(vec![n(1.0), n(2.0), n(3.0)]));
        assert_eq!(ok("element(var.zones, 4)"), s("b"));
        assert!(err("element([], 0)").message.contains("empty list"));
        assert!(err("element([1], -1)").message.contains("negative"));
        assert_eq!(ok("flatten([[1, [2]], [], 3])"), list(vec![n(1.0), n(2.0), n(3.0)]));
        assert_eq!(ok("flatten([[1], var.later])"), Value::Unknown);
        assert_eq!(ok("reverse([1, 2, 3])"), list(vec![n(3.0), n(2.0), n(1.0)]));
        assert_eq!(ok("slice(var.zones, 1, 3)"), strs(&["b", "c"]));
        assert!(err("slice(var.zones, 2, 1)").message.contains("start index"));
        assert_eq!(ok("sort([\"b\", \"a\", \"c\"])"), strs(&["a", "b", "c"]));
        assert_eq!(ok("zipmap([\"a\", \"b\"], [1, 2])"), map(vec![("a", n(1.0)), ("b", n(2.0))]));
        assert!(err("zipmap([\"a\"], [1, 2])").message.contains("does not match"));
        assert_eq!(ok("one([])"), Value::Null);
        assert_eq!(ok("one([5])"), n(5.0));
        assert!(err("one([1, 2])").message.contains("at most one"));
        assert_eq!(ok("alltrue([true, \"true\"])"), Value::Bool(true));
        assert_eq!(ok("anytrue([])"), Value::Bool(false));
        assert_eq!(ok("concat([var.zones, [1]]...)"), list(vec![s("a"), s("b"), s("c"), n(1.0)]));
        assert_eq!(ok("concat(var.later...)"), Value::Unknown);
        assert!(err("concat(\"a\"...)").message.contains("must be a list"));
        assert_eq!(ok("max([3, 9, 1]...)"), n(9.0));
    }

    #[test]
    fn conversions() {
        assert_eq!(ok("tostring(5)"), s("5"));
        assert_eq!(ok("tostring(true)"), s("true"));
        assert_eq!(ok("tostring(null)"), Value::Null);
        assert!(err("tostring([])").message.contains("cannot convert"));
        assert_eq!(ok("tonumber(\"42\")"), n(42.0));
        assert_eq!(ok("tonumber(\"1.5e2\")"), n(150.0));
        assert!(err("tonumber(\"x\")").message.contains("cannot convert to number"));
        assert_eq!(ok("tobool(\"true\")"), Value::Bool(true));
        assert_eq!(ok("toset([\"b\", \"a\", \"b\"])"), strs(&["a", "b"]));
        assert_eq!(ok("toset([3, 1, 3])"), list(vec![n(1.0), n(3.0)]));
        assert_eq!(ok("toset([\"a\", 1])"), strs(&["1", "a"]));
        assert!(err("toset([null])").message.contains("null"));
        assert_eq!(ok("tolist(var.zones)"), ok("var.zones"));
        assert_eq!(ok("tomap(var.tags)"), ok("var.tags"));
        assert!(err("tomap([])").message.contains("cannot convert"));
    }

    #[test]
    fn numbers() {
        assert_eq!(ok("abs(-3)"), n(3.0));
        assert_eq!(ok("ceil(1.2)"), n(2.0));
        assert_eq!(ok("floor(\"1.8\")"), n(1.0));
        assert_eq!(ok("max(1, 5, \"3\")"), n(5.0));
        assert_eq!(ok("min(4, 2)"), n(2.0));
        assert_eq!(ok("pow(2, 10)"), n(1024.0));
        assert!(err("pow(10, 400)").message.contains("finite"));
        assert_eq!(ok("signum(-2)"), n(-1.0));
        assert_eq!(ok("sum([1, 2, 3.5])"), n(6.5));
        assert_eq!(ok("range(3)"), list(vec![n(0.0), n(1.0), n(2.0)]));
        assert_eq!(ok("range(1, 4)"), list(vec![n(1.0), n(2.0), n(3.0)]));
        assert_eq!(ok("range(3, 0)"), list(vec![n(3.0), n(2.0), n(1.0)]));
        assert_eq!(ok("range(0, 1, 0.5)"), list(vec![n(0.0), n(0.5)]));
        assert_eq!(ok("range(0)"), list(vec![]));
        assert!(err("range(0, 10, 0)").message.contains("zero"));
        assert!(err("range(1e15)").message.contains("more than 1024"));
        assert!(err("range(0, 5, -1)").message.contains("step"));
    }

    #[test]
    fn hashes_and_encodings() {
        assert_eq!(ok("sha256(\"hello\")"), s("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
        assert_eq!(ok("base64encode(\"hello\")"), s("aGVsbG8="));
        assert_eq!(ok("base64decode(\"aGVsbG8=\")"), s("hello"));
        assert_eq!(ok("base64sha256(\"hello\")"), s("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="));
        assert!(err("base64decode(\"!!\")").message.contains("base64"));
        assert!(err("base64decode(\"/w==\")").message.contains("UTF-8"));
    }

    #[test]
    fn try_and_can() {
        assert_eq!(ok("try(var.tags.nope, \"fallback\")"), s("fallback"));
        assert_eq!(ok("try(var.tags.team, \"fallback\")"), s("core"));
        assert_eq!(ok("can(var.zones[5])"), Value::Bool(false));
        assert_eq!(ok("can(var.zones[0])"), Value::Bool(true));
        assert_eq!(ok("[for x in [{a = 1}, {}] : try(x.a, 0)]"), list(vec![n(1.0), n(0.0)]));
        assert!(err("try(var.tags.a, var.tags.b)").message.contains("no expression succeeded"));
        // Mistakes in names are not swallowed.
        assert!(err("try(var.undeclared, 1)").message.contains("Reference to undeclared input variable"));
        assert!(err("can(nosuchfn(1))").message.contains("Call to unknown function"));
        assert!(err("try(aws_nope.x.id, 1)").message.contains("undeclared resource"));
    }

    #[test]
    fn files_and_templates() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("policy.json"), "{\"v\": 1}").unwrap();
        std::fs::write(
            dir.path().join("user_data.tpl"),
            "#!/bin/sh\nexport NAME=${name}\n%{ for p in ports ~}\nopen ${p}\n%{ endfor ~}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("bad.tpl"), "line1\n${nope}\n").unwrap();
        std::fs::write(dir.path().join("nested.tpl"), "${templatefile(\"bad.tpl\", {})}").unwrap();
        std::fs::write(dir.path().join("vars.tpl"), "${var.name}").unwrap();
        std::fs::write(dir.path().join("bin"), [0xffu8, 0xfe]).unwrap();
        let mut sc = scope();
        sc.dir = dir.path().to_path_buf();
        let run = |src: &str| eval_in(src, &sc);
        assert_eq!(run("jsondecode(file(\"policy.json\")).v").unwrap(), n(1.0));
        let e = run("file(\"missing.txt\")").unwrap_err();
        assert!(e.message.contains("no file exists at \"missing.txt\""), "{}", e.message);
        assert!(run("file(\"bin\")").unwrap_err().message.contains("UTF-8"));
        assert_eq!(run("filebase64(\"bin\")").unwrap(), s("//4="));
        assert_eq!(run("fileexists(\"policy.json\")").unwrap(), Value::Bool(true));
        assert_eq!(run("fileexists(\"nope\")").unwrap(), Value::Bool(false));
        assert_eq!(
            run("templatefile(\"user_data.tpl\", {name = var.name, ports = [80, 443]})").unwrap(),
            s("#!/bin/sh\nexport NAME=app\nopen 80\nopen 443\n")
        );
        assert_eq!(
            run("templatefile(\"user_data.tpl\", {name = var.password, ports = []})").unwrap(),
            secret(s("#!/bin/sh\nexport NAME=hunter2\n"))
        );
        assert_eq!(run("templatefile(\"user_data.tpl\", {name = var.later, ports = []})").unwrap(), Value::Unknown);
        let e = run("templatefile(\"bad.tpl\", {})").unwrap_err();
        assert!(e.message.contains("\"bad.tpl\":2,3"), "{}", e.message);
        assert!(e.message.contains("no variable named \"nope\""), "{}", e.message);
        // Templates see only the variables passed to them.
        let e = run("templatefile(\"vars.tpl\", {})").unwrap_err();
        assert!(e.message.contains("no variable named \"var\""), "{}", e.message);
        assert_eq!(run("templatefile(\"vars.tpl\", {var = {name = \"x\"}})").unwrap(), s("x"));
        assert!(run("templatefile(\"nested.tpl\", {})").unwrap_err().message.contains("cannot be called from inside"));
        assert!(run("templatefile(\"missing.tpl\", {})").unwrap_err().message.contains("no file exists"));
        assert!(run("templatefile(\"policy.json\", [])").unwrap_err().message.contains("map is required"));
    }
}
