//! Apply: carry out a plan by walking the graph with a bounded number of
//! concurrent operations. A failed resource stops only its dependents.
//!
//! The driver alone owns the state. Before a create it journals the intent
//! (address, the id it will have) and persists; after every operation it
//! records the outcome and persists again (atomic write). A kill at any point
//! leaves a readable state, and the next plan adopts what an interrupted
//! create made.

pub(crate) mod adopt;
mod ops;
mod scheduler;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::addr::{InstanceAddr, Mode, ResourceAddr};
use crate::aws::{Tags, TAG_ADDRESS, TAG_ENV, TAG_OPERATION, TAG_STACK};
use crate::config::{Repetition, Stack};
use crate::desired::{self, AttrValues};
use crate::diag::Diagnostics;
use crate::graph::{Graph, Node};
use crate::node_eval::{eval_local, eval_output, eval_variable, read_data};
use crate::plan::compare::state_values;
use crate::plan::diff::diff;
use crate::plan::walk::Planned;
use crate::plan::Action;
use crate::resources::{self, Attrs, ResourceType};
use crate::scope::Values;
use crate::state::{Backend, OutputState, PendingCreate, ResourceState, State, StateError};
use crate::value::Value;

use ops::Op;
pub use ops::Outcome;
use scheduler::{Scheduler, Status};

/// Progress of an apply, for the terminal.
#[derive(Debug, Clone)]
pub enum Event {
    Started { addr: InstanceAddr, action: Action },
    Finished { addr: InstanceAddr, action: Action, elapsed: Duration, id: Option<String> },
    Failed { addr: InstanceAddr, action: Action, error: String },
    Interrupted { in_flight: usize },
}

#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: Vec<(InstanceAddr, Action)>,
    pub failed: Vec<(InstanceAddr, String)>,
    /// Resources not attempted because something they depend on failed, or
    /// because of an interrupt.
    pub skipped: Vec<String>,
    pub interrupted: bool,
    /// Configuration errors found while evaluating (a dependency's value
    /// turned out invalid).
    pub diagnostics: Diagnostics,
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && !self.interrupted && !self.diagnostics.has_errors()
    }
}

pub struct ApplyInputs<'a> {
    pub stack: &'a Stack,
    pub graph: &'a Graph,
    pub env: &'a str,
    pub vars: BTreeMap<String, Value>,
    pub backend: &'a dyn Backend,
    pub parallelism: usize,
}

/// A unit the scheduler orders: a delete of something no longer configured,
/// the barrier after all such deletes, or a node of the stack's graph.
enum Unit {
    Delete(InstanceAddr),
    Barrier,
    Node(Node),
}

struct QueuedOp {
    unit: usize,
    addr: InstanceAddr,
    action: Action,
    rt: &'static dyn ResourceType,
    op: Op,
    /// Planned values, for the resource's value once done.
    after: AttrValues,
    /// Names of attributes that hold sensitive values.
    sensitive: Vec<String>,
    /// `tags` from the configuration, stored as configured.
    tags: serde_json::Value,
    pending_id: Option<String>,
}

struct Done {
    unit: usize,
    /// The id a create gives the object, when known up front.
    pending_id: Option<String>,
    addr: InstanceAddr,
    action: Action,
    rt: &'static dyn ResourceType,
    after: AttrValues,
    sensitive: Vec<String>,
    tags: serde_json::Value,
    outcome: Outcome,
}

/// Per resource node: operations still running and instance values so far.
#[derive(Default)]
struct NodeProgress {
    open_ops: usize,
    failed: bool,
    instances: Vec<(crate::addr::InstanceKey, Value)>,
}

struct Driver<'a> {
    inputs: ApplyInputs<'a>,
    planned: Planned,
    state: State,
    values: Values,
    units: Vec<Unit>,
    sched: Scheduler,
    queue: VecDeque<QueuedOp>,
    running: JoinSet<Done>,
    progress: BTreeMap<usize, NodeProgress>,
    report: ApplyReport,
    outputs: BTreeMap<String, Value>,
    cancelled: bool,
}

