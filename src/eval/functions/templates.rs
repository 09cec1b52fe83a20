//! `templatefile` and `templatestring`: a template read from a file or held
//! in a string value, rendered with only the variables passed to it.

use std::collections::BTreeMap;

use hcl_edit::expr::{Expression, FuncCall};
use hcl_edit::Span;

use super::filesystem::read_file;
use super::{raw_map, raw_scalar, Cx, FnError, R};
use crate::eval::convert::{split_mark, to_string};
use crate::eval::expr::{error, Evaluator};
use crate::eval::EvalError;
use crate::value::Value;

fn check_var_names(vars: &BTreeMap<String, Value>) -> Result<(), FnError> {
    for name in vars.keys() {
        let mut chars = name.chars();
        let ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(FnError::arg(1, format!("invalid template variable name \"{name}\": it must start with a letter and contain only letters, digits, underscores and dashes")));
        }
    }
    Ok(())
}

/// Parses and renders `text`; `shown` names the template in errors.
fn render(ev: &mut Evaluator<'_>, text: &str, vars: BTreeMap<String, Value>, shown: &str) -> R {
    if ev.in_template_file() {
        return Err(FnError::call("a template cannot call templatefile or templatestring"));
    }
    let template = hcl_edit::parser::parse_template(text)
        .map_err(|e| FnError::arg(0, format!("the template {shown} is invalid: {e}")))?;
    let mut sub = ev.for_template(vars);
    let result = sub.eval_template_wrapped(&template);
    ev.absorb(&sub);
    result.map_err(|e| {
        let at = e.span.as_ref().map(|s| line_col(text, s.start)).map(|(l, c)| format!(":{l},{c}")).unwrap_or_default();
        FnError::call(format!("error in template {shown}{at}: {}", e.message))
    })
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
    check_var_names(&vars)?;
    let bytes = read_file(cx, &path)?;
    let shown = cx.quote(&path);
    let text = String::from_utf8(bytes)
        .map_err(|_| FnError::arg(0, format!("the contents of {shown} are not valid UTF-8")))?;
    Ok(render(cx.ev, &text, vars, &shown)?.marked_if(pmark || vmark))
}

/// `templatestring(local.tpl, {...})`. As in Terraform, the template must
/// be a reference to a named value, never a literal: a literal would be
/// rendered twice, once as a quoted string and again here.
pub(super) fn templatestring(ev: &mut Evaluator<'_>, call: &FuncCall) -> Result<Value, EvalError> {
    let args: Vec<&Expression> = call.args.iter().collect();
    let fail =
        |m: String, span| error(format!("Invalid function argument: {m}; usage: templatestring(template, vars)"), span);
    let [template, vars] = args.as_slice() else {
        return Err(error("templatestring expects 2 arguments: templatestring(template, vars)", call.span()));
    };
    if !matches!(template, Expression::Variable(_) | Expression::Traversal(_)) {
        return Err(fail(
            "the template must be a reference to a value holding it, such as local.template, not a literal".into(),
            template.span(),
        ));
    }
    let (text, tmark) = split_mark(ev.eval(template)?);
    let (vars_value, vmark) = split_mark(ev.eval(vars)?);
    let marked = tmark || vmark;
    let text = match text {
        Value::Unknown => return Ok(Value::Unknown.marked_if(marked)),
        Value::String(s) => s,
        other => {
            return Err(fail(
                format!("the template must be a string, not {}", crate::eval::convert::a_type(&other)),
                template.span(),
            ))
        }
    };
    let vars = match raw_map(vars_value, 1) {
        Ok((Some(map), m)) => (map, m),
        Ok((None, m)) => return Ok(Value::Unknown.marked_if(marked || m)),
        Err(e) => return Err(fail(e.message, vars.span())),
    };
    check_var_names(&vars.0).map_err(|e| fail(e.message, call.span()))?;
    let shown = if marked { "(sensitive value)".to_string() } else { "string".to_string() };
    render(ev, &text, vars.0, &shown).map(|v| v.marked_if(marked || vars.1)).map_err(|e| {
        error(format!("Error in function call: call to function \"templatestring\" failed: {}", e.message), call.span())
    })
}

/// 1-based line and column of a byte offset, for errors inside templates.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
