//! The evaluation of one graph node (the provider, a module input, a local,
//! an output, a data source read), shared by the plan walk and the apply
//! walk, as Terraform's node evaluation is shared between its walks.

use crate::addr::{ModuleInstance, ResourceAddr};
use crate::aws::AwsCtx;
use crate::config::Stack;
use crate::desired;
use crate::diag::{Diagnostic, Diagnostics};
use crate::eval;
use crate::resources;
use crate::scope::Values;
use crate::value::Value;

/// The provider's evaluated settings.
#[derive(Debug, Clone, Default)]
pub struct ProviderValues {
    pub region: Option<String>,
    pub default_tags: Value,
}

/// Evaluates the provider block.
pub fn eval_provider(stack: &Stack, values: &Values) -> Result<ProviderValues, Diagnostics> {
    let mut out = ProviderValues::default();
    let Some(p) = &stack.provider else { return Ok(out) };
    let scope = values.scope();
    if let Some((expr, loc)) = &p.region {
        let v = eval::eval(expr, &scope)
            .map_err(|e| Diagnostic::error("Invalid provider region").at(loc.narrow(e.span)).detail(e.message))?;
        match v.peel() {
            Value::String(s) => out.region = Some(s.clone()),
            Value::Null => {}
            other => {
                return Err(Diagnostic::error("Invalid provider region")
                    .at(loc.clone())
                    .detail(format!("region must be a string known at plan time, found {}", other.type_name()))
                    .into())
            }
        }
    }
    if let Some((expr, loc)) = &p.default_tags {
        let v = eval::eval(expr, &scope)
            .map_err(|e| Diagnostic::error("Invalid default_tags").at(loc.narrow(e.span)).detail(e.message))?;
        out.default_tags = desired::convert(resources::Ty::MapOfString, v)
            .map_err(|m| Diagnostic::error("Invalid default_tags").at(loc.clone()).detail(m))?;
    }
    Ok(out)
}

/// Evaluates an input variable of a module instance from its call's
/// argument (the root module's variables are resolved before the walk).
pub fn eval_variable(
    stack: &Stack,
    values: &mut Values,
    module: &ModuleInstance,
    name: &str,
) -> Result<(), Diagnostics> {
    if module.is_root() {
        return Ok(());
    }
    let path = module.static_path();
    let (Some(call), Some(config)) = (stack.call(&path), stack.module(&path)) else { return Ok(()) };
    let Some(decl) = config.variables.get(name) else { return Ok(()) };
    let arg = call.args.iter().find(|a| a.name == name);
    let value = match arg {
        Some(arg) => eval::eval(&arg.expr, &values.call_scope(module)).map_err(|e| {
            Diagnostic::error(format!("Invalid value for input \"{name}\" of module.{}", call.name))
                .at(arg.loc.narrow(e.span))
                .detail(e.message)
        })?,
        None => decl.default.clone().unwrap_or(Value::Null),
    };
    // As in Terraform: a null argument takes the default only when the
    // variable is declared `nullable = false`.
    let value = if value.is_null() && !decl.nullable { decl.default.clone().unwrap_or(Value::Null) } else { value };
    let at = arg.map(|a| a.loc.clone()).unwrap_or_else(|| call.loc.clone());
    if value.is_null() && !decl.nullable {
        return Err(Diagnostic::error(format!("Invalid value for input \"{name}\" of module.{}", call.name))
            .at(at)
            .detail(format!("The variable \"{name}\" is declared nullable = false, and has no default."))
            .into());
    }
    let sensitive = value.is_sensitive();
    let value = decl.ty.convert(value).map_err(|e| {
        Diagnostic::error(format!("Invalid value for input \"{name}\" of module.{}", call.name)).at(at.clone()).detail(
            if sensitive || decl.sensitive {
                format!("The value does not match type {} (it is sensitive, so it is not shown).", decl.ty)
            } else {
                format!("The value does not match type {}: {e}", decl.ty)
            },
        )
    })?;
    let value = value.marked_if(decl.sensitive || sensitive);
    let mut diags = Diagnostics::default();
    if value.is_known() {
        crate::config::vars::check_validations(&stack.dir, decl, &value, &mut diags);
    }
    if diags.has_errors() {
        return Err(diags);
    }
    values.frame_mut(module).vars.insert(name.to_string(), value);
    Ok(())
}

/// A resource or data block of a type gantry does not support: accepted
/// while its `count`/`for_each` gives no instance (references to it see an
/// empty list, as in Terraform), an error naming the type once it has one.
pub fn unsupported_type(stack: &Stack, values: &mut Values, addr: &ResourceAddr) -> Result<(), Diagnostics> {
    let Some(config) = stack.resource_config(addr) else { return Ok(()) };
    let instances = desired::expand(config, &values.module_scope(&addr.module))?;
    if !instances.is_empty() {
        return Err(crate::config::unsupported_type(config, Some(instances.len())).into());
    }
    values.set_resource(addr, Vec::new(), true);
    Ok(())
}

/// Evaluates a local value of a module instance.
pub fn eval_local(stack: &Stack, values: &mut Values, module: &ModuleInstance, name: &str) -> Result<(), Diagnostic> {
    let Some(local) = stack.module(&module.static_path()).and_then(|m| m.locals.get(name)) else { return Ok(()) };
    let v = eval::eval(&local.expr, &values.module_scope(module)).map_err(|e| {
        Diagnostic::error(format!("Invalid value for local.{name}")).at(local.loc.narrow(e.span)).detail(e.message)
    })?;
    values.frame_mut(module).locals.insert(name.to_string(), v);
    Ok(())
}

