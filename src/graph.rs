//! The dependency graph of a stack: references and `depends_on` make edges
//! (from the thing referenced to the thing referring). A cycle is an error
//! that prints the cycle as addresses with file:line.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use hcl_edit::expr::Expression;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use crate::addr::ResourceAddr;
use crate::config::{Body, Repetition, Stack};
use crate::diag::{Diagnostic, Diagnostics, Loc};
use crate::eval::{self, Reference};

/// A node of the graph: everything that gets a value during a walk.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Node {
    Provider,
    Variable(String),
    Local(String),
    Resource(ResourceAddr),
    Output(String),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Provider => f.write_str("provider.aws"),
            Node::Variable(n) => write!(f, "var.{n}"),
            Node::Local(n) => write!(f, "local.{n}"),
            Node::Resource(a) => write!(f, "{a}"),
            Node::Output(n) => write!(f, "output.{n}"),
        }
    }
}

#[derive(Debug)]
pub struct Graph {
    pub graph: DiGraph<Node, ()>,
    pub index: BTreeMap<Node, NodeIndex>,
    /// Nodes in an order where every dependency comes first.
    pub order: Vec<NodeIndex>,
}

impl Graph {
    /// Builds the graph of a loaded stack, reporting undeclared references
    /// and cycles.
    pub fn build(stack: &Stack) -> Result<Graph, Diagnostics> {
        let mut graph = DiGraph::new();
        let mut index = BTreeMap::new();
        let mut locs: BTreeMap<Node, Loc> = BTreeMap::new();
        let mut add = |node: Node, loc: Option<Loc>, graph: &mut DiGraph<Node, ()>| {
            let i = graph.add_node(node.clone());
            index.insert(node.clone(), i);
            if let Some(loc) = loc {
                locs.insert(node, loc);
            }
        };
        add(Node::Provider, stack.provider.as_ref().map(|p| p.loc.clone()), &mut graph);
        for (name, v) in &stack.variables {
            add(Node::Variable(name.clone()), Some(v.loc.clone()), &mut graph);
        }
        for (name, l) in &stack.locals {
            add(Node::Local(name.clone()), Some(l.loc.clone()), &mut graph);
        }
        for (addr, r) in &stack.resources {
            add(Node::Resource(addr.clone()), Some(r.loc.clone()), &mut graph);
        }
        for (name, o) in &stack.outputs {
            add(Node::Output(name.clone()), Some(o.loc.clone()), &mut graph);
        }

        let mut diags = Diagnostics::default();
        let mut edges: BTreeSet<(Node, Node)> = BTreeSet::new();
        for (node, deps) in dependencies(stack) {
            let allow_self_refs = matches!(node, Node::Resource(_));
            for (reference, loc) in deps {
                let target = match &reference {
                    Reference::Variable(n) => Node::Variable(n.clone()),
                    Reference::Local(n) => Node::Local(n.clone()),
                    Reference::Resource(a) => Node::Resource(a.clone()),
                    Reference::CountIndex | Reference::Each | Reference::Path => continue,
                };
                if !index.contains_key(&target) {
                    diags.push(undeclared(&reference, loc));
                    continue;
                }
                if target == node && allow_self_refs {
                    diags.push(
                        Diagnostic::error(format!("Self-referential block: {node} refers to itself"))
                            .at(loc)
                            .detail("A resource cannot use its own attributes in its arguments."),
                    );
                    continue;
                }
                edges.insert((target, node.clone()));
            }
        }
        // Data sources and resources use the provider (its region).
        for addr in stack.resources.keys() {
            edges.insert((Node::Provider, Node::Resource(addr.clone())));
        }
        for (from, to) in &edges {
            graph.add_edge(index[from], index[to], ());
        }
        if diags.has_errors() {
            return Err(diags);
        }
        match toposort(&graph, None) {
            Ok(order) => Ok(Graph { graph, index, order }),
            Err(_) => Err(cycle_diagnostics(&graph, &locs, stack).into()),
        }
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

/// Every node's references, with where they appear.
fn dependencies(stack: &Stack) -> Vec<(Node, Vec<(Reference, Loc)>)> {
    let mut out = Vec::new();
    let refs = |expr: &Expression, loc: &Loc| -> Vec<(Reference, Loc)> {
        eval::references(expr).into_iter().map(|r| (r.reference, loc.narrow(r.span))).collect()
    };
    if let Some(p) = &stack.provider {
        let mut deps = Vec::new();
        for (expr, loc) in p.region.iter().chain(p.default_tags.iter()) {
            deps.extend(refs(expr, loc));
        }
        out.push((Node::Provider, deps));
    }
    for (name, local) in &stack.locals {
        out.push((Node::Local(name.clone()), refs(&local.expr, &local.loc)));
    }
    for (addr, r) in &stack.resources {
        let mut deps = Vec::new();
        body_refs(&r.body, &mut deps, &refs);
        match &r.repetition {
            Repetition::Single => {}
            Repetition::Count(e, loc) | Repetition::ForEach(e, loc) => deps.extend(refs(e, loc)),
        }
        for (dep, loc) in &r.depends_on {
            deps.push((Reference::Resource(dep.clone()), loc.clone()));
        }
        out.push((Node::Resource(addr.clone()), deps));
    }
    for (name, o) in &stack.outputs {
        let mut deps = refs(&o.expr, &o.loc);
        for (dep, loc) in &o.depends_on {
            deps.push((Reference::Resource(dep.clone()), loc.clone()));
        }
        out.push((Node::Output(name.clone()), deps));
    }
    out
}

/// Extracts the references of one expression found at a location.
type RefsOf<'a> = dyn Fn(&Expression, &Loc) -> Vec<(Reference, Loc)> + 'a;

fn body_refs(body: &Body, out: &mut Vec<(Reference, Loc)>, refs: &RefsOf<'_>) {
    for attr in &body.attrs {
        out.extend(refs(&attr.expr, &attr.loc));
    }
    for block in &body.blocks {
        body_refs(&block.body, out, refs);
    }
}

fn undeclared(reference: &Reference, loc: Loc) -> Diagnostic {
    let (what, name) = match reference {
        Reference::Variable(n) => ("input variable", format!("var.{n}")),
        Reference::Local(n) => ("local value", format!("local.{n}")),
        Reference::Resource(a) if a.mode == crate::addr::Mode::Data => ("data source", a.to_string()),
        Reference::Resource(a) => ("resource", a.to_string()),
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
