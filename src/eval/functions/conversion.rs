//! Type conversion functions, the sensitivity ones, and the lazy `try` and `can`.

use super::{first, list_arg, Cx, FnError, R};
use crate::eval::convert::a_type;
use crate::eval::convert::equal;
use crate::eval::convert::split_mark;
use crate::eval::convert::to_bool;
use crate::eval::convert::to_number;
use crate::eval::convert::to_string;
use crate::eval::expr::error;
use crate::eval::expr::Evaluator;
use crate::eval::EvalError;
use crate::value::Value;
use hcl_edit::expr::FuncCall;
use hcl_edit::Span;

pub(super) fn tostring(_: &mut Cx, a: Vec<Value>) -> R {
    match first(a) {
        Value::Null => Ok(Value::Null),
        v => to_string(&v).map(Value::String).map_err(|m| FnError::arg(0, format!("cannot convert to string: {m}"))),
    }
}

pub(super) fn tonumber(_: &mut Cx, a: Vec<Value>) -> R {
    match first(a) {
        Value::Null => Ok(Value::Null),
        v => to_number(&v).map(Value::Number).map_err(|m| FnError::arg(0, format!("cannot convert to number: {m}"))),
    }
}

pub(super) fn tobool(_: &mut Cx, a: Vec<Value>) -> R {
    match first(a) {
        Value::Null => Ok(Value::Null),
        v => to_bool(&v).map(Value::Bool).map_err(|m| FnError::arg(0, format!("cannot convert to bool: {m}"))),
    }
}

pub(super) fn tolist(_: &mut Cx, a: Vec<Value>) -> R {
    let (v, marked) = split_mark(first(a));
    match v {
        Value::List(_) | Value::Null | Value::Unknown => Ok(v.marked_if(marked)),
        other => Err(FnError::arg(0, format!("cannot convert {} to a list", a_type(&other)))),
    }
}

pub(super) fn tomap(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn dedupe(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !out.iter().any(|o| equal(o, &item)) {
            out.push(item);
        }
    }
    out
}

pub(super) fn toset(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?.clone();
    make_set(items).map(Value::List).map_err(|m| FnError::arg(0, m))
}

pub(super) fn sensitive(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(first(a).mark_sensitive())
}

pub(super) fn nonsensitive(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(first(a).unmark().0)
}

// ---- lazy ----

pub(super) fn try_(ev: &mut Evaluator<'_>, call: &FuncCall) -> Result<Value, EvalError> {
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

pub(super) fn can(ev: &mut Evaluator<'_>, call: &FuncCall) -> Result<Value, EvalError> {
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
