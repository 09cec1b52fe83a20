//! A plan: what apply will do to each resource instance, and what changed
//! outside gantry since the last apply (drift).

pub mod compare;
pub mod diff;
pub mod moves;
pub mod refresh;
pub mod safety;
pub mod saved;
pub mod sg_overlap;
pub mod shared_use;
pub mod walk;

use std::collections::BTreeMap;

use crate::addr::InstanceAddr;
use crate::desired::AttrValues;
use crate::value::Value;

/// What happens to one resource instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Replace: delete the old object, then create the new one.
    DeleteThenCreate,
    /// Replace with `create_before_destroy`.
    CreateThenDelete,
    Delete,
}

impl Action {
    /// The JSON form, as in `terraform show -json`.
    pub fn json_actions(self) -> &'static [&'static str] {
        match self {
            Action::NoOp => &["no-op"],
            Action::Create => &["create"],
            Action::Update => &["update"],
            Action::DeleteThenCreate => &["delete", "create"],
            Action::CreateThenDelete => &["create", "delete"],
            Action::Delete => &["delete"],
        }
    }

    pub fn is_replace(self) -> bool {
        matches!(self, Action::DeleteThenCreate | Action::CreateThenDelete)
    }

    pub fn is_destructive(self) -> bool {
        self.is_replace() || self == Action::Delete
    }
}

/// The planned change of one instance.
#[derive(Debug, Clone)]
pub struct ResourceChange {
    pub addr: InstanceAddr,
    pub rtype: String,
    pub action: Action,
    /// Attributes before (from refreshed state; sensitive ones marked, with no
    /// value). `None` for creates.
    pub before: Option<AttrValues>,
    /// Attributes after (unknown and sensitive marks kept). `None` for deletes.
    pub after: Option<AttrValues>,
    /// Attributes whose change forces the replacement.
    pub replace_paths: Vec<String>,
    /// Attributes that differ (updates and replaces): how the renderer knows
    /// a secret changed without seeing it.
    pub changed: Vec<String>,
    /// Why the resource is deleted, for display ("not in configuration").
    pub reason: Option<String>,
}

/// An attribute-level difference between state and what AWS has now.
#[derive(Debug, Clone)]
pub struct Drift {
    pub addr: InstanceAddr,
    pub rtype: String,
    /// `None` when the object is gone.
    pub before: AttrValues,
    pub after: Option<AttrValues>,
}

#[derive(Debug, Clone)]
pub struct OutputChange {
    pub name: String,
    pub action: Action,
    pub before: Option<Value>,
    pub after: Value,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub stack: String,
    pub env: String,
    pub changes: Vec<ResourceChange>,
    pub drift: Vec<Drift>,
    pub outputs: Vec<OutputChange>,
    /// Destroy plan (everything deleted).
    pub destroy: bool,
    /// Addresses renamed by `moved` blocks: (from, to).
    pub moves: Vec<moves::Move>,
    /// Objects state records as deposed (left by an interrupted or failed
    /// replace): apply deletes them first.
    pub deposed: Vec<Deposed>,
}

/// A deposed object apply will delete.
#[derive(Debug, Clone, PartialEq)]
pub struct Deposed {
    pub addr: InstanceAddr,
    pub rtype: String,
    pub id: String,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
                Action::DeleteThenCreate | Action::CreateThenDelete => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::NoOp => {}
            }
        }
        s.destroy += self.deposed.len();
        s
    }

    /// True when apply would change any resource (outputs alone count too, as
    /// in Terraform).
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
            || self.outputs.iter().any(|o| o.action != Action::NoOp)
            || !self.moves.is_empty()
            || !self.deposed.is_empty()
    }

    pub fn change(&self, addr: &InstanceAddr) -> Option<&ResourceChange> {
        self.changes.iter().find(|c| &c.addr == addr)
    }

    pub fn actions(&self) -> BTreeMap<InstanceAddr, Action> {
        self.changes.iter().map(|c| (c.addr.clone(), c.action)).collect()
    }
}
