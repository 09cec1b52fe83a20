//! Encoding functions: JSON, base64, CSV, URLs and text encodings (YAML
//! is in `yaml`).

use super::{arg, str_arg, Cx, FnError, R};
use crate::value::Value;
use base64::Engine as _;

/// JSON as Terraform's `jsonencode` writes it: compact, keys sorted, and
/// `<`, `>`, `&`, U+2028 and U+2029 escaped (Go's encoder escapes them so
/// the result is safe inside HTML).
pub(super) fn json_string(v: &Value) -> String {
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

pub(super) fn jsonencode(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(json_string(arg(&a, 0)?)))
}

pub(super) fn jsondecode(cx: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    match serde_json::from_str::<serde_json::Value>(&s) {
        Ok(json) => Ok(Value::from_json(&json)),
        Err(_) if cx.sensitive => Err(FnError::arg(0, "the string is not valid JSON")),
        Err(e) => Err(FnError::arg(0, format!("the string is not valid JSON: {e}"))),
    }
}

pub(super) fn base64encode(_: &mut Cx, a: Vec<Value>) -> R {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(str_arg(&a, 0)?)))
}

pub(super) fn base64decode(_: &mut Cx, a: Vec<Value>) -> R {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(str_arg(&a, 0)?)
        .map_err(|_| FnError::arg(0, "the string is not valid base64"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| FnError::arg(0, "the decoded bytes are not valid UTF-8; Terraform strings must be UTF-8"))
}

pub(super) fn base64gzip(_: &mut Cx, a: Vec<Value>) -> R {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(str_arg(&a, 0)?.as_bytes()).map_err(|e| FnError::call(format!("cannot compress: {e}")))?;
    let bytes = gz.finish().map_err(|e| FnError::call(format!("cannot compress: {e}")))?;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// Go's `url.QueryEscape`: unreserved characters stay, a space becomes `+`.
pub(super) fn urlencode(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    Ok(Value::String(out))
}

/// CSV with a header line, as a list of maps from column name to field.
pub(super) fn csvdecode(cx: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let describe = |e: csv::Error| {
        FnError::call(if cx.sensitive {
            "the string is not valid CSV".to_string()
        } else {
            format!("the string is not valid CSV: {e}")
        })
    };
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(s.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(h) => h.map_err(describe)?,
        None => return Err(FnError::call("missing header line")),
    };
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(FnError::call(format!("duplicate column name \"{n}\"")));
        }
    }
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(describe)?;
        rows.push(Value::Map(names.iter().cloned().zip(record.iter().map(Value::string)).collect()));
    }
    Ok(Value::List(rows))
}

/// A character encoding named by its IANA name, as Terraform's
/// `textencodebase64` takes it.
enum Charset {
    Utf8,
    Utf16 { little: bool, bom: bool },
    Latin1,
    Ascii,
    Whatwg(&'static encoding_rs::Encoding),
}

fn charset(name: &str, i: usize) -> Result<Charset, FnError> {
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "utf-8" | "utf8" => Charset::Utf8,
        "utf-16" => Charset::Utf16 { little: false, bom: true },
        "utf-16be" => Charset::Utf16 { little: false, bom: false },
        "utf-16le" => Charset::Utf16 { little: true, bom: false },
        // WHATWG reads these labels as windows-1252; IANA means the real thing.
        "iso-8859-1" | "iso_8859-1" | "latin1" | "l1" | "iso-ir-100" | "cp819" | "ibm819" => Charset::Latin1,
        "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us" => Charset::Ascii,
        _ => match encoding_rs::Encoding::for_label_no_replacement(lower.as_bytes()) {
            Some(e) => Charset::Whatwg(e),
            None => {
                return Err(FnError::arg(
                    i,
                    format!("\"{name}\" is not an encoding gantry supports; use an IANA name such as UTF-8, UTF-16LE, ISO-8859-1, windows-1252 or Shift_JIS"),
                ))
            }
        },
    })
}

pub(super) fn textencodebase64(_: &mut Cx, a: Vec<Value>) -> R {
    let s = str_arg(&a, 0)?;
    let name = str_arg(&a, 1)?;
    let cannot = || FnError::arg(0, format!("the string holds characters that {name} cannot encode"));
    let bytes: Vec<u8> = match charset(&name, 1)? {
        Charset::Utf8 => s.into_bytes(),
        Charset::Utf16 { little, bom } => {
            let units = (if bom { Some(0xFEFF) } else { None }).into_iter().chain(s.encode_utf16());
            units.flat_map(|u| if little { u.to_le_bytes() } else { u.to_be_bytes() }).collect()
        }
        Charset::Latin1 => {
            s.chars().map(|c| u8::try_from(u32::from(c)).map_err(|_| cannot())).collect::<Result<_, _>>()?
        }
        Charset::Ascii => {
            s.chars().map(|c| if c.is_ascii() { Ok(c as u8) } else { Err(cannot()) }).collect::<Result<_, _>>()?
        }
        Charset::Whatwg(e) => {
            let (bytes, used, had_errors) = e.encode(&s);
            if had_errors || used != e {
                return Err(cannot());
            }
            bytes.into_owned()
        }
    };
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)))
}

pub(super) fn textdecodebase64(_: &mut Cx, a: Vec<Value>) -> R {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(str_arg(&a, 0)?)
        .map_err(|_| FnError::arg(0, "the string is not valid base64"))?;
    let name = str_arg(&a, 1)?;
    let invalid = || FnError::arg(0, format!("the decoded bytes are not valid {name}"));
    let text = match charset(&name, 1)? {
        Charset::Utf8 => String::from_utf8(bytes).map_err(|_| invalid())?,
        Charset::Utf16 { little, bom } => {
            if bytes.len() % 2 != 0 {
                return Err(invalid());
            }
            let mut units: Vec<u16> = bytes
                .chunks(2)
                .map(|p| if little { u16::from_le_bytes([p[0], p[1]]) } else { u16::from_be_bytes([p[0], p[1]]) })
                .collect();
            let mut little_bom = false;
            if bom {
                match units.first() {
                    Some(0xFEFF) => {
                        units.remove(0);
                    }
                    Some(0xFFFE) => little_bom = true,
                    _ => {}
                }
            }
            if little_bom {
                units = units.iter().skip(1).map(|u| u.swap_bytes()).collect();
            }
            String::from_utf16(&units).map_err(|_| invalid())?
        }
        Charset::Latin1 => bytes.iter().map(|&b| char::from(b)).collect(),
        Charset::Ascii => {
            if !bytes.is_ascii() {
                return Err(invalid());
            }
            bytes.iter().map(|&b| char::from(b)).collect()
        }
        Charset::Whatwg(e) => {
            e.decode_without_bom_handling_and_without_replacement(&bytes).ok_or_else(invalid)?.into_owned()
        }
    };
    Ok(Value::String(text))
}
