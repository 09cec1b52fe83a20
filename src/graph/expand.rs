//! Module expansion: how many instances each module call has, decided while
//! the graph is built, from values known before any AWS call.
//!
//! As in Terraform, a module's `count` and `for_each` must be known at plan
//! time. They may use input variables, locals and module inputs that
//! depend only on those; what a resource or data source gives is unknown
//! here, and such a `count` is refused with the reason.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::addr::{InstanceKey, ModuleInstance, ResourceAddr};
use crate::config::{ModuleCall, Repetition, Stack};
use crate::diag::{Diagnostic, Loc};
use crate::eval::{self, Scope};
use crate::value::Value;

/// More instances than one stack should hold; also keeps a typo like
/// `count = 1e19` from exhausting memory.
pub const MAX_COUNT: usize = 100_000;

/// The instances `count` or `for_each` asks for, with the `each.value` of
/// each, for resources and module calls alike.
pub fn expand_repetition(
    repetition: &Repetition,
    scope: &dyn Scope,
) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
    match repetition {
        Repetition::Single => Ok(vec![(InstanceKey::None, None)]),
        Repetition::Count(expr, loc) => {
            let value = eval::eval(expr, scope).map_err(|e| eval_error("Invalid count", loc, e))?;
            if !value.is_known() {
                return Err(unknown_repetition("count", loc));
            }
            let n = value.as_f64().filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= MAX_COUNT as f64).ok_or_else(
                || {
                    Diagnostic::error("Invalid count").at(loc.clone()).detail(format!(
                        "count must be a whole number from 0 to {MAX_COUNT}, found {}.",
                        match value.peel() {
                            Value::Number(n) => crate::value::format_number(*n),
                            other => other.type_name().to_string(),
                        }
                    ))
                },
            )?;
            Ok((0..n as i64).map(|i| (InstanceKey::Index(i), None)).collect())
        }
        Repetition::ForEach(expr, loc) => {
            let value = eval::eval(expr, scope).map_err(|e| eval_error("Invalid for_each", loc, e))?;
            // Only the keys must be known at plan time: a map's values may
            // still be unknown (they become each.value).
            let keys_known = match value.peel() {
                Value::Map(_) => true,
                other => other.is_known(),
            };
            if !keys_known {
                return Err(unknown_repetition("for_each", loc));
            }
            let (plain, sensitive) = value.unmark();
            if sensitive {
                return Err(Diagnostic::error("Invalid for_each")
                    .at(loc.clone())
                    .detail("for_each cannot use sensitive values: the keys would appear in addresses and output."));
            }
            match plain {
                Value::Map(map) => Ok(map.into_iter().map(|(k, v)| (InstanceKey::Key(k), Some(v))).collect()),
                Value::List(items) => {
                    let mut keys = Vec::new();
                    for item in items {
                        match item {
                            Value::String(s) => keys.push((InstanceKey::Key(s.clone()), Some(Value::String(s)))),
                            other => {
                                return Err(Diagnostic::error("Invalid for_each").at(loc.clone()).detail(format!(
                                    "for_each takes a map or a set of strings; found an element of type {}.",
                                    other.type_name()
                                )))
                            }
                        }
                    }
                    keys.sort_by(|a, b| a.0.cmp(&b.0));
                    keys.dedup_by(|a, b| a.0 == b.0);
                    Ok(keys)
                }
                other => Err(Diagnostic::error("Invalid for_each")
                    .at(loc.clone())
                    .detail(format!("for_each takes a map or a set of strings, found {}.", other.type_name()))),
            }
        }
    }
}

fn unknown_repetition(what: &str, loc: &Loc) -> Diagnostic {
    Diagnostic::error(format!("Invalid {what}"))
        .at(loc.clone())
        .detail(format!(
            "The {what} value depends on attributes that are known only after apply, so gantry cannot tell how many instances to plan. \
             Use values known at plan time (variables, locals), or apply the resources it depends on first with --target."
        ))
}

fn eval_error(summary: &str, loc: &Loc, e: eval::EvalError) -> Diagnostic {
    Diagnostic::error(summary).at(loc.narrow(e.span)).detail(e.message)
}

/// What a name resolves to, memoised per module instance.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Name {
    Variable(String),
    Local(String),
}

/// Evaluates module calls' `count`/`for_each` before the walk.
pub(super) struct Expander<'a> {
    stack: &'a Stack,
    root_vars: &'a BTreeMap<String, Value>,
    memo: RefCell<BTreeMap<(ModuleInstance, Name), Value>>,
    /// Names being evaluated: a reference back to one of them is a cycle,
    /// which the graph reports; here it is only unknown.
    busy: RefCell<BTreeSet<(ModuleInstance, Name)>>,
    /// `each.value` of the module instances expanded so far.
    each_values: RefCell<BTreeMap<ModuleInstance, Value>>,
}

impl<'a> Expander<'a> {
    pub(super) fn new(stack: &'a Stack, root_vars: &'a BTreeMap<String, Value>) -> Self {
        Expander {
            stack,
            root_vars,
            memo: RefCell::default(),
            busy: RefCell::default(),
            each_values: RefCell::default(),
        }
    }