/// Applies a plan. Returns an error only when state could not be written:
/// everything else is in the report.
pub async fn apply(
    inputs: ApplyInputs<'_>,
    planned: Planned,
    mut cancel: watch::Receiver<bool>,
    on_event: &mut dyn FnMut(Event),
) -> Result<ApplyReport, StateError> {
    let values = Values::for_graph(inputs.stack, inputs.graph, inputs.vars.clone());
    let (units, deps, after) = build_units(inputs.graph, &planned);
    let state = planned.refreshed.clone();
    let mut driver = Driver {
        sched: Scheduler::with_order(deps, after),
        inputs,
        planned,
        state,
        values,
        units,
        queue: VecDeque::new(),
        running: JoinSet::new(),
        progress: BTreeMap::new(),
        report: ApplyReport::default(),
        outputs: BTreeMap::new(),
        cancelled: false,
    };
    // Leftovers of earlier replaces go first: nothing depends on them.
    let aws = driver.planned.aws.clone();
    let failed = adopt::delete_deposed(&mut driver.state, &aws, driver.inputs.backend, on_event).await?;
    driver.report.failed.extend(failed);
    driver.run(&mut cancel, on_event).await?;
    driver.finish_state().await?;
    Ok(driver.report)
}

/// The units, what each depends on, and what each merely starts after.
type Units = (Vec<Unit>, Vec<Vec<usize>>, Vec<Vec<usize>>);

fn build_units(graph: &Graph, planned: &Planned) -> Units {
    let mut units = Vec::new();
    let mut deps: Vec<Vec<usize>> = Vec::new();
    // Deletes of what the configuration no longer has, ordered so that a
    // resource goes before the things it depended on.
    let deletes: Vec<&InstanceAddr> =
        planned.plan.changes.iter().filter(|c| c.action == Action::Delete).map(|c| &c.addr).collect();
    let delete_index: BTreeMap<&InstanceAddr, usize> = deletes.iter().enumerate().map(|(i, a)| (*a, i)).collect();
    for addr in &deletes {
        units.push(Unit::Delete((*addr).clone()));
        deps.push(Vec::new());
    }
    for (i, addr) in deletes.iter().enumerate() {
        let Some(r) = planned.refreshed.get(addr) else { continue };
        for dep in &r.dependencies {
            for (other, &j) in &delete_index {
                if &other.resource == dep && j != i {
                    // `other` is depended upon by `addr`: delete `addr` first.
                    deps[j].push(i);
                }
            }
        }
    }
    // Deletes go first (a renamed resource frees its name), but a failed
    // delete holds up nothing that does not depend on it: the barrier only
    // orders.
    let barrier = units.len();
    units.push(Unit::Barrier);
    deps.push(Vec::new());
    let mut after = vec![Vec::new(); units.len()];
    after[barrier] = (0..barrier).collect();
    if planned.plan.destroy {
        return (units, deps, after);
    }
    let base = units.len();
    let position: BTreeMap<petgraph::graph::NodeIndex, usize> =
        graph.order.iter().enumerate().map(|(k, &i)| (i, base + k)).collect();
    for &i in &graph.order {
        units.push(Unit::Node(graph.node(i).clone()));
        let mut d: Vec<usize> = graph
            .graph
            .neighbors_directed(i, petgraph::Direction::Incoming)
            .filter_map(|j| position.get(&j).copied())
            .collect();
        d.push(barrier);
        deps.push(d);
        after.push(Vec::new());
    }
    (units, deps, after)
}

