//! String templates: `"a ${x} b"`, heredocs, `%{if}` / `%{for}` directives
//! and the `~` strip markers.

use hcl_edit::template::{Directive, Element, ForDirective, IfDirective, Template};
use hcl_edit::Span;

use super::convert::{split_mark, split_mark_keeping_keys, to_bool};
use super::expr::{error, iteration_items, Evaluator, SpanRange};
use super::EvalError;
use crate::value::{format_number, Value};

/// What rendering has produced so far. Rendering continues past an unknown
/// part so that errors in later parts still surface during plan.
#[derive(Default)]
struct Output {
    text: String,
    unknown: bool,
    sensitive: bool,
}

/// Whether an element strips the whitespace of the literal before it
/// (`${~`, `%{~ if`) and of the literal after it (`~}` of `${ }`, `%{ endif ~}`).
fn outer_strip(element: &Element) -> (bool, bool) {
    match element {
        Element::Literal(_) => (false, false),
        Element::Interpolation(i) => (i.strip.strip_start(), i.strip.strip_end()),
        Element::Directive(d) => match d.as_ref() {
            Directive::If(d) => (d.if_expr.strip.strip_start(), d.endif_expr.strip.strip_end()),
            Directive::For(d) => (d.for_expr.strip.strip_start(), d.endfor_expr.strip.strip_end()),
        },
    }
}

impl Evaluator<'_> {
    /// A quoted string or `templatefile` template. `"${x}"` alone yields `x`
    /// itself, not a string, as in Terraform (so `"${var.list}"` stays a list).
    pub(crate) fn eval_template_wrapped(&mut self, t: &Template) -> Result<Value, EvalError> {
        if let Some(Element::Interpolation(i)) = t.as_single_element() {
            return self.eval(&i.expr);
        }
        self.eval_template(t)
    }

    /// Renders a template to a string (unknown if any part is unknown).
    pub(crate) fn eval_template(&mut self, t: &Template) -> Result<Value, EvalError> {
        let mut out = Output::default();
        self.render(t, false, false, &mut out)?;
        // Terraform keeps strings in Unicode normal form C.
        let result = if out.unknown { Value::Unknown } else { Value::String(nfc(out.text)) };
        Ok(result.marked_if(out.sensitive))
    }

    /// `trim_first` / `trim_last`: whether the enclosing directive's markers
    /// strip the whitespace at the start / end of this template.
    fn render(&mut self, t: &Template, trim_first: bool, trim_last: bool, out: &mut Output) -> Result<(), EvalError> {
        let elements: Vec<&Element> = t.iter().collect();
        for (i, element) in elements.iter().enumerate() {
            match element {
                Element::Literal(lit) => {
                    let trim_start = if i == 0 { trim_first } else { outer_strip(elements[i - 1]).1 };
                    let trim_end = match elements.get(i + 1) {
                        Some(next) => outer_strip(next).0,
                        None => trim_last,
                    };
                    // Terraform strips all whitespace, newlines included.
                    let mut s = lit.value().as_str();
                    if trim_start {
                        s = s.trim_start();
                    }
                    if trim_end {
                        s = s.trim_end();
                    }
                    out.text.push_str(s);
                }
                Element::Interpolation(interp) => {
                    let value = self.eval(&interp.expr)?;
                    self.append(value, interp.expr.span(), out)?;
                }
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => self.render_if(d, out)?,
                    Directive::For(d) => self.render_for(d, out)?,
                },
            }
        }
        Ok(())
    }

    fn append(&mut self, value: Value, span: SpanRange, out: &mut Output) -> Result<(), EvalError> {
        let (value, marked) = value.unmark();
        out.sensitive |= marked;
        match value {
            Value::Unknown => out.unknown = true,
            Value::String(s) => out.text.push_str(&s),
            Value::Number(n) => out.text.push_str(&format_number(n)),
            Value::Bool(b) => out.text.push_str(if b { "true" } else { "false" }),
            Value::Null => {
                return Err(error(
                    "Invalid template interpolation value: the expression result is null; cannot include a null value in a string template",
                    span,
                ))
            }
            other => {
                return Err(error(
                    format!("Invalid template interpolation value: cannot include a value of type {} in a string template; a string is required", other.type_name()),
                    span,
                ))
            }
        }
        Ok(())
    }

    fn render_if(&mut self, d: &IfDirective, out: &mut Output) -> Result<(), EvalError> {
        let cond_expr = &d.if_expr.cond_expr;
        let (cond, marked) = split_mark(self.eval(cond_expr)?);
        out.sensitive |= marked;
        if cond.is_unknown() {
            out.unknown = true;
            return Ok(());
        }
        let cond = to_bool(&cond).map_err(|m| {
            error(format!("Invalid 'if' directive condition: the condition must be a bool: {m}."), cond_expr.span())
        })?;
        let if_end_strip = match &d.else_expr {
            Some(e) => e.strip.strip_start(),
            None => d.endif_expr.strip.strip_start(),
        };
        if cond {
            self.render(&d.if_expr.template, d.if_expr.strip.strip_end(), if_end_strip, out)
        } else if let Some(e) = &d.else_expr {
            self.render(&e.template, e.strip.strip_end(), d.endif_expr.strip.strip_start(), out)
        } else {
            Ok(())
        }
    }

    fn render_for(&mut self, d: &ForDirective, out: &mut Output) -> Result<(), EvalError> {
        let f = &d.for_expr;
        let (collection, marked) = split_mark_keeping_keys(self.eval(&f.collection_expr)?);
        out.sensitive |= marked;
        let Some(pairs) = iteration_items(collection, f.collection_expr.span(), "a 'for' directive")? else {
            out.unknown = true;
            return Ok(());
        };
        let trim_first = f.strip.strip_end();
        let trim_last = d.endfor_expr.strip.strip_start();
        for (k, v) in pairs {
            let mut bound = Vec::with_capacity(2);
            if let Some(key_var) = &f.key_var {
                bound.push((key_var.value().to_string(), k));
            }
            bound.push((f.value_var.value().to_string(), v));
            self.with_bindings(bound, |ev| ev.render(&f.template, trim_first, trim_last, out))?;
        }
        Ok(())
    }
}

/// `s` in Unicode normal form C, as Terraform stores every string
/// (`"e\u0301"` is `"\u00e9"`); cheap when it already is.
pub(crate) fn nfc(s: String) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    if unicode_normalization::is_nfc_quick(s.chars()) == unicode_normalization::IsNormalized::Yes {
        s
    } else {
        s.nfc().collect()
    }
}
