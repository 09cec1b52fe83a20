//! Terraform's built-in functions: the dispatch table, arity checks and
//! argument helpers; the functions themselves live in one file per family.
//!
//! Most functions are *plain*: they see their arguments unmarked and wholly
//! known; the caller returns unknown when any argument is not wholly known
//! and marks the result sensitive when any argument was. Functions that pass
//! elements through (`lookup`, `merge`, `length`, ...) are *raw*: they see
//! the marks and keep a secret inside a map from making the whole map
//! secret, as Terraform does. `try` and `can` are *lazy*: they get the
//! argument expressions themselves.

use std::collections::BTreeMap;

use hcl_edit::expr::FuncCall;
use hcl_edit::Span;

use super::convert::{a_type, split_mark, split_mark_keeping_keys, to_integer, to_number, to_string};
use super::expr::{error, Evaluator, SpanRange};
use super::EvalError;
use crate::value::Value;

mod collections;
mod conversion;
mod crypto;
mod encoding;
mod filesystem;
mod format;
mod ipnet;
mod numbers;
mod strings;
mod templates;
#[cfg(test)]
mod tests;
pub(crate) mod time;
mod yaml;

pub(crate) use conversion::make_set;

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
    plain("abs", "abs(number)", 1, ONE, numbers::abs),
    plain("abspath", "abspath(path)", 1, ONE, filesystem::abspath),
    plain("alltrue", "alltrue(list)", 1, ONE, collections::alltrue),
    plain("anytrue", "anytrue(list)", 1, ONE, collections::anytrue),
    plain("base64decode", "base64decode(string)", 1, ONE, encoding::base64decode),
    plain("base64encode", "base64encode(string)", 1, ONE, encoding::base64encode),
    plain("base64gzip", "base64gzip(string)", 1, ONE, encoding::base64gzip),
    plain("base64sha256", "base64sha256(string)", 1, ONE, crypto::base64sha256),
    plain("base64sha512", "base64sha512(string)", 1, ONE, crypto::base64sha512),
    plain("basename", "basename(path)", 1, ONE, filesystem::basename),
    plain("bcrypt", "bcrypt(string, cost)", 1, TWO, crypto::bcrypt),
    Func { name: "can", usage: "can(expression)", min: 1, max: ONE, kind: Kind::Lazy(conversion::can) },
    plain("ceil", "ceil(number)", 1, ONE, numbers::ceil),
    plain("chomp", "chomp(string)", 1, ONE, strings::chomp),
    plain("chunklist", "chunklist(list, size)", 2, TWO, collections::chunklist),
    plain("cidrhost", "cidrhost(prefix, hostnum)", 2, TWO, ipnet::cidrhost),
    plain("cidrnetmask", "cidrnetmask(prefix)", 1, ONE, ipnet::cidrnetmask),
    plain("cidrsubnet", "cidrsubnet(prefix, newbits, netnum)", 3, THREE, ipnet::cidrsubnet),
    plain("cidrsubnets", "cidrsubnets(prefix, newbits...)", 1, ANY, ipnet::cidrsubnets),
    raw("coalesce", "coalesce(values...)", 1, ANY, collections::coalesce),
    raw("coalescelist", "coalescelist(lists...)", 1, ANY, collections::coalescelist),
    plain("compact", "compact(list)", 1, ONE, collections::compact),
    raw("concat", "concat(lists...)", 1, ANY, collections::concat),
    plain("contains", "contains(list, value)", 2, TWO, collections::contains),
    plain("csvdecode", "csvdecode(string)", 1, ONE, encoding::csvdecode),
    plain("dirname", "dirname(path)", 1, ONE, filesystem::dirname),
    plain("distinct", "distinct(list)", 1, ONE, collections::distinct),
    raw("element", "element(list, index)", 2, TWO, collections::element),
    plain("endswith", "endswith(string, suffix)", 2, TWO, strings::endswith),
    raw("ephemeralasnull", "ephemeralasnull(value)", 1, ONE, conversion::ephemeralasnull),
    plain("file", "file(path)", 1, ONE, filesystem::file),
    plain("filebase64", "filebase64(path)", 1, ONE, filesystem::filebase64),
    plain("filebase64sha256", "filebase64sha256(path)", 1, ONE, filesystem::filebase64sha256),
    plain("filebase64sha512", "filebase64sha512(path)", 1, ONE, filesystem::filebase64sha512),
    plain("fileexists", "fileexists(path)", 1, ONE, filesystem::fileexists),
    plain("filemd5", "filemd5(path)", 1, ONE, filesystem::filemd5),
    plain("fileset", "fileset(path, pattern)", 2, TWO, filesystem::fileset),
    plain("filesha1", "filesha1(path)", 1, ONE, filesystem::filesha1),
    plain("filesha256", "filesha256(path)", 1, ONE, filesystem::filesha256),
    plain("filesha512", "filesha512(path)", 1, ONE, filesystem::filesha512),
    raw("flatten", "flatten(list)", 1, ONE, collections::flatten),
    plain("floor", "floor(number)", 1, ONE, numbers::floor),
    plain("format", "format(spec, values...)", 1, ANY, format::format),
    plain("formatdate", "formatdate(spec, timestamp)", 2, TWO, time::formatdate),
    plain("formatlist", "formatlist(spec, values...)", 1, ANY, format::formatlist),
    plain("indent", "indent(spaces, string)", 2, TWO, strings::indent),
    plain("index", "index(list, value)", 2, TWO, collections::index),
    raw("issensitive", "issensitive(value)", 1, ONE, conversion::issensitive),
    plain("join", "join(separator, lists...)", 2, ANY, strings::join),
    plain("jsondecode", "jsondecode(string)", 1, ONE, encoding::jsondecode),
    plain("jsonencode", "jsonencode(value)", 1, ONE, encoding::jsonencode),
    raw("keys", "keys(map)", 1, ONE, collections::keys),
    raw("length", "length(value)", 1, ONE, collections::length),
    plain("log", "log(number, base)", 2, TWO, numbers::log),
    raw("lookup", "lookup(map, key, default)", 2, THREE, collections::lookup),
    plain("lower", "lower(string)", 1, ONE, strings::lower),
    plain("matchkeys", "matchkeys(values, keys, searchset)", 3, THREE, collections::matchkeys),
    plain("max", "max(numbers...)", 1, ANY, numbers::max),
    plain("md5", "md5(string)", 1, ONE, crypto::md5),
    raw("merge", "merge(maps...)", 0, ANY, collections::merge),
    plain("min", "min(numbers...)", 1, ANY, numbers::min),
    raw("nonsensitive", "nonsensitive(value)", 1, ONE, conversion::nonsensitive),
    raw("one", "one(list)", 1, ONE, collections::one),
    plain("parseint", "parseint(string, base)", 2, TWO, numbers::parseint),
    plain("pathexpand", "pathexpand(path)", 1, ONE, filesystem::pathexpand),
    plain("plantimestamp", "plantimestamp()", 0, Some(0), time::plantimestamp),
    plain("pow", "pow(base, exponent)", 2, TWO, numbers::pow),
    plain("range", "range(start, limit, step)", 1, THREE, numbers::range),
    plain("regex", "regex(pattern, string)", 2, TWO, strings::regex),
    plain("regexall", "regexall(pattern, string)", 2, TWO, strings::regexall),
    plain("replace", "replace(string, substring, replacement)", 3, THREE, strings::replace),
    raw("reverse", "reverse(list)", 1, ONE, collections::reverse),
    raw("sensitive", "sensitive(value)", 1, ONE, conversion::sensitive),
    plain("setintersection", "setintersection(sets...)", 1, ANY, collections::setintersection),
    plain("setproduct", "setproduct(sets...)", 1, ANY, collections::setproduct),
    plain("setsubtract", "setsubtract(a, b)", 2, TWO, collections::setsubtract),
    plain("setunion", "setunion(sets...)", 1, ANY, collections::setunion),
    plain("sha1", "sha1(string)", 1, ONE, crypto::sha1),
    plain("sha256", "sha256(string)", 1, ONE, crypto::sha256),
    plain("sha512", "sha512(string)", 1, ONE, crypto::sha512),
    plain("signum", "signum(number)", 1, ONE, numbers::signum),
    raw("slice", "slice(list, start, end)", 3, THREE, collections::slice),
    plain("sort", "sort(list)", 1, ONE, collections::sort),
    plain("split", "split(separator, string)", 2, TWO, strings::split),
    plain("startswith", "startswith(string, prefix)", 2, TWO, strings::startswith),
    plain("strcontains", "strcontains(string, substr)", 2, TWO, strings::strcontains),
    plain("strrev", "strrev(string)", 1, ONE, strings::strrev),
    plain("substr", "substr(string, offset, length)", 3, THREE, strings::substr),
    plain("sum", "sum(list)", 1, ONE, numbers::sum),
    raw("templatefile", "templatefile(path, vars)", 2, TWO, templates::templatefile),
    Func {
        name: "templatestring",
        usage: "templatestring(template, vars)",
        min: 2,
        max: TWO,
        kind: Kind::Lazy(templates::templatestring),
    },
    plain("textdecodebase64", "textdecodebase64(string, encoding)", 2, TWO, encoding::textdecodebase64),
    plain("textencodebase64", "textencodebase64(string, encoding)", 2, TWO, encoding::textencodebase64),
    plain("timeadd", "timeadd(timestamp, duration)", 2, TWO, time::timeadd),
    plain("timecmp", "timecmp(timestamp_a, timestamp_b)", 2, TWO, time::timecmp),
    plain("timestamp", "timestamp()", 0, Some(0), time::timestamp),
    plain("title", "title(string)", 1, ONE, strings::title),
    plain("tobool", "tobool(value)", 1, ONE, conversion::tobool),
    raw("tolist", "tolist(value)", 1, ONE, conversion::tolist),
    raw("tomap", "tomap(value)", 1, ONE, conversion::tomap),
    plain("tonumber", "tonumber(value)", 1, ONE, conversion::tonumber),
    plain("toset", "toset(value)", 1, ONE, conversion::toset),
    plain("tostring", "tostring(value)", 1, ONE, conversion::tostring),
    plain("transpose", "transpose(map)", 1, ONE, collections::transpose),
    plain("trim", "trim(string, characters)", 2, TWO, strings::trim),
    plain("trimprefix", "trimprefix(string, prefix)", 2, TWO, strings::trimprefix),
    plain("trimspace", "trimspace(string)", 1, ONE, strings::trimspace),
    plain("trimsuffix", "trimsuffix(string, suffix)", 2, TWO, strings::trimsuffix),
    Func { name: "try", usage: "try(expressions...)", min: 1, max: ANY, kind: Kind::Lazy(conversion::try_) },
    plain("upper", "upper(string)", 1, ONE, strings::upper),
    plain("urlencode", "urlencode(string)", 1, ONE, encoding::urlencode),
    plain("uuid", "uuid()", 0, Some(0), crypto::uuid),
    plain("uuidv5", "uuidv5(namespace, name)", 2, TWO, crypto::uuidv5),
    raw("values", "values(map)", 1, ONE, collections::values),
    plain("yamldecode", "yamldecode(string)", 1, ONE, yaml::yamldecode),
    plain("yamlencode", "yamlencode(value)", 1, ONE, yaml::yamlencode),
    raw("zipmap", "zipmap(keys, values)", 2, TWO, collections::zipmap),
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

/// Terraform functions gantry knows of but does not offer, and why.
const UNSUPPORTED: &[(&str, &str)] = &[
    ("rsadecrypt", "gantry does not decrypt with private keys in stack files"),
    ("type", "type() exists only in terraform console"),
];

pub(crate) fn unknown_function_error(name: &str, span: SpanRange) -> EvalError {
    if name.starts_with("provider::") {
        return error(
            format!("Unsupported function \"{name}\": provider-defined functions are not supported by gantry"),
            span,
        );
    }
    if let Some((_, why)) = UNSUPPORTED.iter().find(|(n, _)| *n == name) {
        return error(format!("Unsupported function \"{name}\": {why}"), span);
    }
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