impl Driver<'_> {
    async fn run(
        &mut self,
        cancel: &mut watch::Receiver<bool>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), StateError> {
        loop {
            if *cancel.borrow() && !self.cancelled {
                self.interrupt(on_event);
            }
            let mut progressed = false;
            if !self.cancelled {
                for unit in self.sched.take_ready() {
                    progressed = true;
                    self.start_unit(unit).await;
                }
                // Every operation that may start now is journaled in one
                // state write, then started.
                let mut starting = Vec::new();
                while self.running.len() + starting.len() < self.inputs.parallelism.max(1) {
                    let Some(op) = self.queue.pop_front() else { break };
                    starting.push(op);
                }
                if !starting.is_empty() {
                    progressed = true;
                    self.spawn_all(starting, on_event).await?;
                }
            }
            if self.running.is_empty() {
                if progressed {
                    continue;
                }
                break;
            }
            tokio::select! {
                done = self.running.join_next() => {
                    // Operations that finished together are recorded in one
                    // state write.
                    let mut finished: Vec<Done> = done.and_then(Result::ok).into_iter().collect();
                    while let Some(more) = self.running.try_join_next() {
                        finished.extend(more.ok());
                    }
                    if !finished.is_empty() {
                        self.record_all(finished, on_event).await?;
                    }
                }
                changed = cancel.changed(), if !self.cancelled => {
                    if changed.is_err() || *cancel.borrow() {
                        self.interrupt(on_event);
                    }
                }
            }
        }
        if self.cancelled || !self.sched.all_settled() {
            self.sched.skip_waiting();
        }
        for (i, unit) in self.units.iter().enumerate() {
            if self.sched.status(i) == Status::Skipped {
                match unit {
                    Unit::Delete(a) => self.report.skipped.push(a.to_string()),
                    Unit::Node(Node::Resource(a)) => self.report.skipped.push(a.to_string()),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn interrupt(&mut self, on_event: &mut dyn FnMut(Event)) {
        self.cancelled = true;
        self.report.interrupted = true;
        self.queue.clear();
        on_event(Event::Interrupted { in_flight: self.running.len() });
    }

    /// Starts a unit: evaluates it, and queues the operations it needs.
    async fn start_unit(&mut self, unit: usize) {
        let ok = match &self.units[unit] {
            Unit::Barrier => true,
            Unit::Delete(addr) => {
                let addr = addr.clone();
                self.queue_delete(unit, &addr);
                return;
            }
            Unit::Node(node) => {
                let node = node.clone();
                match self.start_node(unit, &node).await {
                    Ok(true) => return, // operations queued; finished when they are
                    Ok(false) => true,
                    Err(d) => {
                        self.report.diagnostics.extend(d);
                        false
                    }
                }
            }
        };
        self.sched.finish(unit, ok);
    }

    fn queue_delete(&mut self, unit: usize, addr: &InstanceAddr) {
        let Some(prior) = self.state.get(addr).cloned() else {
            self.sched.finish(unit, true);
            return;
        };
        let Some(rt) = resources::resource_type(&prior.rtype) else {
            self.report.failed.push((addr.clone(), format!("unsupported resource type {}", prior.rtype)));
            self.sched.finish(unit, false);
            return;
        };
        self.progress.entry(unit).or_default().open_ops += 1;
        self.queue.push_back(QueuedOp {
            unit,
            addr: addr.clone(),
            action: Action::Delete,
            rt,
            op: Op::Delete { id: prior.id.clone(), prior: prior.attributes.clone() },
            after: AttrValues::new(),
            sensitive: Vec::new(),
            tags: serde_json::Value::Null,
            pending_id: None,
        });
    }

    /// Returns whether operations were queued for the node.
    async fn start_node(&mut self, unit: usize, node: &Node) -> Result<bool, Diagnostics> {
        let stack = self.inputs.stack;
        match node {
            Node::Provider => Ok(false),
            Node::Variable(module, name) => eval_variable(stack, &mut self.values, module, name).map(|_| false),
            Node::Local(module, name) => {
                eval_local(stack, &mut self.values, module, name).map(|_| false).map_err(Into::into)
            }
            Node::Output(module, name) => {
                let v = eval_output(stack, &mut self.values, module, name)?;
                if module.is_root() {
                    self.outputs.insert(name.clone(), v);
                }
                Ok(false)
            }
            Node::Resource(addr) if addr.mode == Mode::Data => {
                if let Some(v) = self.planned.data.get(addr) {
                    self.values.resources.insert(addr.clone(), v.clone());
                    return Ok(false);
                }
                let aws = self.planned.aws.clone();
                read_data(stack, &mut self.values, &aws, &self.planned.provider, addr).await.map(|_| false)
            }
            Node::Resource(addr) => self.start_resource(unit, addr),
        }
    }

    fn start_resource(&mut self, unit: usize, addr: &ResourceAddr) -> Result<bool, Diagnostics> {
        let stack = self.inputs.stack;
        let Some(config) = stack.resource_config(addr) else { return Ok(false) };
        let Some(rt) = resources::resource_type(&addr.rtype) else {
            crate::node_eval::unsupported_type(stack, &mut self.values, addr)?;
            return Ok(false);
        };
        let schema = rt.schema();
        let hasher = self.state.hasher();
        let instances = desired::expand(config, &self.values.module_scope(&addr.module))?;
        let mut queued = 0;
        let mut instance_values = Vec::new();
        for (key, each_value) in &instances {
            let iaddr = addr.instance(key.clone());
            let scope = self.values.resource_scope(&addr.module, key, each_value.as_ref());
            let wanted = desired::evaluate(
                schema,
                &config.body,
                &scope,
                &self.planned.provider.default_tags,
                &config.addr.to_string(),
            )?;
            let prior_state = self.state.get(&iaddr).cloned();
            let prior = prior_state.as_ref().map(state_values);
            let mut d = diff(schema, &wanted, prior.as_ref(), &config.lifecycle, &hasher);
            let planned_change = self.planned.plan.change(&iaddr);
            if planned_change.is_some_and(|c| c.reason.as_deref() == Some(crate::plan::diff::REPLACE_REQUESTED)) {
                crate::plan::diff::force_replace(&mut d, schema, config.lifecycle.create_before_destroy);
            }
            let planned_action = planned_change.map(|c| c.action).unwrap_or(Action::NoOp);
            if planned_action == Action::NoOp || d.action == Action::NoOp {
                instance_values.push((key.clone(), Value::Map(d.after)));
                continue;
            }
            let mut after = d.after;
            let creates = !matches!((d.action, &prior_state), (Action::Update, Some(_)));
            if creates {
                name_new_object(rt, &wanted, &mut after);
            }
            let desired_json = to_attrs(schema, &after);
            let sensitive: Vec<String> =
                after.iter().filter(|(_, v)| v.is_sensitive()).map(|(k, _)| k.clone()).collect();
            let op = match (d.action, prior_state) {
                (Action::Create, _) | (_, None) => Op::Create { desired: desired_json.clone() },
                (Action::Update, Some(p)) => {
                    Op::Update { id: p.id, prior: p.attributes, desired: desired_json.clone() }
                }
                (Action::DeleteThenCreate, Some(p)) => {
                    Op::DeleteThenCreate { id: p.id, prior: p.attributes, desired: desired_json.clone() }
                }
                (Action::CreateThenDelete, Some(p)) => {
                    Op::CreateThenDelete { id: p.id, prior: p.attributes, desired: desired_json.clone() }
                }
                (Action::Delete | Action::NoOp, Some(_)) => continue,
            };
            queued += 1;
            self.queue.push_back(QueuedOp {
                unit,
                addr: iaddr,
                action: d.action,
                rt,
                pending_id: if creates { rt.id_from_config(&desired_json) } else { None },
                op,
                after,
                sensitive,
                tags: wanted.get("tags").map(Value::to_json).unwrap_or_default(),
            });
        }
        let progress = self.progress.entry(unit).or_default();
        progress.instances = instance_values;
        progress.open_ops = queued;
        if queued == 0 {
            self.finish_resource(unit);
        }
        Ok(queued > 0)
    }

    /// All operations of a resource node are done: publish its value.
    fn finish_resource(&mut self, unit: usize) {
        let Unit::Node(Node::Resource(addr)) = &self.units[unit] else {
            let failed = self.progress.get(&unit).is_some_and(|p| p.failed);
            self.sched.finish(unit, !failed);
            return;
        };
        let progress = self.progress.remove(&unit).unwrap_or_default();
        let repeated =
            self.inputs.stack.resource_config(addr).is_some_and(|c| !matches!(c.repetition, Repetition::Single));
        let mut instances = progress.instances;
        instances.sort_by(|a, b| a.0.cmp(&b.0));
        self.values.set_resource(&addr.clone(), instances, repeated);
        self.sched.finish(unit, !progress.failed);
    }

    /// Starts operations: the creates among them are journaled first (in
    /// one state write), so that if this process dies while AWS creates an
    /// object, the next plan finds and adopts it.
    async fn spawn_all(&mut self, ops: Vec<QueuedOp>, on_event: &mut dyn FnMut(Event)) -> Result<(), StateError> {
        let mut journaled = false;
        let mut ready = Vec::with_capacity(ops.len());
        for op in ops {
            let mut owner_tags = owner_tags(&self.inputs.stack.name, self.inputs.env, &op.addr);
            let mut name_was_free = None;
            if matches!(op.op, Op::Create { .. } | Op::DeleteThenCreate { .. } | Op::CreateThenDelete { .. }) {
                let operation_id = operation_id(&self.state, &op.addr);
                name_was_free = adopt::name_was_free(op.rt, &self.planned.aws, op.pending_id.as_deref()).await;
                self.state.pending.push(PendingCreate {
                    address: op.addr.clone(),
                    rtype: op.rt.schema().type_name.to_string(),
                    id: op.pending_id.clone(),
                    operation_id: operation_id.clone(),
                    started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    name_was_free,
                    sensitive: op.sensitive.clone(),
                });
                owner_tags.insert(TAG_OPERATION.to_string(), operation_id);
                journaled = true;
            }
            ready.push((op, owner_tags, name_was_free));
        }
        if journaled {
            self.inputs.backend.write(&mut self.state).await?;
        }
        for (op, owner_tags, name_was_free) in ready {
            on_event(Event::Started { addr: op.addr.clone(), action: op.action });
            let aws = self.planned.aws.clone();
            let QueuedOp { unit, addr, action, rt, op, after, sensitive, tags, pending_id } = op;
            self.running.spawn(async move {
                let outcome = ops::run(rt, aws, owner_tags, op, name_was_free).await;
                Done { unit, pending_id, addr, action, rt, after, sensitive, tags, outcome }
            });
        }
        Ok(())
    }

    /// Records the outcomes of operations in state, persists it once, then
    /// reports each.
    async fn record_all(&mut self, finished: Vec<Done>, on_event: &mut dyn FnMut(Event)) -> Result<(), StateError> {
        let values: Vec<Option<Value>> = finished.iter().map(|done| self.record(done)).collect();
        self.inputs.backend.write(&mut self.state).await?;
        for (done, value) in finished.into_iter().zip(values) {
            self.report_done(done, value, on_event);
        }
        Ok(())
    }

    /// Records the outcome of one operation in state (not yet persisted);
    /// returns the resource instance's value for expressions, when it exists.
    fn record(&mut self, done: &Done) -> Option<Value> {
        let Done { addr, rt, after, sensitive, tags, outcome, .. } = done;
        let (addr, rt) = (addr.clone(), *rt);
        // A create that failed may still have made something (an instance
        // that never reached running): its journal entry stays, and the next
        // plan adopts whatever exists.
        // Not when AWS said the name is taken (that object is someone else's)
        // or refused the request outright.
        let maybe_made = outcome.current.is_none()
            && outcome.error.as_ref().is_some_and(|e| {
                !matches!(e, crate::aws::ProviderError::AlreadyExists { .. } | crate::aws::ProviderError::Invalid(_))
            });
        if !maybe_made {
            self.state.pending.retain(|p| p.address != addr);
        }
        let schema = rt.schema();
        let mut value = None;
        if outcome.deleted_old && outcome.current.is_none() {
            self.state.remove(&addr);
        }
        if let Some((id, attributes)) = &outcome.kept_old {
            // The replace's new object takes the address; the old one stays
            // on record until a later apply deletes it.
            if let Some(old) = self.state.get(&addr) {
                let old = ResourceState { id: id.clone(), attributes: attributes.clone(), ..old.clone() };
                self.state.deposed.push(old);
            }
        }
        if let Some(current) = &outcome.current {
            let mut attrs = current.attrs.clone();
            if schema.taggable {
                attrs.insert("tags".into(), tags.clone());
            }
            // The resource's value for expressions: live attributes, with the
            // configured (possibly secret) values kept in memory only.
            let mut live: AttrValues = attrs.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect();
            for (k, v) in after {
                if v.is_known() && schema.attr(k).is_some_and(|a| a.is_settable()) {
                    live.insert(k.clone(), v.clone());
                }
            }
            value = Some(Value::Map(live));
            let hashes = crate::plan::compare::seal(schema, &mut attrs, sensitive.clone(), &self.state.hasher());
            let dependencies = self.inputs.graph.resource_dependencies(&addr.resource);
            self.state.upsert(ResourceState {
                address: addr.clone(),
                rtype: schema.type_name.to_string(),
                id: current.id.clone(),
                attributes: attrs,
                sensitive_attributes: hashes,
                dependencies,
            });
        }
        value
    }

    /// Reports one recorded operation and advances its resource node.
    fn report_done(&mut self, done: Done, value: Option<Value>, on_event: &mut dyn FnMut(Event)) {
        let Done { unit, pending_id, addr, action, after, outcome, .. } = done;
        let progress = self.progress.entry(unit).or_default();
        progress.open_ops = progress.open_ops.saturating_sub(1);
        match outcome.error {
            None => {
                self.report.applied.push((addr.clone(), action));
                on_event(Event::Finished {
                    addr: addr.clone(),
                    action,
                    elapsed: outcome.elapsed,
                    id: outcome.current.as_ref().map(|c| c.id.clone()),
                });
            }
            Some(e) => {
                progress.failed = true;
                let mut message = crate::value::redact(&e.to_string(), after.values());
                if let (crate::aws::ProviderError::AlreadyExists { .. }, Some(id)) = (&e, &pending_id) {
                    message.push_str(&format!(
                        "\n  An object with that name exists already. If it is this stack's, adopt it: gantry import '{addr}' '{id}'; otherwise choose another name."
                    ));
                }
                on_event(Event::Failed { addr: addr.clone(), action, error: message.clone() });
                self.report.failed.push((addr.clone(), message));
            }
        }
        if let Some(v) = value {
            progress.instances.push((addr.key.clone(), v));
        }
        if progress.open_ops == 0 {
            self.finish_resource(unit);
        }
    }

    /// Outputs and dependencies, written once at the end.
    async fn finish_state(&mut self) -> Result<(), StateError> {
        let stack = self.inputs.stack;
        if self.planned.plan.destroy {
            if self.state.resources.is_empty() {
                self.state.outputs.clear();
            }
            // A create whose outcome is still unknown may have left an object:
            // destroy is not done while one remains.
            for p in &self.state.pending {
                self.report.failed.push((
                    p.address.clone(),
                    "a create of unknown outcome could not be resolved (its object could not be looked up); run destroy again".into(),
                ));
            }
        } else {
            let hasher = self.state.hasher();
            self.state.outputs.retain(|name, _| stack.outputs.contains_key(name));
            for (name, v) in &self.outputs {
                if !v.is_known() {
                    continue;
                }
                let sensitive = v.is_sensitive();
                let output = if sensitive {
                    OutputState { value: serde_json::Value::Null, sensitive, hash: Some(hasher.hash(&v.to_json())) }
                } else {
                    OutputState { value: v.to_json(), sensitive, hash: None }
                };
                self.state.outputs.insert(name.clone(), output);
            }
            let graph = self.inputs.graph;
            for r in &mut self.state.resources {
                if graph.index.contains_key(&Node::Resource(r.address.resource.clone())) {
                    r.dependencies = self.inputs.graph.resource_dependencies(&r.address.resource);
                }
            }
        }
        self.inputs.backend.write(&mut self.state).await
    }
}

/// Gives an object that is about to be created the name the provider would
/// generate, when the configuration sets none (`name` omitted, a prefix):
/// generated here, before the create is journaled, so that the journal holds
/// it and a create cut short is found again under it. A replaced object
/// gets a fresh name too (the old one is still taken, or about to be
/// reused), as in the provider.
fn name_new_object(rt: &dyn ResourceType, wanted: &AttrValues, after: &mut AttrValues) {
    let Some(rule) = rt.name_rule() else { return };
    if wanted.get(rule.name).is_some_and(|v| !v.is_null()) {
        return;
    }
    let config: Attrs = wanted.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
    after.insert(rule.name.to_string(), Value::String(rule.generate(&config)));
}

/// Ownership tags put on everything gantry creates.
pub fn owner_tags(stack: &str, env: &str, addr: &InstanceAddr) -> Tags {
    Tags::from([
        (TAG_STACK.to_string(), stack.to_string()),
        (TAG_ENV.to_string(), env.to_string()),
        (TAG_ADDRESS.to_string(), addr.to_string()),
    ])
}

/// The id of one create: the same for every retry of it (EC2 sends it as
/// `ClientToken`), different for a later create at the same address.
fn operation_id(state: &State, addr: &InstanceAddr) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{addr}\n{}", state.lineage, state.serial));
    hex::encode(&digest[..16])
}

/// Planned values as the attribute map a resource type receives: every
/// settable attribute, real (unmarked) values.
fn to_attrs(schema: &crate::resources::Schema, after: &AttrValues) -> Attrs {
    let mut out = Attrs::new();
    for (name, value) in after {
        let settable =
            schema.attr(name).is_some_and(|a| a.is_settable() || a.name == "tags_all") || schema.block(name).is_some();
        if settable && value.is_known() {
            out.insert(name.clone(), value.to_json());
        } else if settable {
            out.insert(name.clone(), serde_json::Value::Null);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> &'static dyn ResourceType {
        resources::resource_type("aws_s3_bucket").expect("supported")
    }

    #[test]
    fn a_new_object_without_a_name_gets_one_from_its_prefix() {
        let wanted = AttrValues::from([
            ("bucket".to_string(), Value::Null),
            ("bucket_prefix".to_string(), Value::String("logs-".into())),
        ]);
        // A replace carries the old name in the plan; the new object gets a fresh one.
        let mut after = AttrValues::from([("bucket".to_string(), Value::String("logs-old".into()))]);
        name_new_object(bucket(), &wanted, &mut after);
        let Some(Value::String(name)) = after.get("bucket") else { panic!("named: {after:?}") };
        assert!(name.starts_with("logs-2") && name.len() == "logs-".len() + 26, "{name}");
    }

    #[test]
    fn a_configured_name_is_kept() {
        let wanted = AttrValues::from([("bucket".to_string(), Value::String("mine".into()))]);
        let mut after = wanted.clone();
        name_new_object(bucket(), &wanted, &mut after);
        assert_eq!(after.get("bucket"), Some(&Value::String("mine".into())));
        let role_policy = resources::resource_type("aws_ssm_parameter").expect("supported");
        let mut untouched = AttrValues::new();
        name_new_object(role_policy, &AttrValues::new(), &mut untouched);
        assert!(untouched.is_empty(), "types without a name rule are left alone");
    }
}
