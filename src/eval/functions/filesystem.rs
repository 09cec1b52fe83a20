//! Filesystem functions: `file`, `filebase64`, `fileexists`, `templatefile`.

use super::{raw_map, raw_scalar, str_arg, Cx, FnError, R};
use crate::eval::convert::to_string;
use crate::value::Value;
use base64::Engine as _;
use std::path::PathBuf;

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

pub(super) fn file(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    let bytes = read_file(cx, &path)?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| {
        FnError::arg(
            0,
            format!("the contents of {} are not valid UTF-8; use filebase64 for binary files", cx.quote(&path)),
        )
    })
}

pub(super) fn filebase64(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(read_file(cx, &path)?)))
}

pub(super) fn fileexists(cx: &mut Cx, a: Vec<Value>) -> R {
    let path = str_arg(&a, 0)?;
    Ok(Value::Bool(resolve_path(cx, &path).is_file()))
}

pub(super) fn templatefile(cx: &mut Cx, a: Vec<Value>) -> R {
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
