//! The dependency graph of a stack: references and `depends_on` make edges
//! (from the thing referenced to the thing referring). A cycle is an error
//! that prints the cycle as addresses with file:line.

pub(crate) mod expand;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use hcl_edit::expr::Expression;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::addr::{InstanceKey, ModuleInstance, ResourceAddr};
use crate::config::{Body, Module, Repetition, Stack};
use crate::diag::{Diagnostic, Diagnostics, Loc};
use crate::eval::{self, Reference};
use crate::value::Value;

pub use expand::expand_repetition;

/// A node of the graph: everything that gets a value during a walk, in the
/// module instance it belongs to. Modules are expanded here, in the graph
/// builder: a module called with `count = 2` contributes its nodes twice.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    Provider,
    Variable(ModuleInstance, String),
    Local(ModuleInstance, String),
    Resource(ResourceAddr),
    Output(ModuleInstance, String),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = |m: &ModuleInstance| if m.is_root() { String::new() } else { format!("{m}.") };
        match self {
            Node::Provider => f.write_str("provider.aws"),
            Node::Variable(m, n) => write!(f, "{}var.{n}", prefix(m)),
            Node::Local(m, n) => write!(f, "{}local.{n}", prefix(m)),
            Node::Resource(a) => write!(f, "{a}"),
            Node::Output(m, n) => write!(f, "{}output.{n}", prefix(m)),
        }
    }
}

