//! `moved` blocks: before planning, state recorded at an old address is
//! given its new one, so a rename, a move into or out of a module, or into
//! `count`/`for_each` keys plans as a move instead of a destroy and create.

use crate::addr::{InstanceAddr, InstanceKey, ModuleInstance, ModuleStep};
use crate::config::{MoveEndpoint, Moved, Stack};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::Graph;
use crate::state::State;

/// One move carried out on state: the old and new address.
pub type Move = (InstanceAddr, InstanceAddr);

/// Checks every `moved` block against the configuration and applies them to
/// `state`, in source order. Returns what moved.
pub fn apply_moves(stack: &Stack, graph: &Graph, state: &mut State) -> Result<Vec<Move>, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut moves = Vec::new();
    for module in graph.module_instances() {
        let Some(config) = stack.module(&module.static_path()) else { continue };
        for m in &config.moved {
            if let Err(d) = check_target(stack, &module, m) {
                diags.push(d);
                continue;
            }
            moves.extend(apply_one(state, &module, m));
        }
    }
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(moves)
}

/// A `moved` block must point at something the configuration declares.
fn check_target(stack: &Stack, module: &ModuleInstance, m: &Moved) -> Result<(), Diagnostic> {
    let declared = match &m.to {
        MoveEndpoint::Module(to) => {
            let mut path = module.static_path();
            path.extend(to.static_path());
            stack.module(&path).is_some()
        }
        MoveEndpoint::Resource(r) => stack.resource_config(&within(module, &r.module, r)).is_some(),
        MoveEndpoint::Instance(i) => stack.resource_config(&within(module, &i.resource.module, &i.resource)).is_some(),
    };
    if declared {
        Ok(())
    } else {
        Err(Diagnostic::error("Moved object target is not declared")
            .at(m.loc.clone())
            .detail("The \"to\" address of this moved block names nothing in the configuration: declare it, or fix the address."))
    }
}

/// `r` written in `module` (with its own module steps `steps`), as an
/// address from the root.
fn within(module: &ModuleInstance, steps: &ModuleInstance, r: &crate::addr::ResourceAddr) -> crate::addr::ResourceAddr {
    r.in_module(&join(module, steps))
}

fn join(a: &ModuleInstance, b: &ModuleInstance) -> ModuleInstance {
    let mut steps: Vec<ModuleStep> = a.0.clone();
    steps.extend(b.0.iter().cloned());
    ModuleInstance(steps)
}

/// Renames what `m` names in state; an address whose new place is taken
/// already stays where it is (Terraform does the same: the newer object
/// wins its address).
fn apply_one(state: &mut State, module: &ModuleInstance, m: &Moved) -> Vec<Move> {
    let rename = |addr: &InstanceAddr| -> Option<InstanceAddr> {
        match (&m.from, &m.to) {
            (MoveEndpoint::Module(from), MoveEndpoint::Module(to)) => {
                let from = join(module, from);
                if !addr.resource.module.starts_with(&from) {
                    return None;
                }
                let rest = ModuleInstance(addr.resource.module.0[from.0.len()..].to_vec());
                let target = join(&join(module, to), &rest);
                Some(InstanceAddr { resource: addr.resource.in_module(&target), key: addr.key.clone() })
            }
            (MoveEndpoint::Resource(from), MoveEndpoint::Resource(to)) => {
                let from = within(module, &from.module, from);
                (addr.resource == from)
                    .then(|| InstanceAddr { resource: within(module, &to.module, to), key: addr.key.clone() })
            }
            (from, to) => {
                let from = endpoint_instance(module, from)?;
                let to = endpoint_instance(module, to)?;
                (*addr == from).then_some(to)
            }
        }
    };
    let mut moved = Vec::new();
    let addresses: Vec<InstanceAddr> = state.resources.iter().map(|r| r.address.clone()).collect();
    for old in addresses {
        let Some(new) = rename(&old) else { continue };
        if new == old || state.get(&new).is_some() {
            continue;
        }
        if let Some(mut r) = state.remove(&old) {
            r.address = new.clone();
            state.upsert(r);
            moved.push((old, new));
        }
    }
    moved
}

/// An instance endpoint; a resource endpoint beside an instance one means
/// its instance without a key (`aws_x.a` → `aws_x.a[0]`).
fn endpoint_instance(module: &ModuleInstance, e: &MoveEndpoint) -> Option<InstanceAddr> {
    match e {
        MoveEndpoint::Instance(i) => {
            Some(InstanceAddr { resource: within(module, &i.resource.module, &i.resource), key: i.key.clone() })
        }
        MoveEndpoint::Resource(r) => {
            Some(InstanceAddr { resource: within(module, &r.module, r), key: InstanceKey::None })
        }
        MoveEndpoint::Module(_) => None,
    }
}
