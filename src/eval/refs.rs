//! What an expression refers to, found without evaluating it: the graph
//! builds its edges from this, and `try`/`can` use it to reject references
//! to undeclared things instead of silently catching them.

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::{Decorated, Ident, Span};

use super::expr::{error, undeclared, Evaluator, SpanRange};
use super::functions::{is_function, unknown_function_error};
use super::{EvalError, Reference, SpannedReference};
use crate::addr::ResourceAddr;

/// Every reference inside `expr`, in source order. Names bound by `for`
/// expressions and `%{for}` directives inside `expr` are not references.
pub fn references(expr: &Expression) -> Vec<SpannedReference> {
    let mut walker = Walker::default();
    walker.expr(expr);
    walker.refs
}

#[derive(Default)]
struct Walker {
    /// Iteration variables in scope at the current point of the walk.
    bound: Vec<String>,
    refs: Vec<SpannedReference>,
    /// Function names called, with the span of the call.
    calls: Vec<(String, bool, SpanRange)>,
}

impl Walker {
    fn expr(&mut self, expr: &Expression) {
        match expr {
            Expression::Null(_) | Expression::Bool(_) | Expression::Number(_) | Expression::String(_) => {}
            Expression::Array(items) => items.iter().for_each(|e| self.expr(e)),
            Expression::Object(object) => {
                for (key, value) in object.iter() {
                    if let Some(k) = key.as_expr() {
                        self.expr(k);
                    }
                    self.expr(value.expr());
                }
            }
            Expression::StringTemplate(t) => self.template(t),
            Expression::HeredocTemplate(h) => self.template(&h.template),
            Expression::Parenthesis(p) => self.expr(p.inner()),
            Expression::Variable(name) => self.root(name, &[]),
            Expression::Conditional(c) => {
                self.expr(&c.cond_expr);
                self.expr(&c.true_expr);
                self.expr(&c.false_expr);
            }
            Expression::FuncCall(call) => {
                let name = call.name.name.value().to_string();
                self.calls.push((name, call.name.is_namespaced(), call.span()));
                call.args.iter().for_each(|a| self.expr(a));
            }
            Expression::Traversal(t) => {
                match &t.expr {
                    Expression::Variable(name) => self.root(name, &t.operators),
                    other => self.expr(other),
                }
                for op in &t.operators {
                    if let TraversalOperator::Index(e) = op.value() {
                        self.expr(e);
                    }
                }
            }
            Expression::UnaryOp(op) => self.expr(&op.expr),
            Expression::BinaryOp(op) => {
                self.expr(&op.lhs_expr);
                self.expr(&op.rhs_expr);
            }
            Expression::ForExpr(f) => {
                self.expr(&f.intro.collection_expr);
                let vars = f.intro.key_var.iter().chain(std::iter::once(&f.intro.value_var));
                self.with_bound(vars, |w| {
                    if let Some(k) = &f.key_expr {
                        w.expr(k);
                    }
                    w.expr(&f.value_expr);
                    if let Some(c) = &f.cond {
                        w.expr(&c.expr);
                    }
                });
            }
        }
    }

    fn template(&mut self, t: &Template) {
        for element in t.iter() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(i) => self.expr(&i.expr),
                Element::Directive(d) => match d.as_ref() {
                    Directive::If(d) => {
                        self.expr(&d.if_expr.cond_expr);
                        self.template(&d.if_expr.template);
                        if let Some(e) = &d.else_expr {
                            self.template(&e.template);
                        }
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        self.expr(&f.collection_expr);
                        let vars = f.key_var.iter().chain(std::iter::once(&f.value_var));
                        self.with_bound(vars, |w| w.template(&f.template));
                    }
                },
            }
        }
    }

    fn with_bound<'a>(&mut self, vars: impl Iterator<Item = &'a Decorated<Ident>>, f: impl FnOnce(&mut Self)) {
        let base = self.bound.len();
        self.bound.extend(vars.map(|v| v.value().to_string()));
        f(self);
        self.bound.truncate(base);
    }

    fn root(&mut self, name: &Decorated<Ident>, ops: &[Decorated<TraversalOperator>]) {
        let root = name.value().as_str();
        if self.bound.iter().any(|b| b == root) {
            return;
        }
        let attr = |i: usize| match ops.get(i).map(|op| op.value()) {
            Some(TraversalOperator::GetAttr(a)) => Some(a.value().to_string()),
            Some(TraversalOperator::Index(Expression::String(s))) => Some(s.value().clone()),
            _ => None,
        };
        // The span covers the root and the operators that name the referent.
        let span_to =
            |used: usize| match (name.span(), used.checked_sub(1).and_then(|i| ops.get(i)).and_then(|op| op.span())) {
                (Some(a), Some(b)) => Some(a.start..b.end),
                (a, _) => a,
            };
        let (reference, used) = match root {
            "var" => match attr(0) {
                Some(n) => (Reference::Variable(n), 1),
                None => return,
            },
            "local" => match attr(0) {
                Some(n) => (Reference::Local(n), 1),
                None => return,
            },
            "count" => (Reference::CountIndex, usize::from(!ops.is_empty())),
            "each" => (Reference::Each, usize::from(!ops.is_empty())),
            "path" => (Reference::Path, usize::from(!ops.is_empty())),
            "data" => match (attr(0), attr(1)) {
                (Some(t), Some(n)) => (Reference::Resource(ResourceAddr::data(t, n)), 2),
                _ => return,
            },
            "module" => match (attr(0), attr(1)) {
                (Some(call), output) => {
                    let used = if output.is_some() { 2 } else { 1 };
                    (Reference::Module { call, output }, used)
                }
                _ => return,
            },
            "terraform" => (Reference::Terraform, usize::from(!ops.is_empty())),
            "self" => return,
            rtype => match attr(0) {
                Some(n) => (Reference::Resource(ResourceAddr::managed(rtype, n)), 1),
                // A bare unknown name is an error that evaluation reports.
                None => return,
            },
        };
        self.refs.push(SpannedReference { reference, span: span_to(used) });
    }
}

impl Evaluator<'_> {
    /// Fails when `expr` refers to something undeclared or calls an unknown
    /// function: mistakes that `try` and `can` must not swallow, just as
    /// Terraform reports them before evaluating anything.
    pub(crate) fn check_static(&self, expr: &Expression) -> Result<(), EvalError> {
        let mut walker = Walker { bound: self.bound_names(), ..Walker::default() };
        walker.expr(expr);
        for (name, namespaced, span) in &walker.calls {
            if *namespaced || !is_function(name) {
                return Err(unknown_function_error(name, span.clone()));
            }
        }
        // Inside templatefile every name is a template variable, which
        // evaluation checks.
        if self.in_template_file() {
            return Ok(());
        }
        for r in walker.refs {
            let scope = self.scope;
            let found = match &r.reference {
                Reference::Variable(n) => scope.variable(n).is_some(),
                Reference::Local(n) => scope.local(n).is_some(),
                Reference::Resource(addr) => scope.resource(addr).is_some(),
                Reference::Module { call, .. } => scope.module(call).is_some(),
                Reference::Terraform => true,
                Reference::CountIndex => scope.count_index().is_some(),
                Reference::Each => scope.each().is_some(),
                Reference::Path => true,
            };
            if !found {
                return Err(error(undeclared(&r.reference), r.span));
            }
        }
        Ok(())
    }
}