/// Evaluates an output; a sensitive value needs `sensitive = true` in the
/// root module (a child module's output may pass a secret on to its caller,
/// marked, as in Terraform).
pub fn eval_output(
    stack: &Stack,
    values: &mut Values,
    module: &ModuleInstance,
    name: &str,
) -> Result<Value, Diagnostic> {
    let Some(output) = stack.module(&module.static_path()).and_then(|m| m.outputs.get(name)) else {
        return Ok(Value::Null);
    };
    let v = eval::eval(&output.expr, &values.module_scope(module)).map_err(|e| {
        Diagnostic::error(format!("Invalid value for output \"{name}\""))
            .at(output.loc.narrow(e.span))
            .detail(e.message)
    })?;
    if v.is_sensitive() && !output.sensitive && module.is_root() {
        return Err(Diagnostic::error(format!("Output \"{name}\" refers to sensitive values"))
            .at(output.loc.clone())
            .detail("Add `sensitive = true` to the output block to confirm it may hold a secret; gantry will then not show or store its value."));
    }
    let v = v.marked_if(output.sensitive);
    values.frame_mut(module).outputs.insert(name.to_string(), v.clone());
    Ok(v)
}

/// Reads a data source, or leaves it unknown while its arguments are.
pub async fn read_data(
    stack: &Stack,
    values: &mut Values,
    aws: &AwsCtx,
    provider: &ProviderValues,
    addr: &ResourceAddr,
) -> Result<(), Diagnostics> {
    let Some(config) = stack.resource_config(addr) else { return Ok(()) };
    let Some(ds) = resources::data_source(&addr.rtype) else { return unsupported_type(stack, values, addr) };
    let instances = desired::expand(config, &values.module_scope(&addr.module))?;
    let mut out = Vec::new();
    for (key, each) in &instances {
        let scope = values.resource_scope(&addr.module, key, each.as_ref());
        let args =
            desired::evaluate(ds.schema(), &config.body, &scope, &provider.default_tags, &config.addr.to_string())?;
        let known = args.values().all(Value::is_known);
        let value = if known {
            let json: resources::Attrs = args.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            let attrs = ds.read(aws, &json).await.map_err(|e| {
                Diagnostic::error(format!("Reading {}{key} failed", addr)).at(config.loc.clone()).detail(e.to_string())
            })?;
            resources::data_value(ds.schema(), &attrs)
        } else {
            Value::Unknown
        };
        out.push((key.clone(), value));
    }
    let repeated = !matches!(config.repetition, crate::config::Repetition::Single);
    values.set_resource(addr, out, repeated);
    Ok(())
}

/// Evaluates conditions (preconditions, postconditions with `self`, check
/// asserts). A condition that is false is a diagnostic of `severity` with
/// its error message; one still unknown waits for apply, as in Terraform.
pub fn check_conditions<'a>(
    conditions: impl IntoIterator<Item = &'a crate::config::Condition>,
    scope: &dyn eval::Scope,
    self_value: Option<&Value>,
    what: &str,
    severity: crate::diag::Severity,
) -> Diagnostics {
    let mut out = Diagnostics::default();
    let bound: Vec<(String, Value)> = self_value.map(|v| ("self".to_string(), v.clone())).into_iter().collect();
    for c in conditions {
        if c.post != self_value.is_some() {
            continue;
        }
        let result = eval::eval_with(&c.condition, scope, &bound);
        let mut d = match result.as_ref().map(Value::peel) {
            Ok(Value::Bool(true)) | Ok(Value::Unknown) => continue,
            Ok(Value::Bool(false)) => {
                let message = eval::eval_with(&c.error_message, scope, &bound)
                    .ok()
                    .and_then(|m| if m.is_sensitive() { None } else { m.as_str().map(str::to_string) })
                    .unwrap_or_else(|| "The condition is false.".to_string());
                let kind = match (c.post, severity) {
                    (true, _) => "Resource postcondition failed",
                    (false, crate::diag::Severity::Warning) => "Check block assertion failed",
                    (false, _) => "Resource precondition failed",
                };
                Diagnostic::error(format!("{kind}: {what}")).at(c.loc.clone()).detail(message)
            }
            Ok(other) => Diagnostic::error(format!("Invalid condition result in {what}"))
                .at(c.loc.clone())
                .detail(format!("A condition must be true or false, found {}.", other.type_name())),
            Err(e) => Diagnostic::error(format!("Invalid condition in {what}"))
                .at(c.loc.narrow(e.span.clone()))
                .detail(e.message.clone()),
        };
        d.severity = severity;
        out.push(d);
    }
    out
}

/// Runs the asserts of every `check` block of every module instance: a
/// failed one is a warning, never a reason to stop.
pub fn run_checks(stack: &Stack, graph: &crate::graph::Graph, values: &Values) -> Diagnostics {
    let mut out = Diagnostics::default();
    for module in graph.module_instances() {
        let Some(config) = stack.module(&module.static_path()) else { continue };
        for check in &config.checks {
            let what = if module.is_root() {
                format!("check.{}", check.name)
            } else {
                format!("{module}.check.{}", check.name)
            };
            out.extend(check_conditions(
                &check.asserts,
                &values.module_scope(&module),
                None,
                &what,
                crate::diag::Severity::Warning,
            ));
        }
    }
    out
}
