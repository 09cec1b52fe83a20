//! Checks that run on evaluated configuration before anything is applied:
//! the GitHub OIDC trust-policy check of `aws_iam_role`.

use hcl_edit::expr::Expression;
use serde_json::Value as J;

use crate::config::{ResourceConfig, Stack};
use crate::diag::Diagnostic;
use crate::eval::{self, Scope};
use crate::trust_policy::{self, ALLOW_WILDCARD, GITHUB_ISSUER};
use crate::value::Value;

/// Placeholder for parts not known until apply (an OIDC provider's ARN on
/// the first plan): the structure around them can still be checked.
const UNKNOWN: &str = "(known after apply)";

/// Whether the stack declares a GitHub OIDC provider: then a federated
/// principal not known yet is taken to be that provider.
pub fn declares_github_provider(stack: &Stack, scope: &dyn Scope) -> bool {
    stack.resources.values().filter(|r| r.addr.rtype == "aws_iam_openid_connect_provider").any(|r| {
        r.body.attrs.iter().find(|a| a.name == "url").is_some_and(|a| match eval::eval(&a.expr, scope) {
            Ok(v) => v.as_str().is_none_or(|s| s.contains(GITHUB_ISSUER)),
            Err(_) => true,
        })
    })
}

/// Checks the trust policy of one `aws_iam_role` instance.
pub fn check_role(config: &ResourceConfig, scope: &dyn Scope, github_in_stack: bool) -> Vec<Diagnostic> {
    if config.addr.rtype != "aws_iam_role" {
        return Vec::new();
    }
    let Some(attr) = config.body.attrs.iter().find(|a| a.name == "assume_role_policy") else { return Vec::new() };
    let Some(mut document) = document(&attr.expr, scope) else { return Vec::new() };
    if github_in_stack {
        mark_unknown_federated_as_github(&mut document);
    }
    trust_policy::check(&document, config.has_directive(ALLOW_WILDCARD))
        .into_iter()
        .map(|p| {
            Diagnostic::error(format!("Unsafe trust policy in {}: {}", config.addr, p.summary))
                .at(attr.loc.clone())
                .detail(p.fix)
        })
        .collect()
}

/// The policy document, with unknown parts as a placeholder string; `None`
/// when it cannot be known before apply (a heredoc with an unknown inside).
fn document(expr: &Expression, scope: &dyn Scope) -> Option<J> {
    if let Expression::FuncCall(call) = expr {
        if call.name.name.as_str() == "jsonencode" && call.args.len() == 1 {
            let value = eval::eval(call.args.iter().next()?, scope).ok()?;
            return Some(with_placeholders(&value));
        }
    }
    let value = eval::eval(expr, scope).ok()?;
    serde_json::from_str(value.as_str()?).ok()
}

fn with_placeholders(v: &Value) -> J {
    match v {
        Value::Unknown => J::String(UNKNOWN.into()),
        Value::Sensitive(inner) => with_placeholders(inner),
        Value::List(items) => J::Array(items.iter().map(with_placeholders).collect()),
        Value::Map(map) => J::Object(map.iter().map(|(k, v)| (k.clone(), with_placeholders(v))).collect()),
        other => other.to_json(),
    }
}

fn mark_unknown_federated_as_github(document: &mut J) {
    let github = J::String(format!("oidc-provider/{GITHUB_ISSUER}"));
    let statements: Vec<&mut J> = match document.get_mut("Statement") {
        Some(J::Array(items)) => items.iter_mut().collect(),
        Some(single) => vec![single],
        None => Vec::new(),
    };
    for statement in statements {
        if let Some(federated) = statement.get_mut("Principal").and_then(|p| p.get_mut("Federated")) {
            if federated.as_str() == Some(UNKNOWN) {
                *federated = github.clone();
            }
        }
    }
}

/// Runs the checks without AWS: variables as given (unknown when not
/// given), locals evaluated where possible, every resource attribute unknown.
pub fn check_stack(
    stack: &Stack,
    graph: &crate::graph::Graph,
    vars: std::collections::BTreeMap<String, Value>,
) -> Vec<Diagnostic> {
    use crate::graph::Node;
    let mut values = crate::scope::Values::for_graph(stack, graph, vars);
    for name in stack.variables.keys() {
        values.root_vars_mut().entry(name.clone()).or_insert(Value::Unknown);
    }
    let mut out = Vec::new();
    for &i in &graph.order {
        match graph.node(i) {
            Node::Local(module, name) if module.is_root() => {
                let v = eval::eval(&stack.locals[name].expr, &values.scope()).unwrap_or(Value::Unknown);
                values.frame_mut(module).locals.insert(name.clone(), v);
            }
            Node::Resource(addr) if addr.rtype == "aws_iam_role" && addr.module.is_root() => {
                let config = &stack.resources[addr];
                let github = declares_github_provider(stack, &values.scope());
                if let Ok(instances) = crate::desired::expand(config, &values.scope()) {
                    for (key, each) in &instances {
                        out.extend(check_role(config, &values.instance_scope(key, each.as_ref()), github));
                    }
                }
            }
            _ => {}
        }
    }
    out
}
