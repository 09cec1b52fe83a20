//! The expression evaluator: walks hcl-edit's tree, resolving names through
//! a [`Scope`] and carrying unknown and sensitive marks through every step.

use std::collections::BTreeMap;
use std::ops::Range;

use hcl_edit::expr::{
    BinaryOp, BinaryOperator, Conditional, Expression, ForExpr, Object, ObjectKey, TraversalOperator, UnaryOp,
    UnaryOperator,
};
use hcl_edit::{Decorated, Span};

use super::convert::{
    equal, split_mark, split_mark_keeping_keys, stringify, to_bool, to_number, to_string, unify, Unified,
};
use super::{EvalError, Reference, Scope};
use crate::addr::{Mode, ResourceAddr};
use crate::value::Value;

/// Deepest nesting of expressions evaluated at once. hcl-edit already caps
/// parser nesting at 64 and operator chains at 128; this bound is what keeps
/// the evaluator's own recursion off the end of the stack whatever the input.
const MAX_DEPTH: usize = 400;

/// Most evaluation steps one top-level expression may take. Nested `for`
/// expressions multiply (three nested loops over `range(1024)` are a
/// billion steps); this turns such input into an error instead of a hang.
/// Real configurations stay orders of magnitude below it.
const MAX_STEPS: usize = 2_000_000;

/// A byte range in the source, when the parser recorded one.
pub(crate) type SpanRange = Option<Range<usize>>;

/// `value` converted to the type it shares with `other`, where that takes
/// turning primitives into strings; otherwise unchanged.
fn unify_with(value: Value, other: &Value) -> Value {
    let (value, marked) = split_mark(value);
    let value = match (value, other.peel()) {
        (Value::List(items), Value::List(others)) if unify(items.iter().chain(others)) == Unified::Strings => {
            Value::List(items.into_iter().map(stringify).collect())
        }
        (Value::Map(map), Value::Map(others)) if unify(map.values().chain(others.values())) == Unified::Strings => {
            Value::Map(map.into_iter().map(|(k, v)| (k, stringify(v))).collect())
        }
        (v, o) if unify([&v, o]) == Unified::Strings => stringify(v),
        (v, _) => v,
    };
    value.marked_if(marked)
}

pub(crate) fn error(message: impl Into<String>, span: SpanRange) -> EvalError {
    EvalError { message: message.into(), span }
}

/// Evaluates one expression. See the module documentation for the rules.
pub fn eval(expr: &Expression, scope: &dyn Scope) -> Result<Value, EvalError> {
    Evaluator::new(scope).eval(expr)
}

/// Evaluates `expr` with extra names bound, innermost last: the iterators
/// of the `dynamic` blocks it sits in (`ingress.value`).
pub fn eval_with(expr: &Expression, scope: &dyn Scope, bound: &[(String, Value)]) -> Result<Value, EvalError> {
    let mut ev = Evaluator::new(scope);
    ev.with_bindings(bound.to_vec(), |ev| ev.eval(expr))
}

/// Evaluation state for one top-level expression.
pub(crate) struct Evaluator<'s> {
    pub(crate) scope: &'s dyn Scope,
    /// Names bound by enclosing `for` expressions and `%{for}` directives,
    /// innermost last so that lookups search from the end.
    bindings: Vec<(String, Value)>,
    /// Inside `templatefile`, the template sees only the variables passed to
    /// it, never the stack's `var`, `local` or resources.
    template_vars: Option<BTreeMap<String, Value>>,
    depth: usize,
    steps: usize,
}

impl<'s> Evaluator<'s> {
    pub(crate) fn new(scope: &'s dyn Scope) -> Self {
        Evaluator { scope, bindings: Vec::new(), template_vars: None, depth: 0, steps: 0 }
    }