/// How many instances a module call has, as evaluated for the graph.
#[derive(Debug, Clone)]
pub struct CallInstances {
    /// Whether the call has `count` (a list of instances) or `for_each` (a
    /// map): `module.NAME` is then a list or a map of output objects.
    pub repetition: RepetitionKind,
    /// Each instance's key and its `each.value`.
    pub instances: Vec<(InstanceKey, Option<Value>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepetitionKind {
    Single,
    Count,
    ForEach,
}

impl RepetitionKind {
    pub fn of(r: &Repetition) -> RepetitionKind {
        match r {
            Repetition::Single => RepetitionKind::Single,
            Repetition::Count(..) => RepetitionKind::Count,
            Repetition::ForEach(..) => RepetitionKind::ForEach,
        }
    }
}

#[derive(Debug)]
pub struct Graph {
    pub graph: DiGraph<Node, ()>,
    pub index: BTreeMap<Node, NodeIndex>,
    /// Nodes in an order where every dependency comes first.
    pub order: Vec<NodeIndex>,
    /// The instances of every module call, by (calling instance, call name).
    pub calls: BTreeMap<(ModuleInstance, String), CallInstances>,
}

impl Graph {
    /// Builds the graph of a loaded stack without evaluating anything: every
    /// module call counts as one instance. For `validate` and `graph`.
    pub fn build(stack: &Stack) -> Result<Graph, Diagnostics> {
        Builder::new(stack, None).run()
    }

    /// Builds the graph with every module call expanded by its `count` or
    /// `for_each`, evaluated from the input variables (and locals and
    /// module inputs that depend only on them): what plan and apply walk.
    pub fn build_expanded(stack: &Stack, vars: &BTreeMap<String, Value>) -> Result<Graph, Diagnostics> {
        Builder::new(stack, Some(vars)).run()
    }

    /// The module instances of a call made from `parent`.
    pub fn call_instances(&self, parent: &ModuleInstance, name: &str) -> Option<&CallInstances> {
        self.calls.get(&(parent.clone(), name.to_string()))
    }

    /// `each.value` of a module instance (its last step's key), if any.
    pub fn module_each_value(&self, module: &ModuleInstance) -> Option<&Value> {
        let step = module.last()?;
        let call = self.calls.get(&(module.parent(), step.name.clone()))?;
        call.instances.iter().find(|(k, _)| *k == step.key).and_then(|(_, v)| v.as_ref())
    }

    /// Every module instance of the graph, the root first.
    pub fn module_instances(&self) -> Vec<ModuleInstance> {
        let mut out = vec![ModuleInstance::root()];
        for ((parent, name), call) in &self.calls {
            out.extend(call.instances.iter().map(|(k, _)| parent.child(name, k.clone())));
        }
        out.sort();
        out
    }

    pub fn node(&self, i: NodeIndex) -> &Node {
        &self.graph[i]
    }

    /// Direct dependencies of a node.
    pub fn dependencies_of(&self, node: &Node) -> Vec<&Node> {
        let Some(&i) = self.index.get(node) else { return Vec::new() };
        self.graph.neighbors_directed(i, petgraph::Direction::Incoming).map(|j| &self.graph[j]).collect()
    }

    /// Resources a resource depends on, directly or through locals and
    /// variables: recorded in state so destroy can order deletes.
    pub fn resource_dependencies(&self, addr: &ResourceAddr) -> Vec<ResourceAddr> {
        let Some(&start) = self.index.get(&Node::Resource(addr.clone())) else { return Vec::new() };
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut stack: Vec<NodeIndex> = self.graph.neighbors_directed(start, petgraph::Direction::Incoming).collect();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            match &self.graph[i] {
                Node::Resource(a) => {
                    out.insert(a.clone());
                }
                _ => stack.extend(self.graph.neighbors_directed(i, petgraph::Direction::Incoming)),
            }
        }
        out.into_iter().filter(|a| a.mode == crate::addr::Mode::Managed).collect()
    }

    /// The graph in Graphviz DOT, resources and data only by default.
    pub fn to_dot(&self, all_nodes: bool) -> String {
        let keep = |n: &Node| all_nodes || matches!(n, Node::Resource(_));
        let mut out = String::from("digraph gantry {\n  rankdir = \"RL\";\n  node [shape = \"box\"];\n");
        let mut names: Vec<&Node> = self.graph.node_weights().filter(|n| keep(n)).collect();
        names.sort();
        for n in names {
            out.push_str(&format!("  \"{n}\";\n"));
        }
        let mut edges: Vec<(String, String)> = Vec::new();
        for &i in &self.order {
            if !keep(&self.graph[i]) {
                continue;
            }
            // Edges skip over hidden nodes so resource-to-resource paths stay visible.
            let mut seen = BTreeSet::new();
            let mut todo: Vec<NodeIndex> = self.graph.neighbors_directed(i, petgraph::Direction::Incoming).collect();
            while let Some(j) = todo.pop() {
                if !seen.insert(j) {
                    continue;
                }
                if keep(&self.graph[j]) {
                    edges.push((self.graph[i].to_string(), self.graph[j].to_string()));
                } else {
                    todo.extend(self.graph.neighbors_directed(j, petgraph::Direction::Incoming));
                }
            }
        }
        edges.sort();
        edges.dedup();
        for (from, to) in edges {
            out.push_str(&format!("  \"{from}\" -> \"{to}\";\n"));
        }
        out.push_str("}\n");
        out
    }
}

/// A node, the module instance its expressions are written in, and their
/// references.
type NodeRefs = (Node, ModuleInstance, Vec<(Reference, Loc)>);

/// Builds one graph: nodes for every module instance, then edges.
struct Builder<'a> {
    stack: &'a Stack,
    expander: Option<expand::Expander<'a>>,
    graph: DiGraph<Node, ()>,
    index: BTreeMap<Node, NodeIndex>,
    locs: BTreeMap<Node, Loc>,
    calls: BTreeMap<(ModuleInstance, String), CallInstances>,
    /// Each node's references, resolved later, with the module instance
    /// they are written in.
    refs: Vec<NodeRefs>,
    diags: Diagnostics,
}

impl<'a> Builder<'a> {
    fn new(stack: &'a Stack, vars: Option<&'a BTreeMap<String, Value>>) -> Self {
        Builder {
            stack,
            expander: vars.map(|v| expand::Expander::new(stack, v)),
            graph: DiGraph::new(),
            index: BTreeMap::new(),
            locs: BTreeMap::new(),
            calls: BTreeMap::new(),
            refs: Vec::new(),
            diags: Diagnostics::default(),
        }
    }

