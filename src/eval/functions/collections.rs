//! Collection functions: lists, maps and sets.

use super::conversion::{dedupe, make_set};
use super::{arg, first, int_arg, list_arg, raw_list, raw_map, raw_scalar, string_list, Cx, FnError, R};
use crate::eval::convert::a_type;
use crate::eval::convert::equal;
use crate::eval::convert::split_mark;
use crate::eval::convert::split_mark_keeping_keys;
use crate::eval::convert::to_bool;
use crate::eval::convert::to_integer;
use crate::eval::convert::to_string;
use crate::eval::convert::MAX_VALUE_DEPTH;
use crate::eval::convert::{stringify, unify, Unified};
use crate::value::Value;
use std::collections::BTreeMap;
use unicode_segmentation::UnicodeSegmentation;

pub(super) fn length(_: &mut Cx, a: Vec<Value>) -> R {
    let (v, marked) = split_mark_keeping_keys(first(a));
    let n = match v {
        Value::Unknown => return Ok(Value::Unknown.marked_if(marked)),
        Value::String(s) => s.graphemes(true).count(),
        Value::List(items) => items.len(),
        Value::Map(map) => map.len(),
        Value::Null => return Err(FnError::arg(0, "argument must not be null")),
        other => return Err(FnError::arg(0, format!("a collection or string is required, not {}", a_type(&other)))),
    };
    Ok(Value::Number(n as f64).marked_if(marked))
}

pub(super) fn keys(_: &mut Cx, a: Vec<Value>) -> R {
    let (map, marked) = raw_map(first(a), 0)?;
    let Some(map) = map else { return Ok(Value::Unknown.marked_if(marked)) };
    Ok(Value::List(map.into_keys().map(Value::String).collect()).marked_if(marked))
}

pub(super) fn values(_: &mut Cx, a: Vec<Value>) -> R {
    let (map, marked) = raw_map(first(a), 0)?;
    let Some(map) = map else { return Ok(Value::Unknown.marked_if(marked)) };
    Ok(Value::List(map.into_values().collect()).marked_if(marked))
}