    /// An evaluator for a `templatefile` template, nested in `self` so that
    /// its depth and steps count against the same bounds (see [`Self::absorb`]).
    pub(crate) fn for_template(&self, vars: BTreeMap<String, Value>) -> Evaluator<'s> {
        Evaluator {
            scope: self.scope,
            bindings: Vec::new(),
            template_vars: Some(vars),
            depth: self.depth,
            steps: self.steps,
        }
    }

    /// Takes over the steps a nested template evaluator spent.
    pub(crate) fn absorb(&mut self, nested: &Evaluator<'_>) {
        self.steps = self.steps.max(nested.steps);
    }

    pub(crate) fn bound_names(&self) -> Vec<String> {
        self.bindings.iter().map(|(n, _)| n.clone()).collect()
    }

    pub(crate) fn in_template_file(&self) -> bool {
        self.template_vars.is_some()
    }

    pub(crate) fn eval(&mut self, expr: &Expression) -> Result<Value, EvalError> {
        if self.depth >= MAX_DEPTH {
            return Err(error("Expression too complex: nesting is too deep to evaluate", expr.span()));
        }
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(error(
                format!("Expression too expensive: evaluating it takes more than {MAX_STEPS} steps; check for nested 'for' expressions over large collections"),
                expr.span(),
            ));
        }
        self.depth += 1;
        let result = self.eval_inner(expr);
        self.depth -= 1;
        result
    }

    fn eval_inner(&mut self, expr: &Expression) -> Result<Value, EvalError> {
        match expr {
            Expression::Null(_) => Ok(Value::Null),
            Expression::Bool(b) => Ok(Value::Bool(*b.value())),
            Expression::Number(n) => match n.value().as_f64() {
                Some(n) if n.is_finite() => Ok(Value::Number(n)),
                _ => Err(error("Invalid number literal: the number is out of range", expr.span())),
            },
            Expression::String(s) => Ok(Value::String(super::template::nfc(s.value().clone()))),
            Expression::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    out.push(self.eval(item)?);
                }
                Ok(Value::List(out))
            }
            Expression::Object(object) => self.eval_object(object),
            Expression::StringTemplate(t) => self.eval_template_wrapped(t),
            Expression::HeredocTemplate(h) => self.eval_template(&h.template),
            Expression::Parenthesis(p) => self.eval(p.inner()),
            Expression::Variable(name) => self.eval_variable(name),
            Expression::Conditional(c) => self.eval_conditional(c),
            Expression::FuncCall(call) => self.eval_call(call),
            Expression::Traversal(t) => self.eval_traversal(&t.expr, &t.operators),
            Expression::UnaryOp(op) => self.eval_unary(op),
            Expression::BinaryOp(op) => self.eval_binary(op),
            Expression::ForExpr(f) => self.eval_for(f),
        }
    }

    fn eval_object(&mut self, object: &Object) -> Result<Value, EvalError> {
        let mut map = BTreeMap::new();
        let mut unknown = false;
        let mut sensitive = false;
        for (key, value) in object.iter() {
            let key = match key {
                ObjectKey::Ident(ident) => Some(ident.value().to_string()),
                ObjectKey::Expression(e) => {
                    let (k, marked) = split_mark(self.eval(e)?);
                    sensitive |= marked;
                    if k.is_unknown() {
                        unknown = true;
                        None
                    } else {
                        Some(to_string(&k).map_err(|m| error(format!("Invalid object key: {m}."), e.span()))?)
                    }
                }
            };
            let value = self.eval(value.expr())?;
            if let Some(key) = key {
                map.insert(key, value);
            }
        }
        // An unknown key leaves the object's shape unknown; the other values
        // were still evaluated so that their errors surface now.
        let result = if unknown { Value::Unknown } else { Value::Map(map) };
        Ok(result.marked_if(sensitive))
    }

    fn lookup_binding(&self, name: &str) -> Option<Value> {
        self.bindings.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    pub(crate) fn with_bindings<T>(
        &mut self,
        bound: Vec<(String, Value)>,
        f: impl FnOnce(&mut Self) -> Result<T, EvalError>,
    ) -> Result<T, EvalError> {
        let base = self.bindings.len();
        self.bindings.extend(bound);
        let result = f(self);
        self.bindings.truncate(base);
        result
    }

    /// A bare name: only iteration variables and template variables can be
    /// used without a traversal.
    fn eval_variable(&mut self, name: &Decorated<hcl_edit::Ident>) -> Result<Value, EvalError> {
        let span = name.span();
        let name = name.value().as_str();
        if let Some(v) = self.lookup_binding(name) {
            return Ok(v);
        }
        if let Some(vars) = &self.template_vars {
            return vars.get(name).cloned().ok_or_else(|| {
                error(format!("Unknown variable: there is no variable named \"{name}\" in this template; it can use only the variables passed to templatefile"), span)
            });
        }
        Err(match name {
            "var" | "local" | "count" | "each" | "path" | "data" => error(
                format!("Invalid reference: the \"{name}\" object cannot be accessed directly; access one of its attributes instead (for example {name}.NAME)"),
                span,
            ),
            _ => error(format!("Unknown variable: there is no variable named \"{name}\""), span),
        })
    }

    /// Resolves the root of a traversal (`var.x`, `aws_x.y`, `data.t.n`, ...)
    /// and returns its value and how many operators the root consumed.
    fn resolve_root(
        &mut self,
        name: &Decorated<hcl_edit::Ident>,
        ops: &[Decorated<TraversalOperator>],
    ) -> Result<(Value, usize), EvalError> {
        let root = name.value().as_str();
        if let Some(v) = self.lookup_binding(root) {
            return Ok((v, 0));
        }
        if self.template_vars.is_some() {
            return Ok((self.eval_variable(name)?, 0));
        }
        let attr = |i: usize| match ops.get(i).map(|op| op.value()) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.value().as_str()),
            // `var["x"]` is the same static reference as `var.x`.
            Some(TraversalOperator::Index(Expression::String(s))) => Some(s.value().as_str()),
            _ => None,
        };
        let span_to =
            |i: usize| join_spans(name.span(), ops.get(i.min(ops.len().saturating_sub(1))).and_then(|op| op.span()));
        let missing_attr = |what: &str| {
            error(format!("Invalid reference: a reference to {what} must be followed by an attribute name"), span_to(0))
        };
        match root {
            "var" => {
                let n = attr(0).ok_or_else(|| missing_attr("\"var\""))?;
                let v = self.scope.variable(n).ok_or_else(|| {
                    error(undeclared(&Reference::Variable(n.to_string())), span_to(0))
                })?;
                Ok((v, 1))
            }
            "local" => {
                let n = attr(0).ok_or_else(|| missing_attr("\"local\""))?;
                let v = self.scope.local(n).ok_or_else(|| {
                    error(undeclared(&Reference::Local(n.to_string())), span_to(0))
                })?;
                Ok((v, 1))
            }
            "count" => match attr(0) {
                Some("index") => {
                    let v = self.scope.count_index();
                    let v = v.ok_or_else(|| error(undeclared(&Reference::CountIndex), span_to(0)))?;
                    Ok((v, 1))
                }
                Some(other) => Err(error(
                    format!("Invalid \"count\" attribute: the \"count\" object has no attribute \"{other}\"; the only one is \"index\""),
                    span_to(0),
                )),
                None => Err(missing_attr("\"count\"")),
            },
            "each" => {
                let which = attr(0).ok_or_else(|| missing_attr("\"each\""))?;
                if which != "key" && which != "value" {
                    return Err(error(
                        format!("Invalid \"each\" attribute: the \"each\" object has no attribute \"{which}\"; use each.key or each.value"),
                        span_to(0),
                    ));
                }
                let (key, value) = self.scope.each().ok_or_else(|| error(undeclared(&Reference::Each), span_to(0)))?;
                Ok((if which == "key" { key } else { value }, 1))
            }
            "path" => match attr(0) {
                Some(which @ ("module" | "root" | "cwd")) => {
                    let path = self.scope.path(which).ok_or_else(|| error(undeclared(&Reference::Path), span_to(0)))?;
                    Ok((Value::String(path), 1))
                }
                Some(other) => Err(error(
                    format!("Invalid \"path\" attribute: the \"path\" object has no attribute \"{other}\"; use path.module, path.root or path.cwd"),
                    span_to(0),
                )),
                None => Err(missing_attr("\"path\"")),
            },
            "data" => match (attr(0), attr(1)) {
                (Some(t), Some(n)) => {
                    let addr = ResourceAddr::data(t, n);
                    let v = self.scope.resource(&addr).ok_or_else(|| {
                        error(undeclared(&Reference::Resource(addr.clone())), span_to(1))
                    })?;
                    Ok((v, 2))
                }
                _ => Err(error(
                    "Invalid data resource reference: a data resource reference must have a type and a name, as in data.TYPE.NAME",
                    span_to(1),
                )),
            },
            "module" => {
                let call = attr(0).ok_or_else(|| missing_attr("\"module\""))?;
                let v = self.scope.module(call).ok_or_else(|| {
                    error(undeclared(&Reference::Module { call: call.to_string(), output: None }), span_to(0))
                })?;
                Ok((v, 1))
            }
            "terraform" => match attr(0) {
                // gantry's environments are its workspaces; Terraform's
                // `default` is what a stack run unchanged by Terraform sees.
                Some("workspace") => Ok((Value::String("default".to_string()), 1)),
                _ => Err(error(
                    "Invalid \"terraform\" attribute: the only attribute of the \"terraform\" object is \"workspace\"",
                    span_to(0),
                )),
            },
            "self" => Err(error(
                "Unsupported reference: \"self\" is only available in provisioner and connection blocks, which gantry does not support",
                span_to(0),
            )),
            rtype => match attr(0) {
                Some(n) => {
                    let addr = ResourceAddr::managed(rtype, n);
                    let v = self.scope.resource(&addr).ok_or_else(|| {
                        error(undeclared(&Reference::Resource(addr.clone())), span_to(0))
                    })?;
                    Ok((v, 1))
                }
                None => Ok((self.eval_variable(name)?, 0)),
            },
        }
    }

    pub(crate) fn eval_traversal(
        &mut self,
        root: &Expression,
        ops: &[Decorated<TraversalOperator>],
    ) -> Result<Value, EvalError> {
        let (value, used) = match root {
            Expression::Variable(name) => self.resolve_root(name, ops)?,
            other => (self.eval(other)?, 0),
        };
        self.apply_ops(value, &ops[used..])
    }

    /// Applies traversal operators left to right. A splat applies the
    /// operators after it to every element of the list before it.
    fn apply_ops(&mut self, mut value: Value, ops: &[Decorated<TraversalOperator>]) -> Result<Value, EvalError> {
        let mut i = 0;
        while i < ops.len() {
            let op = &ops[i];
            match op.value() {
                TraversalOperator::GetAttr(name) => {
                    value = get_attr(value, name.value().as_str(), op.span())?;
                }
                TraversalOperator::LegacyIndex(n) => {
                    value = index_number(value, *n.value() as f64, op.span())?;
                }
                TraversalOperator::Index(key_expr) => {
                    let key = self.eval(key_expr)?;
                    value = index(value, key, op.span())?;
                }
                TraversalOperator::FullSplat(_) | TraversalOperator::AttrSplat(_) => {
                    let full = matches!(op.value(), TraversalOperator::FullSplat(_));
                    // An attribute-only splat (`.*`) covers only the attribute
                    // accesses right after it; `[*]` covers everything after it.
                    let end = if full {
                        ops.len()
                    } else {
                        let rest = &ops[i + 1..];
                        i + 1
                            + rest
                                .iter()
                                .take_while(|o| {
                                    matches!(
                                        o.value(),
                                        TraversalOperator::GetAttr(_) | TraversalOperator::LegacyIndex(_)
                                    )
                                })
                                .count()
                    };
                    value = self.splat(value, &ops[i + 1..end])?;
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        Ok(value)
    }

    fn splat(&mut self, value: Value, ops: &[Decorated<TraversalOperator>]) -> Result<Value, EvalError> {
        let (value, marked) = split_mark(value);
        let items = match value {
            Value::Unknown => return Ok(Value::Unknown.marked_if(marked)),
            // Terraform turns a null into an empty list and a single value
            // into a one-element list, so `x[*]` works on optional objects.
            Value::Null => Vec::new(),
            Value::List(items) => items,
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.apply_ops(item, ops)?);
        }
        Ok(Value::List(out).marked_if(marked))
    }

    fn eval_conditional(&mut self, c: &Conditional) -> Result<Value, EvalError> {
        let (cond, marked) = split_mark(self.eval(&c.cond_expr)?);
        if cond.is_unknown() {
            // Both branches are still evaluated so that their errors are not
            // hidden until apply.
            let t = self.eval(&c.true_expr)?;
            let f = self.eval(&c.false_expr)?;
            return Ok(Value::Unknown.marked_if(marked || t.is_sensitive() || f.is_sensitive()));
        }
        let cond = to_bool(&cond).map_err(|m| {
            error(format!("Incorrect condition type: the condition must be a bool: {m}."), c.cond_expr.span())
        })?;
        let (chosen, other) = if cond { (&c.true_expr, &c.false_expr) } else { (&c.false_expr, &c.true_expr) };
        let value = self.eval(chosen)?;
        // Terraform gives both results one type, so `true ? 1 : "a"` is the
        // string "1". The other result's errors do not matter (it guards
        // against them, as in `x == null ? null : x.id`).
        let value = match self.eval(other) {
            Ok(other) => unify_with(value, &other),
            Err(_) => value,
        };
        Ok(value.marked_if(marked))
    }

    fn eval_unary(&mut self, op: &UnaryOp) -> Result<Value, EvalError> {
        let (v, marked) = self.eval(&op.expr)?.unmark();
        if v.is_unknown() {
            return Ok(Value::Unknown.marked_if(marked));
        }
        let result = match op.operator.value() {
            UnaryOperator::Neg => to_number(&v).map(|n| Value::Number(-n)).map_err(|m| {
                error(format!("Invalid operand: unsuitable value for unary operand: {m}."), op.expr.span())
            })?,
            UnaryOperator::Not => to_bool(&v).map(|b| Value::Bool(!b)).map_err(|m| {
                error(format!("Invalid operand: unsuitable value for unary operand: {m}."), op.expr.span())
            })?,
        };
        Ok(result.marked_if(marked))
    }

    fn eval_binary(&mut self, op: &BinaryOp) -> Result<Value, EvalError> {
        let operator = *op.operator.value();
        if matches!(operator, BinaryOperator::And | BinaryOperator::Or) {
            return self.eval_logical(op, operator == BinaryOperator::And);
        }
        let (lhs, lmark) = self.eval(&op.lhs_expr)?.unmark();
        let (rhs, rmark) = self.eval(&op.rhs_expr)?.unmark();
        let marked = lmark || rmark;
        let is_eq = matches!(operator, BinaryOperator::Eq | BinaryOperator::NotEq);
        // `x == null` is decided as soon as x itself is known to be (or not
        // be) null, even when parts inside x are still unknown.
        let null_test = is_eq && (lhs.is_null() || rhs.is_null()) && !lhs.is_unknown() && !rhs.is_unknown();
        if !null_test && (!lhs.is_known() || !rhs.is_known()) {
            return Ok(Value::Unknown.marked_if(marked));
        }
        let result = match operator {
            BinaryOperator::Eq => Value::Bool(equal(&lhs, &rhs)),
            BinaryOperator::NotEq => Value::Bool(!equal(&lhs, &rhs)),
            _ => {
                let operand = |v: &Value, side: &str, e: &Expression| {
                    to_number(v).map_err(|m| {
                        error(format!("Invalid operand: unsuitable value for {side} operand: {m}."), e.span())
                    })
                };
                let a = operand(&lhs, "left", &op.lhs_expr)?;
                let b = operand(&rhs, "right", &op.rhs_expr)?;
                arithmetic(operator, a, b).map_err(|m| error(m, op.span()))?
            }
        };
        Ok(result.marked_if(marked))
    }

    /// `&&` and `||` skip their right operand when the left decides, and a
    /// known deciding operand wins over an unknown other one.
    fn eval_logical(&mut self, op: &BinaryOp, is_and: bool) -> Result<Value, EvalError> {
        let side = |v: Value, name: &str, e: &Expression| -> Result<(Option<bool>, bool), EvalError> {
            let (v, marked) = v.unmark();
            if v.is_unknown() {
                return Ok((None, marked));
            }
            let b = to_bool(&v)
                .map_err(|m| error(format!("Invalid operand: unsuitable value for {name} operand: {m}."), e.span()))?;
            Ok((Some(b), marked))
        };
        let (l, lmark) = side(self.eval(&op.lhs_expr)?, "left", &op.lhs_expr)?;
        // The deciding value: false for `&&`, true for `||`.
        let decider = !is_and;
        if l == Some(decider) {
            return Ok(Value::Bool(decider).marked_if(lmark));
        }
        let (r, rmark) = side(self.eval(&op.rhs_expr)?, "right", &op.rhs_expr)?;
        let marked = lmark || rmark;
        Ok(match (l, r) {
            (_, Some(b)) if b == decider => Value::Bool(decider),
            (Some(_), Some(_)) => Value::Bool(!decider),
            _ => Value::Unknown,
        }
        .marked_if(marked))
    }

    fn eval_for(&mut self, f: &ForExpr) -> Result<Value, EvalError> {
        let collection_expr = &f.intro.collection_expr;
        let (collection, marked) = split_mark_keeping_keys(self.eval(collection_expr)?);
        let Some(pairs) = iteration_items(collection, collection_expr.span(), "a 'for' expression")? else {
            return Ok(Value::Unknown.marked_if(marked));
        };
        let key_var = f.intro.key_var.as_ref().map(|k| k.value().to_string());
        let value_var = f.intro.value_var.value().to_string();
        let mut list = Vec::new();
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut unknown = false;
        let mut sensitive = marked;
        for (k, v) in pairs {
            let mut bound = Vec::with_capacity(2);
            if let Some(name) = &key_var {
                bound.push((name.clone(), k.marked_if(marked)));
            }
            bound.push((value_var.clone(), v.marked_if(marked)));
            let item = self.with_bindings(bound, |ev| -> Result<Option<(Option<Value>, Value)>, EvalError> {
                if let Some(cond) = &f.cond {
                    let (c, cmark) = split_mark(ev.eval(&cond.expr)?);
                    sensitive |= cmark;
                    if c.is_unknown() {
                        unknown = true;
                        return Ok(None);
                    }
                    let keep = to_bool(&c).map_err(|m| {
                        error(
                            format!("Invalid 'for' condition: the filter expression must be a bool: {m}."),
                            cond.expr.span(),
                        )
                    })?;
                    if !keep {
                        return Ok(None);
                    }
                }
                let key = match &f.key_expr {
                    Some(e) => Some(ev.eval(e)?),
                    None => None,
                };
                Ok(Some((key, ev.eval(&f.value_expr)?)))
            })?;
            let Some((key, value)) = item else { continue };
            let Some(key) = key else {
                list.push(value);
                continue;
            };
            let key_expr_span = f.key_expr.as_ref().and_then(|e| e.span());
            let (key, kmark) = split_mark(key);
            sensitive |= kmark;
            if key.is_unknown() {
                unknown = true;
                continue;
            }
            let key = to_string(&key).map_err(|m| {
                error(
                    format!("Invalid object key: the key expression produced an invalid result: {m}."),
                    key_expr_span.clone(),
                )
            })?;
            if f.grouping {
                groups.entry(key).or_default().push(value);
            } else {
                match map.entry(key) {
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(value);
                    }
                    std::collections::btree_map::Entry::Occupied(slot) => {
                        let shown = if kmark { "(sensitive value)".to_string() } else { format!("\"{}\"", slot.key()) };
                        return Err(error(
                            format!("Duplicate object key: two different items produced the key {shown} in this 'for' expression; if duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key"),
                            key_expr_span,
                        ));
                    }
                }
            }
        }
        let result = if unknown {
            Value::Unknown
        } else if f.key_expr.is_none() {
            Value::List(list)
        } else if f.grouping {
            Value::Map(groups.into_iter().map(|(k, v)| (k, Value::List(v))).collect())
        } else {
            Value::Map(map)
        };
        Ok(result.marked_if(sensitive))
    }
}