    /// The instances of `call`, made from module instance `mi`.
    pub(super) fn expand(
        &mut self,
        mi: &ModuleInstance,
        call: &ModuleCall,
    ) -> Result<Vec<(InstanceKey, Option<Value>)>, Diagnostic> {
        let scope = StaticScope { ex: self, mi: mi.clone() };
        let instances = expand_repetition(&call.repetition, &scope)?;
        let mut each = self.each_values.borrow_mut();
        for (key, value) in &instances {
            if let Some(v) = value {
                each.insert(mi.child(&call.name, key.clone()), v.clone());
            }
        }
        Ok(instances)
    }

    fn memoised(&self, mi: &ModuleInstance, name: Name, compute: impl FnOnce() -> Value) -> Value {
        let key = (mi.clone(), name);
        if let Some(v) = self.memo.borrow().get(&key) {
            return v.clone();
        }
        if !self.busy.borrow_mut().insert(key.clone()) {
            return Value::Unknown;
        }
        let v = compute();
        self.busy.borrow_mut().remove(&key);
        self.memo.borrow_mut().insert(key, v.clone());
        v
    }

    fn variable(&self, mi: &ModuleInstance, name: &str) -> Option<Value> {
        let module = self.stack.module(&mi.static_path())?;
        let decl = module.variables.get(name)?;
        if mi.is_root() {
            return Some(self.root_vars.get(name).cloned().unwrap_or(Value::Unknown));
        }
        Some(self.memoised(mi, Name::Variable(name.to_string()), || {
            let call = self.stack.call(&mi.static_path());
            let arg = call.and_then(|c| c.args.iter().find(|a| a.name == name));
            let value = match arg {
                Some(arg) => {
                    let scope = CallScope { ex: self, mi: mi.clone() };
                    eval::eval(&arg.expr, &scope).unwrap_or(Value::Unknown)
                }
                None => decl.default.clone().unwrap_or(Value::Null),
            };
            let value = if value.is_null() { decl.default.clone().unwrap_or(Value::Null) } else { value };
            decl.ty.convert(value).unwrap_or(Value::Unknown)
        }))
    }

    fn local(&self, mi: &ModuleInstance, name: &str) -> Option<Value> {
        let module = self.stack.module(&mi.static_path())?;
        let local = module.locals.get(name)?;
        Some(self.memoised(mi, Name::Local(name.to_string()), || {
            let scope = StaticScope { ex: self, mi: mi.clone() };
            eval::eval(&local.expr, &scope).unwrap_or(Value::Unknown)
        }))
    }
}

/// The scope of expressions in a module instance, for expansion.
struct StaticScope<'e, 'a> {
    ex: &'e Expander<'a>,
    mi: ModuleInstance,
}

impl Scope for StaticScope<'_, '_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.ex.variable(&self.mi, name)
    }
    fn local(&self, name: &str) -> Option<Value> {
        self.ex.local(&self.mi, name)
    }
    fn resource(&self, addr: &ResourceAddr) -> Option<Value> {
        let module = self.ex.stack.module(&self.mi.static_path())?;
        module.resources.contains_key(addr).then_some(Value::Unknown)
    }
    fn count_index(&self) -> Option<Value> {
        None
    }
    fn each(&self) -> Option<(Value, Value)> {
        None
    }
    fn module_dir(&self) -> &Path {
        &self.ex.stack.dir
    }
    fn module(&self, name: &str) -> Option<Value> {
        let module = self.ex.stack.module(&self.mi.static_path())?;
        module.calls.contains_key(name).then_some(Value::Unknown)
    }
}

/// The scope of a module call's arguments for one instance: the calling
/// module's names, plus `count.index` / `each` of the instance.
struct CallScope<'e, 'a> {
    ex: &'e Expander<'a>,
    /// The called module instance.
    mi: ModuleInstance,
}

impl Scope for CallScope<'_, '_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.ex.variable(&self.mi.parent(), name)
    }
    fn local(&self, name: &str) -> Option<Value> {
        self.ex.local(&self.mi.parent(), name)
    }
    fn resource(&self, addr: &ResourceAddr) -> Option<Value> {
        StaticScope { ex: self.ex, mi: self.mi.parent() }.resource(addr)
    }
    fn count_index(&self) -> Option<Value> {
        match &self.mi.last()?.key {
            InstanceKey::Index(i) => Some(Value::Number(*i as f64)),
            _ => None,
        }
    }
    fn each(&self) -> Option<(Value, Value)> {
        match &self.mi.last()?.key {
            InstanceKey::Key(k) => {
                let value = self.ex.each_values.borrow().get(&self.mi).cloned();
                Some((Value::String(k.clone()), value.unwrap_or_else(|| Value::String(k.clone()))))
            }
            _ => None,
        }
    }
    fn module_dir(&self) -> &Path {
        &self.ex.stack.dir
    }
    fn module(&self, name: &str) -> Option<Value> {
        StaticScope { ex: self.ex, mi: self.mi.parent() }.module(name)
    }
}
