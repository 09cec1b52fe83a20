//! Type conversion functions, the sensitivity ones, and the lazy `try` and `can`.

use super::{first, list_arg, Cx, FnError, R};
use crate::eval::convert::a_type;
use crate::eval::convert::equal;
use crate::eval::convert::split_mark;
use crate::eval::convert::to_bool;
use crate::eval::convert::to_number;
use crate::eval::convert::{stringify, to_string, unify, Unified};
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
        Value::List(items) => Ok(Value::List(unified(items, 0)?).marked_if(marked)),
        Value::Null | Value::Unknown => Ok(v.marked_if(marked)),
        other => Err(FnError::arg(0, format!("cannot convert {} to a list", a_type(&other)))),
    }
}

pub(super) fn tomap(_: &mut Cx, a: Vec<Value>) -> R {
    let (v, marked) = split_mark(first(a));
    match v {
        Value::Map(map) => {
            let (keys, values): (Vec<String>, Vec<Value>) = map.into_iter().unzip();
            Ok(Value::Map(keys.into_iter().zip(unified(values, 0)?).collect()).marked_if(marked))
        }
        Value::Null | Value::Unknown => Ok(v.marked_if(marked)),
        other => Err(FnError::arg(0, format!("cannot convert {} to a map", a_type(&other)))),
    }
}

/// The elements of a list or map given one type, as converting to a
/// collection does: mixed primitives become strings, other mixes fail.
pub(super) fn unified(items: Vec<Value>, i: usize) -> Result<Vec<Value>, FnError> {
    match unify(&items) {
        Unified::Same => Ok(items),
        Unified::Strings => Ok(items.into_iter().map(stringify).collect()),
        Unified::Conflict => {
            Err(FnError::arg(i, "all elements must have the same type (or be convertible to strings)"))
        }
    }
}

pub(super) fn issensitive(_: &mut Cx, a: Vec<Value>) -> R {
    let v = first(a);
    if v.is_sensitive() {
        Ok(Value::Bool(true))
    } else if v.is_known() {
        Ok(Value::Bool(false))
    } else {
        // An unknown value may still turn out sensitive.
        Ok(Value::Unknown)
    }
}

/// gantry has no ephemeral values, so every value passes through.
pub(super) fn ephemeralasnull(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(first(a))
}

/// A set as Terraform orders it: strings sorted bytewise, numbers by value,
/// false before true, nulls last, no duplicates. Mixed primitives are
/// unified to strings first, as Terraform's type unification does.
pub(crate) fn make_set(items: Vec<Value>) -> Result<Vec<Value>, String> {
    let mut items: Vec<Value> = match unify(&items) {
        Unified::Same => items,
        Unified::Strings => items.into_iter().map(stringify).collect(),
        Unified::Conflict => return Err("all elements must have the same type (or be convertible to strings)".into()),
    };
    items.sort_by(|a, b| match (a.peel(), b.peel()) {
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
        (Value::Null, _) => std::cmp::Ordering::Greater,
        (_, Value::Null) => std::cmp::Ordering::Less,
        _ => std::cmp::Ordering::Equal,
    });
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