    fn add(&mut self, node: Node, loc: Option<Loc>) {
        let i = self.graph.add_node(node.clone());
        self.index.insert(node.clone(), i);
        if let Some(loc) = loc {
            self.locs.insert(node, loc);
        }
    }

    fn run(mut self) -> Result<Graph, Diagnostics> {
        let stack = self.stack;
        self.add(Node::Provider, stack.provider.as_ref().map(|p| p.loc.clone()));
        if let Some(p) = &stack.provider {
            let mut deps = Vec::new();
            for (expr, loc) in p.region.iter().chain(p.default_tags.iter()) {
                deps.extend(refs(expr, loc));
            }
            self.refs.push((Node::Provider, ModuleInstance::root(), deps));
        }
        self.add_module(ModuleInstance::root(), &stack.root);
        if self.diags.has_errors() {
            return Err(self.diags);
        }
        let mut edges: BTreeSet<(Node, Node)> = BTreeSet::new();
        for (node, module, deps) in std::mem::take(&mut self.refs) {
            let allow_self_refs = matches!(node, Node::Resource(_));
            for (reference, loc) in deps {
                for target in self.resolve(&module, &reference, &loc) {
                    if target == node && allow_self_refs {
                        self.diags.push(
                            Diagnostic::error(format!("Self-referential block: {node} refers to itself"))
                                .at(loc.clone())
                                .detail("A resource cannot use its own attributes in its arguments."),
                        );
                        continue;
                    }
                    edges.insert((target, node.clone()));
                }
            }
        }
        // Data sources and resources use the provider (its region).
        for node in self.index.keys() {
            if matches!(node, Node::Resource(_)) {
                edges.insert((Node::Provider, node.clone()));
            }
        }
        for (from, to) in &edges {
            self.graph.add_edge(self.index[from], self.index[to], ());
        }
        if self.diags.has_errors() {
            return Err(self.diags);
        }
        match toposort(&self.graph, None) {
            Ok(order) => Ok(Graph { graph: self.graph, index: self.index, order, calls: self.calls }),
            Err(_) => Err(cycle_diagnostics(&self.graph, &self.locs, stack).into()),
        }
    }

    /// Adds the nodes of one module instance and, recursively, of the
    /// instances of the modules it calls.
    fn add_module(&mut self, mi: ModuleInstance, module: &'a Module) {
        for (name, v) in &module.variables {
            self.add(Node::Variable(mi.clone(), name.clone()), Some(v.loc.clone()));
        }
        for (name, local) in &module.locals {
            let node = Node::Local(mi.clone(), name.clone());
            self.add(node.clone(), Some(local.loc.clone()));
            self.refs.push((node, mi.clone(), refs(&local.expr, &local.loc)));
        }
        for (addr, r) in &module.resources {
            let node = Node::Resource(addr.in_module(&mi));
            self.add(node.clone(), Some(r.loc.clone()));
            let mut deps = Vec::new();
            body_refs(&r.body, &mut deps);
            match &r.repetition {
                Repetition::Single => {}
                Repetition::Count(e, loc) | Repetition::ForEach(e, loc) => deps.extend(refs(e, loc)),
            }
            deps.extend(r.depends_on.iter().cloned());
            for c in &r.lifecycle.conditions {
                deps.extend(refs(&c.condition, &c.loc));
                deps.extend(refs(&c.error_message, &c.loc));
            }
            self.refs.push((node, mi.clone(), deps));
        }
        for (name, o) in &module.outputs {
            let node = Node::Output(mi.clone(), name.clone());
            self.add(node.clone(), Some(o.loc.clone()));
            let mut deps = refs(&o.expr, &o.loc);
            deps.extend(o.depends_on.iter().cloned());
            self.refs.push((node, mi.clone(), deps));
        }
        for (name, call) in &module.calls {
            let instances = match &mut self.expander {
                None => vec![(InstanceKey::None, None)],
                Some(expander) => match expander.expand(&mi, call) {
                    Ok(instances) => instances,
                    Err(d) => {
                        self.diags.push(d);
                        continue;
                    }
                },
            };
            // What every input of every instance waits for: the call's own
            // count/for_each and depends_on, written in the calling module.
            let mut call_deps = Vec::new();
            match &call.repetition {
                Repetition::Single => {}
                Repetition::Count(e, loc) | Repetition::ForEach(e, loc) => call_deps.extend(refs(e, loc)),
            }
            call_deps.extend(call.depends_on.iter().cloned());
            for (key, _) in &instances {
                let child = mi.child(name, key.clone());
                let before = self.refs.len();
                self.add_module(child.clone(), &call.module);
                for arg in &call.args {
                    let node = Node::Variable(child.clone(), arg.name.clone());
                    if !self.index.contains_key(&node) {
                        continue; // reported by the loader
                    }
                    let mut deps = refs(&arg.expr, &arg.loc);
                    deps.extend(call_deps.iter().cloned());
                    self.refs.push((node, mi.clone(), deps));
                }
                // depends_on of the call holds up everything in the module.
                if !call.depends_on.is_empty() {
                    let inside: Vec<Node> = self.refs[before..]
                        .iter()
                        .filter(|(n, _, _)| matches!(n, Node::Resource(_)))
                        .map(|(n, _, _)| n.clone())
                        .collect();
                    for node in inside {
                        self.refs.push((node, mi.clone(), call.depends_on.clone()));
                    }
                }
            }
            self.calls.insert(
                (mi.clone(), name.clone()),
                CallInstances { repetition: RepetitionKind::of(&call.repetition), instances },
            );
        }
    }