/// The (key, value) pairs a `for` iterates: list indexes or sorted map
/// keys. `None` when the collection is unknown. `what` names the construct
/// for error messages.
pub(crate) fn iteration_items(
    collection: Value,
    span: SpanRange,
    what: &str,
) -> Result<Option<Vec<(Value, Value)>>, EvalError> {
    match collection {
        Value::Unknown => Ok(None),
        Value::List(items) => {
            Ok(Some(items.into_iter().enumerate().map(|(i, v)| (Value::Number(i as f64), v)).collect()))
        }
        Value::Map(map) => Ok(Some(map.into_iter().map(|(k, v)| (Value::String(k), v)).collect())),
        Value::Sensitive(inner) => iteration_items(*inner, span, what),
        Value::Null => Err(error(
            format!("Iteration over null value: a null value cannot be used as the collection in {what}"),
            span,
        )),
        other => Err(error(
            format!(
                "Iteration over non-iterable value: a value of type {} cannot be used as the collection in {what}",
                other.type_name()
            ),
            span,
        )),
    }
}

/// `a + b` and friends on numbers. Non-finite results are errors: a plan
/// cannot show `+Inf` sensibly and AWS accepts it nowhere.
fn arithmetic(op: BinaryOperator, a: f64, b: f64) -> Result<Value, String> {
    let result = match op {
        BinaryOperator::Plus => a + b,
        BinaryOperator::Minus => a - b,
        BinaryOperator::Mul => a * b,
        BinaryOperator::Div => {
            if b == 0.0 {
                return Err("Division by zero: the right operand of \"/\" is zero".to_string());
            }
            a / b
        }
        BinaryOperator::Mod => {
            if b == 0.0 {
                return Err("Division by zero: the right operand of \"%\" is zero".to_string());
            }
            a % b
        }
        BinaryOperator::Less => return Ok(Value::Bool(a < b)),
        BinaryOperator::LessEq => return Ok(Value::Bool(a <= b)),
        BinaryOperator::Greater => return Ok(Value::Bool(a > b)),
        BinaryOperator::GreaterEq => return Ok(Value::Bool(a >= b)),
        BinaryOperator::Eq | BinaryOperator::NotEq | BinaryOperator::And | BinaryOperator::Or => {
            return Err("Invalid operator for numbers".to_string())
        }
    };
    if result.is_finite() {
        Ok(Value::Number(result))
    } else {
        Err("Arithmetic overflow: the result is too large to represent as a number".to_string())
    }
}

