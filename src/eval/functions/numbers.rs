//! Numeric functions: `abs`, `ceil`, `floor`, `pow`, `range`, ...

use super::{finite, int_arg, list_arg, num_arg, str_arg, Cx, FnError, R};
use crate::eval::convert::to_number;
use crate::value::Value;

pub(super) fn abs(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Number(num_arg(&a, 0)?.abs()))
}

pub(super) fn ceil(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Number(num_arg(&a, 0)?.ceil()))
}

pub(super) fn floor(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::Number(num_arg(&a, 0)?.floor()))
}

pub(super) fn signum(_: &mut Cx, a: Vec<Value>) -> R {
    let n = num_arg(&a, 0)?;
    // Terraform's signum takes whole numbers only.
    if n.fract() != 0.0 {
        return Err(FnError::call("signum takes a whole number"));
    }
    Ok(Value::Number(if n > 0.0 {
        1.0
    } else if n < 0.0 {
        -1.0
    } else {
        0.0
    }))
}

pub(super) fn pow(_: &mut Cx, a: Vec<Value>) -> R {
    finite(num_arg(&a, 0)?.powf(num_arg(&a, 1)?))
}

pub(super) fn max(_: &mut Cx, a: Vec<Value>) -> R {
    extreme(&a, f64::max)
}

pub(super) fn min(_: &mut Cx, a: Vec<Value>) -> R {
    extreme(&a, f64::min)
}

fn extreme(a: &[Value], pick: fn(f64, f64) -> f64) -> R {
    let mut best = num_arg(a, 0)?;
    for i in 1..a.len() {
        best = pick(best, num_arg(a, i)?);
    }
    Ok(Value::Number(best))
}

pub(super) fn sum(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn range(_: &mut Cx, a: Vec<Value>) -> R {
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

pub(super) fn log(_: &mut Cx, a: Vec<Value>) -> R {
    let n = num_arg(&a, 0)?;
    let base = num_arg(&a, 1)?;
    finite(n.ln() / base.ln())
}

/// Digits of bases up to 62: 0-9, then a-z, then A-Z (case-insensitive
/// up to base 36, as Go's big.Int reads them).
fn digit_value(c: char, base: u32) -> Option<u32> {
    let v = match c {
        '0'..='9' => c as u32 - '0' as u32,
        'a'..='z' => c as u32 - 'a' as u32 + 10,
        'A'..='Z' if base <= 36 => c as u32 - 'A' as u32 + 10,
        'A'..='Z' => c as u32 - 'A' as u32 + 36,
        _ => return None,
    };
    (v < base).then_some(v)
}

pub(super) fn parseint(cx: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let base = int_arg(&a, 1)?;
    if !(2..=62).contains(&base) {
        return Err(FnError::arg(1, "the base must be between 2 and 62"));
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    if digits.is_empty() {
        return Err(FnError::arg(0, format!("cannot parse {} as a base {base} integer", cx.quote(&s))));
    }
    let mut n = 0f64;
    for c in digits.chars() {
        let d = digit_value(c, base as u32)
            .ok_or_else(|| FnError::arg(0, format!("cannot parse {} as a base {base} integer", cx.quote(&s))))?;
        n = n * base as f64 + f64::from(d);
    }
    finite(if negative { -n } else { n })
}