    /// The nodes a reference written in module instance `mi` stands for.
    fn resolve(&mut self, mi: &ModuleInstance, reference: &Reference, loc: &Loc) -> Vec<Node> {
        let target = match reference {
            Reference::Variable(n) => Node::Variable(mi.clone(), n.clone()),
            Reference::Local(n) => Node::Local(mi.clone(), n.clone()),
            Reference::Resource(a) => Node::Resource(a.in_module(mi)),
            Reference::Module { call, output } => return self.resolve_module(mi, call, output.as_deref(), loc),
            Reference::CountIndex | Reference::Each | Reference::Path | Reference::Terraform => return Vec::new(),
        };
        if !self.index.contains_key(&target) {
            self.diags.push(undeclared(reference, loc.clone()));
            return Vec::new();
        }
        vec![target]
    }

    fn resolve_module(&mut self, mi: &ModuleInstance, call: &str, output: Option<&str>, loc: &Loc) -> Vec<Node> {
        let Some(config) = self.stack.module(&mi.static_path()).and_then(|m| m.calls.get(call)) else {
            self.diags.push(undeclared(&Reference::Module { call: call.to_string(), output: None }, loc.clone()));
            return Vec::new();
        };
        if let Some(o) = output {
            if !config.module.outputs.contains_key(o) {
                let names: Vec<&str> = config.module.outputs.keys().map(String::as_str).collect();
                self.diags.push(Diagnostic::error("Unsupported attribute").at(loc.clone()).detail(format!(
                            "module.{call} has no output named \"{o}\".{}",
                            crate::diag::did_you_mean(o, &names)
                                .map(|s| format!(" Did you mean \"{s}\"?"))
                                .unwrap_or_else(|| format!(" Its outputs: {}.", names.join(", ")))
                        )));
                return Vec::new();
            }
        }
        let Some(instances) = self.calls.get(&(mi.clone(), call.to_string())) else { return Vec::new() };
        let mut out = Vec::new();
        for (key, _) in &instances.instances {
            let child = mi.child(call, key.clone());
            match output {
                Some(o) => out.push(Node::Output(child.clone(), o.to_string())),
                None => out.extend(config.module.outputs.keys().map(|o| Node::Output(child.clone(), o.clone()))),
            }
            // `depends_on = [module.x]` and whole-module references wait for
            // every resource of the module too.
            if output.is_none() {
                out.extend(
                    self.index
                        .keys()
                        .filter(|n| matches!(n, Node::Resource(a) if a.module.starts_with(&child)))
                        .cloned(),
                );
            }
        }
        out
    }
}