/// The message for a reference that the scope cannot resolve, shared with
/// the static check of `try` and `can`.
pub(crate) fn undeclared(reference: &Reference) -> String {
    match reference {
        Reference::Variable(n) => format!("Reference to undeclared input variable \"{n}\": declare it with a variable \"{n}\" block"),
        Reference::Local(n) => format!("Reference to undeclared local value \"{n}\": declare it in a locals block"),
        Reference::Resource(addr) => {
            let kind = if addr.mode == Mode::Data { "data" } else { "managed" };
            format!("Reference to undeclared resource \"{addr}\": a {kind} resource \"{}\" \"{}\" has not been declared", addr.rtype, addr.name)
        }
        Reference::CountIndex => "Reference to \"count\" in non-counted context: \"count.index\" is only available in resources that set \"count\"".to_string(),
        Reference::Each => "Reference to \"each\" in context without for_each: \"each.key\" and \"each.value\" are only available in resources that set \"for_each\"".to_string(),
        Reference::Path => "Reference to \"path\" is not available here".to_string(),
        Reference::Module { call, .. } => format!("Reference to undeclared module \"{call}\": declare it with a module \"{call}\" block"),
        Reference::Terraform => "Reference to \"terraform\" is not available here".to_string(),
    }
}

fn join_spans(a: SpanRange, b: SpanRange) -> SpanRange {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.start.min(b.start)..a.end.max(b.end)),
        (a, b) => a.or(b),
    }
}

