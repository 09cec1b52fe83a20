//! The plan walk: visit the graph in dependency order, evaluating variables,
//! locals, data sources and resource arguments, and diff each resource
//! instance against the refreshed state.

use std::collections::{BTreeMap, BTreeSet};

use crate::addr::{InstanceAddr, InstanceKey, Mode, ResourceAddr};
use crate::aws::AwsCtx;
use crate::config::{Repetition, Stack};
use crate::desired::{self, AttrValues};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::{Graph, Node};
use crate::node_eval::{eval_local, eval_output, eval_variable, read_data};
use crate::resources;
use crate::scope::Values;
use crate::state::State;
use crate::value::Value;

use super::compare::state_values;
use super::diff::diff;
use super::refresh::refresh;
use super::{Action, OutputChange, Plan, ResourceChange};

/// What a plan walk needs.
pub struct PlanInputs<'a> {
    pub stack: &'a Stack,
    pub graph: &'a Graph,
    pub env: &'a str,
    pub vars: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Read live state first (the default; `-refresh=false` skips it).
    pub refresh: bool,
    /// Only report drift; plan no changes.
    pub refresh_only: bool,
    /// Plan the deletion of everything in state.
    pub destroy: bool,
    /// Limit the plan to these addresses and what they depend on.
    pub targets: Vec<InstanceAddr>,
    /// Replace these instances even when nothing changed (`-replace`).
    pub replace: Vec<InstanceAddr>,
}

pub use crate::node_eval::{eval_provider, ProviderValues};

/// A plan and what apply needs to carry it out.
pub struct Planned {
    pub plan: Plan,
    /// State as refreshed (what apply starts from).
    pub refreshed: State,
    pub aws: AwsCtx,
    pub provider: ProviderValues,
    pub adopted: Vec<InstanceAddr>,
    /// Data sources read during the plan, so apply need not read them again.
    pub data: BTreeMap<ResourceAddr, Value>,
    /// Warnings to show with the plan (failed `check` asserts).
    pub warnings: Diagnostics,
}