fn refs(expr: &Expression, loc: &Loc) -> Vec<(Reference, Loc)> {
    eval::references(expr).into_iter().map(|r| (r.reference, loc.narrow(r.span))).collect()
}

fn body_refs(body: &Body, out: &mut Vec<(Reference, Loc)>) {
    body_refs_bound(body, &[], out);
}

/// References of a body inside `dynamic` blocks whose iterators are
/// `bound`: `ingress.value` names the iterator, not a resource.
fn body_refs_bound(body: &Body, bound: &[&str], out: &mut Vec<(Reference, Loc)>) {
    let keep = |(r, _): &(Reference, Loc)| !matches!(r, Reference::Resource(a) if bound.contains(&a.rtype.as_str()) && a.mode == crate::addr::Mode::Managed);
    for attr in &body.attrs {
        out.extend(refs(&attr.expr, &attr.loc).into_iter().filter(keep));
    }
    for block in &body.blocks {
        match &block.dynamic {
            None => body_refs_bound(&block.body, bound, out),
            Some(d) => {
                out.extend(refs(&d.for_each, &d.for_each_loc).into_iter().filter(keep));
                let mut inner = bound.to_vec();
                inner.push(&d.iterator);
                body_refs_bound(&block.body, &inner, out);
            }
        }
    }
}

fn undeclared(reference: &Reference, loc: Loc) -> Diagnostic {
    let (what, name) = match reference {
        Reference::Variable(n) => ("input variable", format!("var.{n}")),
        Reference::Local(n) => ("local value", format!("local.{n}")),
        Reference::Resource(a) if a.mode == crate::addr::Mode::Data => ("data source", a.to_string()),
        Reference::Resource(a) => ("resource", a.to_string()),
        Reference::Module { call, .. } => ("module", format!("module.{call}")),
        _ => ("name", String::new()),
    };
    Diagnostic::error(format!("Reference to undeclared {what} {name}"))
        .at(loc)
        .detail(format!("Declare it in a .tf file of the stack, or fix the reference to {name}."))
}

fn cycle_diagnostics(graph: &DiGraph<Node, ()>, locs: &BTreeMap<Node, Loc>, stack: &Stack) -> Diagnostic {
    // A node that refers to itself (`locals { a = local.a }`) is a cycle of
    // one: an SCC of size 1 with an edge to itself.
    let cycle = tarjan_scc(graph)
        .into_iter()
        .find(|scc| scc.len() > 1 || scc.first().is_some_and(|&n| graph.contains_edge(n, n)))
        .unwrap_or_default();
    // Order the members along the cycle's edges for a readable path.
    let members: BTreeSet<NodeIndex> = cycle.iter().copied().collect();
    let mut path = Vec::new();
    if let Some(&start) = members.iter().next() {
        let mut current = start;
        loop {
            path.push(current);
            let next = graph.neighbors(current).find(|n| members.contains(n) && !path.contains(n));
            match next {
                Some(n) => current = n,
                None => break,
            }
        }
    }
    let names: Vec<String> = path.iter().map(|&i| graph[i].to_string()).collect();
    let mut detail = String::new();
    for &i in &path {
        let node = &graph[i];
        match locs.get(node) {
            Some(loc) => detail.push_str(&format!("{node} at {}\n", stack.describe(loc))),
            None => detail.push_str(&format!("{node}\n")),
        }
    }
    detail.push_str("Break the cycle by removing one of these references.");
    let first = path.first().and_then(|&i| locs.get(&graph[i]).cloned());
    let mut d =
        Diagnostic::error(format!("Cycle: {} -> {}", names.join(" -> "), names.first().cloned().unwrap_or_default()))
            .detail(detail);
    if let Some(loc) = first {
        d = d.at(loc);
    }
    d
}
