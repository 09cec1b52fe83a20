//! Expression evaluation with unknown and sensitive marks.
//!
//! hcl-rs's own evaluator knows no unknown values, so gantry evaluates
//! hcl-edit's expression tree itself. Rules:
//! - any operation on an unknown value yields unknown (plan shows
//!   "(known after apply)");
//! - any operation on a sensitive value yields a sensitive value;
//! - errors carry the byte span of the offending expression so the caller
//!   can point at file:line.
//!
//! Refinements, as in Terraform: a collection holding an unknown element is
//! still a known collection (`length([unknown])` is 1); a sensitive map is a
//! map of sensitive values, so its keys stay usable (`keys`, `length`, `for`
//! keys); a sensitive list is sensitive as a whole. Error messages never
//! quote a value that was sensitive.

mod convert;
mod expr;
pub(crate) mod functions;
pub(crate) mod refs;
mod template;
mod types;

use std::ops::Range;
use std::path::Path;

use crate::addr::ResourceAddr;
use crate::value::Value;

pub use expr::{eval, eval_with};
pub use functions::function_names;
pub use refs::references;
pub use types::{parse_type, TypeConstraint};

/// What names resolve to while evaluating one expression.
pub trait Scope {
    /// `var.NAME`
    fn variable(&self, name: &str) -> Option<Value>;
    /// `local.NAME`
    fn local(&self, name: &str) -> Option<Value>;
    /// `TYPE.NAME` / `data.TYPE.NAME`: the whole resource: an object for a
    /// single instance, a list for `count`, a map for `for_each`; unknown when
    /// not created yet. `None` when no such resource is declared.
    fn resource(&self, addr: &ResourceAddr) -> Option<Value>;
    /// `count.index`, inside a resource with `count`.
    fn count_index(&self) -> Option<Value>;
    /// `each.key` and `each.value`, inside a resource with `for_each`.
    fn each(&self) -> Option<(Value, Value)>;
    /// The stack folder: the base of relative paths in `file()` and
    /// `templatefile()` (Terraform's working directory when run in the
    /// stack folder).
    fn module_dir(&self) -> &Path;
    /// `module.NAME`: the outputs of a module call, an object per instance
    /// (a list under `count`, a map under `for_each`). `None` when no such
    /// call is declared.
    fn module(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }
    /// `path.module`, `path.root` and `path.cwd`, as Terraform gives them
    /// when run as `terraform -chdir=STACK`: the module's folder relative
    /// to the stack folder (`.` for the root module), `.`, and the absolute
    /// folder the command was started in.
    fn path(&self, which: &str) -> Option<String> {
        match which {
            "module" | "root" => Some(".".to_string()),
            "cwd" => std::env::current_dir().ok().map(|d| d.to_string_lossy().into_owned()),
            _ => None,
        }
    }
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
    /// Byte range in the source file of the expression at fault.
    pub span: Option<Range<usize>>,
}

/// Something an expression refers to; the graph turns these into edges.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    Variable(String),
    Local(String),
    Resource(ResourceAddr),
    /// `module.NAME` or `module.NAME.OUTPUT`.
    Module {
        call: String,
        output: Option<String>,
    },
    CountIndex,
    Each,
    Path,
    /// `terraform.workspace`.
    Terraform,
}

/// A reference and where it appears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpannedReference {
    pub reference: Reference,
    pub span: Option<Range<usize>>,
}

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod type_conformance;