pub(super) fn lookup(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn element(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn concat(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn merge(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn flatten(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn reverse(_: &mut Cx, a: Vec<Value>) -> R {
    let (list, marked) = raw_list(first(a), 0)?;
    let Some(mut list) = list else { return Ok(Value::Unknown.marked_if(marked)) };
    list.reverse();
    Ok(Value::List(list).marked_if(marked))
}

pub(super) fn slice(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn one(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn coalesce(_: &mut Cx, a: Vec<Value>) -> R {
    let mut marked = false;
    // The arguments share one type: `coalesce(1, "a")` is the string "1".
    let strings = unify(&a) == Unified::Strings;
    for v in a {
        let inner = v.peel();
        if inner.is_unknown() {
            return Ok(Value::Unknown.marked_if(marked || v.is_sensitive()));
        }
        let empty = matches!(inner, Value::Null) || matches!(inner, Value::String(s) if s.is_empty());
        if !empty {
            let v = if strings { stringify(v) } else { v };
            return Ok(v.marked_if(marked));
        }
        marked |= v.is_sensitive();
    }
    Err(FnError::call("no non-null, non-empty-string arguments"))
}

pub(super) fn coalescelist(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn zipmap(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn contains(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?;
    let needle = arg(&a, 1)?;
    Ok(Value::Bool(items.iter().any(|v| equal(v, needle))))
}

pub(super) fn index(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?;
    let needle = arg(&a, 1)?;
    match items.iter().position(|v| equal(v, needle)) {
        Some(i) => Ok(Value::Number(i as f64)),
        None => Err(FnError::call("item not found")),
    }
}

pub(super) fn distinct(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::List(dedupe(list_arg(&a, 0)?.clone())))
}

pub(super) fn compact(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn sort(_: &mut Cx, a: Vec<Value>) -> R {
    let mut items = string_list(&a, 0)?;
    items.sort();
    Ok(Value::List(items.into_iter().map(Value::String).collect()))
}

pub(super) fn alltrue(_: &mut Cx, a: Vec<Value>) -> R {
    let mut all = true;
    for (n, v) in list_arg(&a, 0)?.iter().enumerate() {
        all &= to_bool(v).map_err(|m| FnError::arg(0, format!("element {n}: {m}")))?;
    }
    Ok(Value::Bool(all))
}

pub(super) fn anytrue(_: &mut Cx, a: Vec<Value>) -> R {
    let mut any = false;
    for (n, v) in list_arg(&a, 0)?.iter().enumerate() {
        any |= to_bool(v).map_err(|m| FnError::arg(0, format!("element {n}: {m}")))?;
    }
    Ok(Value::Bool(any))
}

/// Bound on `chunklist`'s and `setproduct`'s output, which can be far
/// larger than their input.
const MAX_ELEMENTS: usize = 1 << 20;

pub(super) fn chunklist(_: &mut Cx, a: Vec<Value>) -> R {
    let items = list_arg(&a, 0)?;
    let size = int_arg(&a, 1)?;
    if size < 0 {
        return Err(FnError::call("the chunk size must not be negative"));
    }
    if items.is_empty() {
        return Ok(Value::List(Vec::new()));
    }
    // A size of 0 means one chunk holding everything, as in Terraform.
    let size = if size == 0 { items.len() } else { size as usize };
    Ok(Value::List(items.chunks(size).map(|c| Value::List(c.to_vec())).collect()))
}

pub(super) fn matchkeys(_: &mut Cx, a: Vec<Value>) -> R {
    let values = list_arg(&a, 0)?;
    let keys = list_arg(&a, 1)?;
    let search = list_arg(&a, 2)?;
    if values.len() != keys.len() {
        return Err(FnError::call(format!(
            "the values list has {} elements but the keys list has {}; they must have the same length",
            values.len(),
            keys.len()
        )));
    }
    let picked = values.iter().zip(keys).filter(|(_, k)| search.iter().any(|s| equal(s, k))).map(|(v, _)| v.clone());
    Ok(Value::List(picked.collect()))
}

/// The set arguments of the set functions, each as a deduplicated set.
fn sets(a: &[Value]) -> Result<Vec<Vec<Value>>, FnError> {
    (0..a.len()).map(|i| make_set(list_arg(a, i)?.clone()).map_err(|m| FnError::arg(i, m))).collect()
}

/// The result of a set function: elements unified and ordered as a set.
fn set_result(items: Vec<Value>) -> R {
    make_set(items).map(Value::List).map_err(FnError::call)
}

pub(super) fn setunion(_: &mut Cx, a: Vec<Value>) -> R {
    set_result(sets(&a)?.into_iter().flatten().collect())
}

pub(super) fn setintersection(_: &mut Cx, a: Vec<Value>) -> R {
    let mut sets = sets(&a)?.into_iter();
    let first = sets.next().unwrap_or_default();
    let rest: Vec<Vec<Value>> = sets.collect();
    set_result(first.into_iter().filter(|v| rest.iter().all(|s| s.iter().any(|o| equal(o, v)))).collect())
}

pub(super) fn setsubtract(_: &mut Cx, a: Vec<Value>) -> R {
    let sets = sets(&a)?;
    let (from, minus) = (&sets[0], &sets[1]);
    set_result(from.iter().filter(|v| !minus.iter().any(|o| equal(o, v))).cloned().collect())
}

pub(super) fn setproduct(_: &mut Cx, a: Vec<Value>) -> R {
    if a.len() < 2 {
        return Err(FnError::call("at least two arguments are required"));
    }
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for i in 0..a.len() {
        let items = list_arg(&a, i)?;
        if rows.len().saturating_mul(items.len()) > MAX_ELEMENTS {
            return Err(FnError::call(format!("the product would have more than {MAX_ELEMENTS} elements")));
        }
        rows = rows
            .iter()
            .flat_map(|row| {
                items.iter().map(move |item| row.iter().cloned().chain(std::iter::once(item.clone())).collect())
            })
            .collect();
    }
    Ok(Value::List(rows.into_iter().map(Value::List).collect()))
}

pub(super) fn transpose(_: &mut Cx, a: Vec<Value>) -> R {
    let map = match arg(&a, 0)? {
        Value::Map(m) => m,
        other => return Err(FnError::arg(0, format!("a map of lists of strings is required, not {}", a_type(other)))),
    };
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (key, list) in map {
        let Value::List(items) = list else {
            return Err(FnError::arg(
                0,
                format!("the value of \"{key}\" must be a list of strings, not {}", a_type(list)),
            ));
        };
        for item in items {
            let s = to_string(item).map_err(|m| FnError::arg(0, format!("an element of \"{key}\": {m}")))?;
            out.entry(s).or_default().push(Value::String(key.clone()));
        }
    }
    Ok(Value::Map(out.into_iter().map(|(k, v)| (k, Value::List(v))).collect()))
}
