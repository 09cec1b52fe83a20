//! Date and time functions: `formatdate`, `timeadd`, `timecmp`,
//! `timestamp` and `plantimestamp`. Timestamps are RFC 3339 strings, as in
//! Terraform; results print without fractional seconds, `Z` for UTC.

use chrono::{DateTime, Datelike, Duration, FixedOffset, SecondsFormat, Timelike, Utc};

use super::{str_arg, Cx, FnError, R};
use crate::value::Value;

fn parse_time(s: &str, i: usize) -> Result<DateTime<FixedOffset>, FnError> {
    // chrono also takes a space or a lowercase `t` between date and time;
    // Terraform insists on RFC 3339's `T`.
    let valid_shape = s.len() >= 20 && s.as_bytes().get(10) == Some(&b'T');
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) if valid_shape => Ok(t),
        _ => Err(FnError::arg(
            i,
            "not a valid RFC 3339 timestamp, such as \"2006-01-02T15:04:05Z\" (a date alone is not a timestamp)",
        )),
    }
}

/// RFC 3339 with whole seconds and `Z` for UTC, as Go's `time.RFC3339` prints.
fn print_time(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(super) fn timestamp(_: &mut Cx, _: Vec<Value>) -> R {
    Ok(Value::String(print_time(Utc::now().fixed_offset())))
}

/// The time the plan started: the first call in this process, so that every
/// use in one plan sees the same instant.
pub(super) fn plantimestamp(_: &mut Cx, _: Vec<Value>) -> R {
    static PLAN_START: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    Ok(Value::String(print_time(PLAN_START.get_or_init(Utc::now).fixed_offset())))
}

pub(super) fn timecmp(_: &mut Cx, a: Vec<Value>) -> R {
    let x = parse_time(&str_arg(&a, 0)?, 0)?;
    let y = parse_time(&str_arg(&a, 1)?, 1)?;
    Ok(Value::Number(match x.cmp(&y) {
        std::cmp::Ordering::Less => -1.0,
        std::cmp::Ordering::Equal => 0.0,
        std::cmp::Ordering::Greater => 1.0,
    }))
}

pub(super) fn timeadd(_: &mut Cx, a: Vec<Value>) -> R {
    let t = parse_time(&str_arg(&a, 0)?, 0)?;
    let d = parse_duration(&str_arg(&a, 1)?).map_err(FnError::call)?;
    let sum = t.checked_add_signed(d).ok_or_else(|| FnError::call("the result is out of the range of timestamps"))?;
    Ok(Value::String(print_time(sum)))
}

/// A Go duration string: a sign, then numbers with units (`1h30m`, `-1.5h`,
/// `500ms`); units are ns, us (µs), ms, s, m and h.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad =
        || format!("invalid duration \"{s}\": expected a number with a unit such as \"1h30m\", \"10m\" or \"-5s\"");
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(Duration::zero());
    }
    if rest.is_empty() {
        return Err(bad());
    }
    let mut total_ns: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (num, tail) = rest.split_at(num_len);
        if num.is_empty() || num == "." {
            return Err(bad());
        }
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        total_ns += value * scale;
        rest = tail;
    }
    if total_ns > i64::MAX as f64 {
        return Err(format!("invalid duration \"{s}\": too long"));
    }
    let ns = total_ns as i64;
    Ok(Duration::nanoseconds(if negative { -ns } else { ns }))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

pub(super) fn formatdate(_: &mut Cx, a: Vec<Value>) -> R {
    let spec = str_arg(&a, 0)?;
    let t = parse_time(&str_arg(&a, 1)?, 1)?;
    let mut out = String::new();
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            // 'literal text'; '' is a quote, inside or outside a literal.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(FnError::arg(0, "the format has an unterminated quoted literal ('...')")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        out.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        out.push(ch);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&x| x == c).count();
        i += run;
        let token: String = std::iter::repeat_n(c, run).collect();
        let offset = t.offset().local_minus_utc();
        let (sign, abs) = if offset < 0 { ('-', -offset) } else { ('+', offset) };
        let (oh, om) = (abs / 3600, abs % 3600 / 60);
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        let piece = match token.as_str() {
            "YYYY" => format!("{:04}", t.year()),
            "YY" => format!("{:02}", t.year().rem_euclid(100)),
            "MMMM" => MONTHS[t.month0() as usize].to_string(),
            "MMM" => MONTHS[t.month0() as usize][..3].to_string(),
            "MM" => format!("{:02}", t.month()),
            "M" => t.month().to_string(),
            "DD" => format!("{:02}", t.day()),
            "D" => t.day().to_string(),
            "EEEE" => DAYS[t.weekday().num_days_from_monday() as usize].to_string(),
            "EEE" => DAYS[t.weekday().num_days_from_monday() as usize][..3].to_string(),
            "hh" => format!("{:02}", t.hour()),
            "h" => t.hour().to_string(),
            "HH" => format!("{hour12:02}"),
            "H" => hour12.to_string(),
            "AA" => if t.hour() < 12 { "AM" } else { "PM" }.to_string(),
            "aa" => if t.hour() < 12 { "am" } else { "pm" }.to_string(),
            "mm" => format!("{:02}", t.minute()),
            "m" => t.minute().to_string(),
            "ss" => format!("{:02}", t.second()),
            "s" => t.second().to_string(),
            "ZZZZZ" => format!("{sign}{oh:02}:{om:02}"),
            "ZZZZ" => format!("{sign}{oh:02}{om:02}"),
            "ZZZ" if offset == 0 => "UTC".to_string(),
            "ZZZ" => format!("{sign}{oh:02}{om:02}"),
            "Z" if offset == 0 => "Z".to_string(),
            "Z" => format!("{sign}{oh:02}:{om:02}"),
            other => {
                return Err(FnError::arg(
                    0,
                    format!("invalid date format verb \"{other}\"; put literal letters in single quotes, as in 'T'"),
                ))
            }
        };
        out.push_str(&piece);
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::minutes(90)));
        assert_eq!(parse_duration("-1.5h"), Ok(Duration::minutes(-90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::milliseconds(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::zero()));
        for bad in ["", "1", "1d", "h", "1h-5m", "--1h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