/// `.name`: an object's attribute.
pub(crate) fn get_attr(value: Value, name: &str, span: SpanRange) -> Result<Value, EvalError> {
    let (value, marked) = split_mark(value);
    match value {
        Value::Unknown => Ok(Value::Unknown.marked_if(marked)),
        Value::Map(mut map) => match map.remove(name) {
            Some(v) => Ok(v.marked_if(marked)),
            None => Err(error(format!("Unsupported attribute: object has no attribute \"{name}\""), span)),
        },
        Value::Null => Err(error(format!("Attempt to get attribute from null value: cannot access attribute \"{name}\" of a null value"), span)),
        Value::List(_) => Err(error(
            format!("Unsupported attribute: can't access attributes on a list of objects; did you mean to access attribute \"{name}\" for a specific element of the list (x[0].{name}), or across all elements of the list (x[*].{name})?"),
            span,
        )),
        other => Err(error(
            format!("Unsupported attribute: can't access attribute \"{name}\" on a value of type {}", other.type_name()),
            span,
        )),
    }
}

/// `[key]`: a list element by number or a map element by string.
pub(crate) fn index(value: Value, key: Value, span: SpanRange) -> Result<Value, EvalError> {
    let (key, kmark) = key.unmark();
    let (value, vmark) = split_mark(value);
    let marked = kmark || vmark;
    if value.is_unknown() || key.is_unknown() {
        return Ok(Value::Unknown.marked_if(marked));
    }
    if key.is_null() {
        return Err(error("Invalid index: can't use a null value as an indexing key", span));
    }
    let result = match value {
        Value::List(_) => {
            let n = to_number(&key).map_err(|m| {
                error(format!("Invalid index: the key must be a number for a list: {m}."), span.clone())
            })?;
            index_number(value, n, span)?
        }
        Value::Map(mut map) => {
            let k = to_string(&key)
                .map_err(|m| error(format!("Invalid index: the key must be a string for a map: {m}."), span.clone()))?;
            match map.remove(&k) {
                Some(v) => v,
                None if kmark => {
                    return Err(error(
                        "Invalid index: the given key does not identify an element in this collection value",
                        span,
                    ))
                }
                None => {
                    return Err(error(
                        format!(
                        "Invalid index: the given key \"{k}\" does not identify an element in this collection value"
                    ),
                        span,
                    ))
                }
            }
        }
        Value::Null => {
            return Err(error("Attempt to index null value: this value is null, so it does not have any indices", span))
        }
        other => {
            return Err(error(
                format!("Invalid index: a value of type {} does not have any indices", other.type_name()),
                span,
            ))
        }
    };
    Ok(result.marked_if(marked))
}

fn index_number(value: Value, n: f64, span: SpanRange) -> Result<Value, EvalError> {
    let (value, marked) = split_mark(value);
    let mut items = match value {
        Value::Unknown => return Ok(Value::Unknown.marked_if(marked)),
        Value::List(items) => items,
        // `.0` on a map looks up the key "0", as Terraform does.
        Value::Map(_) => return index(value, Value::Number(n), span).map(|v| v.marked_if(marked)),
        Value::Null => {
            return Err(error("Attempt to index null value: this value is null, so it does not have any indices", span))
        }
        other => {
            return Err(error(
                format!("Invalid index: a value of type {} does not have any indices", other.type_name()),
                span,
            ))
        }
    };
    let len = items.len();
    let out_of_range = || {
        error(
            format!("Invalid index: the given key does not identify an element in this collection value: the collection has {len} element{}", if len == 1 { "" } else { "s" }),
            span.clone(),
        )
    };
    if n.fract() != 0.0 {
        return Err(error("Invalid index: a list index must be a whole number", span));
    }
    if n < 0.0 || n >= len as f64 {
        return Err(out_of_range());
    }
    Ok(items.swap_remove(n as usize).marked_if(marked))
}