/// Runs the plan.
pub async fn plan(inputs: PlanInputs<'_>, prior: Option<State>, options: &PlanOptions) -> Result<Planned, Diagnostics> {
    let PlanInputs { stack, graph, env, vars } = inputs;
    let mut prior = prior.unwrap_or_default();
    // Hashes compared with another key would all read as changed.
    prior.require_key().map_err(|e| Diagnostics::from(Diagnostic::error(e.to_string())))?;
    let moves = super::moves::apply_moves(stack, graph, &mut prior)?;
    let mut values = Values::for_graph(stack, graph, vars);
    let mut diags = Diagnostics::default();
    let mut provider = ProviderValues::default();
    let mut aws: Option<AwsCtx> = None;
    let mut refreshed = prior.clone();
    let mut drift = Vec::new();
    let mut adopted = Vec::new();
    let mut changes: Vec<ResourceChange> = Vec::new();
    let mut outputs = Vec::new();
    let mut failed: BTreeSet<Node> = BTreeSet::new();

    for &i in &graph.order {
        let node = graph.node(i).clone();
        // Skip what depends on something that already failed: one root error,
        // not a cascade of "unknown" complaints.
        if graph.dependencies_of(&node).iter().any(|d| failed.contains(*d)) {
            failed.insert(node);
            continue;
        }
        let result: Result<(), Diagnostics> = match &node {
            Node::Variable(module, name) => eval_variable(stack, &mut values, module, name),
            Node::Provider => match eval_provider(stack, &values) {
                Ok(p) => {
                    provider = p;
                    let ctx = AwsCtx::load(provider.region.clone()).await;
                    // Journal entries of interrupted creates are resolved even
                    // with --no-refresh: skipping them could create twice.
                    if (options.refresh && !prior.resources.is_empty()) || !prior.pending.is_empty() {
                        match refresh(&ctx, &stack.name, env, &prior).await {
                            Ok(r) => {
                                refreshed = r.state;
                                drift = r.drift;
                                adopted = r.adopted;
                            }
                            Err(e) => {
                                return Err(Diagnostic::error("Refreshing state from AWS failed")
                                    .detail(crate::aws::error_chain(&e))
                                    .into())
                            }
                        }
                    }
                    aws = Some(ctx);
                    Ok(())
                }
                Err(d) => Err(d),
            },
            Node::Local(module, name) => eval_local(stack, &mut values, module, name).map_err(Diagnostics::from),
            Node::Resource(addr) if addr.mode == Mode::Data => match &aws {
                Some(ctx) => read_data(stack, &mut values, ctx, &provider, addr).await,
                None => Ok(()),
            },
            Node::Resource(addr) => {
                plan_resource(stack, graph, &mut values, &refreshed, &provider, addr, options, &mut changes)
            }
            Node::Output(module, name) => match eval_output(stack, &mut values, module, name) {
                Ok(after) if module.is_root() => {
                    outputs.push(output_change(&prior, name, after, stack.outputs[name].sensitive, &refreshed));
                    Ok(())
                }
                Ok(_) => Ok(()),
                Err(d) => Err(d.into()),
            },
        };
        if let Err(d) = result {
            diags.extend(d);
            failed.insert(node);
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let warnings = crate::node_eval::run_checks(stack, graph, &values);
    let aws = match aws {
        Some(aws) => aws,
        None => AwsCtx::load(provider.region.clone()).await,
    };

    // Resources in state whose block (or module instance) was removed
    // from the configuration.
    for r in &refreshed.resources {
        if !graph.index.contains_key(&Node::Resource(r.address.resource.clone())) {
            let reason = if stack.resource_config(&r.address.resource).is_some() {
                "its module instance is no longer in count/for_each"
            } else {
                "its resource block was removed from the configuration"
            };
            changes.push(delete_change(r, reason));
        }
    }
    if options.destroy {
        changes = refreshed.resources.iter().map(|r| delete_change(r, "destroy")).collect();
        outputs.clear();
    }
    if options.refresh_only {
        for c in &mut changes {
            c.action = Action::NoOp;
        }
        outputs.clear();
    }
    if !options.targets.is_empty() {
        if options.destroy {
            limit_destroy_to_targets(graph, &options.targets, &mut changes);
        } else {
            limit_to_targets(graph, &options.targets, &mut changes);
        }
        outputs.clear();
    }
    for change in &changes {
        if change.action.is_destructive() {
            if let Some(config) = stack.resource_config(&change.addr.resource) {
                if config.lifecycle.prevent_destroy {
                    diags.push(
                        Diagnostic::error(format!("Instance cannot be destroyed: {}", change.addr))
                            .at(config.loc.clone())
                            .detail(format!(
                                "{} has lifecycle.prevent_destroy set, but the plan would {} it. Remove prevent_destroy (deliberately) or change the plan so it is kept.",
                                change.addr,
                                if change.action == Action::Delete { "destroy" } else { "replace" }
                            )),
                    );
                }
            }
        }
    }
    if !options.refresh_only {
        match super::shared_use::check(&aws, &changes, &refreshed).await {
            Ok(problems) => diags.extend(Diagnostics(problems)),
            Err(e) => diags.push(
                Diagnostic::error("Cannot tell whether other stacks use what this plan deletes")
                    .detail(crate::aws::error_chain(&e)),
            ),
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    changes.sort_by(|a, b| a.addr.cmp(&b.addr));
    let deposed = refreshed
        .deposed
        .iter()
        .map(|d| super::Deposed { addr: d.address.clone(), rtype: d.rtype.clone(), id: d.id.clone() })
        .collect();
    outputs.sort_by(|a, b| a.name.cmp(&b.name));
    let plan = Plan {
        stack: stack.name.clone(),
        env: env.to_string(),
        changes,
        drift,
        outputs,
        destroy: options.destroy,
        moves,
        deposed,
    };
    let data = values.resources.into_iter().filter(|(a, v)| a.mode == Mode::Data && v.is_known()).collect();
    Ok(Planned { plan, refreshed, aws, provider, adopted, data, warnings })
}

#[allow(clippy::too_many_arguments)]
fn plan_resource(
    stack: &Stack,
    graph: &Graph,
    values: &mut Values,
    refreshed: &State,
    provider: &ProviderValues,
    addr: &ResourceAddr,
    options: &PlanOptions,
    changes: &mut Vec<ResourceChange>,
) -> Result<(), Diagnostics> {
    let _ = graph;
    let Some(config) = stack.resource_config(addr) else { return Ok(()) };
    let Some(rt) = resources::resource_type(&addr.rtype) else {
        return crate::node_eval::unsupported_type(stack, values, addr);
    };
    let schema = rt.schema();
    let hasher = refreshed.hasher();
    let instances = desired::expand(config, &values.module_scope(&addr.module))?;
    let mut diags = Diagnostics::default();
    let mut instance_values = Vec::new();
    let keys: BTreeSet<InstanceKey> = instances.iter().map(|(k, _)| k.clone()).collect();
    let github_in_stack =
        addr.rtype == "aws_iam_role" && super::safety::declares_github_provider(stack, &values.scope());
    for (key, each_value) in &instances {
        let iaddr = addr.instance(key.clone());
        let scope = values.resource_scope(&addr.module, key, each_value.as_ref());
        let unsafe_trust = super::safety::check_role(config, &scope, github_in_stack);
        if !unsafe_trust.is_empty() {
            diags.extend(Diagnostics(unsafe_trust));
            continue;
        }
        let desired =
            match desired::evaluate(schema, &config.body, &scope, &provider.default_tags, &config.addr.to_string()) {
                Ok(d) => d,
                Err(d) => {
                    diags.extend(d);
                    continue;
                }
            };
        // An id is shown in progress lines and stored in state: a secret must
        // not become part of one.
        let plain: resources::Attrs = desired.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
        if let Some(id) = rt.id_from_config(&plain) {
            if crate::value::redact(&id, desired.values()) != id {
                diags.push(
                    Diagnostic::error(format!("{iaddr} would have a secret in its id"))
                        .at(config.loc.clone())
                        .detail("Its name is built from a sensitive value; ids appear in plans, logs and state. Build names from non-sensitive values."),
                );
                continue;
            }
        }
        if let Some(problem) = resources::timeouts::problem(&plain) {
            diags.push(Diagnostic::error(format!("{iaddr}: {problem}")).at(config.loc.clone()));
            continue;
        }
        if let Some(problem) = rt.name_rule().and_then(|rule| rule.check(&plain)) {
            diags.push(Diagnostic::error(format!("{iaddr}: {problem}")).at(config.loc.clone()));
            continue;
        }
        let pre = crate::node_eval::check_conditions(
            &config.lifecycle.conditions,
            &scope,
            None,
            &iaddr.to_string(),
            crate::diag::Severity::Error,
        );
        if pre.has_errors() {
            diags.extend(pre);
            continue;
        }
        let prior = refreshed.get(&iaddr).map(state_values);
        let mut d = diff(schema, &desired, prior.as_ref(), &config.lifecycle, &hasher);
        let forced = options.replace.contains(&iaddr) && prior.is_some();
        if forced {
            super::diff::force_replace(&mut d, schema, config.lifecycle.create_before_destroy);
        }
        diags.extend(crate::node_eval::check_conditions(
            &config.lifecycle.conditions,
            &scope,
            Some(&Value::Map(d.after.clone())),
            &iaddr.to_string(),
            crate::diag::Severity::Error,
        ));
        instance_values.push((key.clone(), Value::Map(d.after.clone())));
        changes.push(ResourceChange {
            addr: iaddr,
            rtype: addr.rtype.clone(),
            action: d.action,
            before: prior,
            after: Some(d.after),
            replace_paths: d.replace_paths,
            changed: d.changed,
            reason: forced.then(|| super::diff::REPLACE_REQUESTED.to_string()),
        });
    }
    let repeated = !matches!(config.repetition, Repetition::Single);
    values.set_resource(addr, instance_values, repeated);
    for r in refreshed.resources.iter().filter(|r| &r.address.resource == addr) {
        if !keys.contains(&r.address.key) {
            changes.push(delete_change(r, "its key is no longer in count/for_each"));
        }
    }
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(())
    }
}

fn delete_change(r: &crate::state::ResourceState, reason: &str) -> ResourceChange {
    ResourceChange {
        addr: r.address.clone(),
        rtype: r.rtype.clone(),
        action: Action::Delete,
        before: Some(state_values(r)),
        after: None,
        replace_paths: Vec::new(),
        changed: Vec::new(),
        reason: Some(reason.to_string()),
    }
}

fn output_change(prior: &State, name: &str, after: Value, sensitive: bool, refreshed: &State) -> OutputChange {
    let _ = refreshed;
    let before = prior.outputs.get(name);
    let action = match before {
        None => Action::Create,
        Some(_) if !after.is_known() => Action::Update,
        Some(b) if b.sensitive || sensitive => {
            let hash = prior.hasher().hash(&after.to_json());
            if b.hash.as_deref() == Some(hash.as_str()) && b.sensitive == sensitive {
                Action::NoOp
            } else {
                Action::Update
            }
        }
        Some(b) => {
            if b.value == after.to_json() {
                Action::NoOp
            } else {
                Action::Update
            }
        }
    };
    OutputChange {
        name: name.to_string(),
        action,
        before: before.map(|b| Value::from_json(&b.value).marked_if(b.sensitive)),
        after,
        sensitive,
    }
}

/// The planned value of an instance, for expressions that refer to it.
pub fn instance_value(after: &AttrValues) -> Value {
    Value::Map(after.clone())
}

/// Turns every change outside the targets and their dependencies into a no-op.
fn limit_to_targets(graph: &Graph, targets: &[InstanceAddr], changes: &mut [ResourceChange]) {
    let mut needed: BTreeSet<ResourceAddr> = BTreeSet::new();
    let mut todo: Vec<ResourceAddr> = targets.iter().map(|t| t.resource.clone()).collect();
    while let Some(addr) = todo.pop() {
        if needed.insert(addr.clone()) {
            todo.extend(graph.resource_dependencies(&addr));
        }
    }
    for change in changes.iter_mut() {
        let targeted_instance = is_targeted(targets, &change.addr);
        let dependency =
            needed.contains(&change.addr.resource) && !targets.iter().any(|t| t.resource == change.addr.resource);
        if !(targeted_instance || dependency) {
            change.action = Action::NoOp;
        }
    }
}

/// `destroy -target=X`, as Terraform does it: X and everything that depends
/// on X go (a role's policies before the role), never what X depends on.
fn limit_destroy_to_targets(graph: &Graph, targets: &[InstanceAddr], changes: &mut [ResourceChange]) {
    let is_target = |addr: &ResourceAddr| targets.iter().any(|t| &t.resource == addr);
    for change in changes.iter_mut() {
        let targeted_instance = is_targeted(targets, &change.addr);
        let mut seen: BTreeSet<ResourceAddr> = BTreeSet::new();
        let mut todo = graph.resource_dependencies(&change.addr.resource);
        let mut dependent = false;
        while let Some(addr) = todo.pop() {
            if is_target(&addr) {
                dependent = true;
                break;
            }
            if seen.insert(addr.clone()) {
                todo.extend(graph.resource_dependencies(&addr));
            }
        }
        if !(targeted_instance || dependent) {
            change.action = Action::NoOp;
        }
    }
}

/// Whether a target names this instance: its resource with no key (every
/// instance), or its resource and key.
fn is_targeted(targets: &[InstanceAddr], addr: &InstanceAddr) -> bool {
    targets.iter().any(|t| t.resource == addr.resource && (t.key == InstanceKey::None || t.key == addr.key))
}
