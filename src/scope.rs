//! The values known so far during a walk of the graph, and the scope one
//! expression sees (plus `count.index` / `each` inside a repeated resource).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::addr::{InstanceKey, ResourceAddr};
use crate::eval::Scope;
use crate::value::Value;

/// Values of variables, locals and resources evaluated so far.
#[derive(Debug, Default, Clone)]
pub struct Values {
    pub dir: PathBuf,
    pub vars: BTreeMap<String, Value>,
    pub locals: BTreeMap<String, Value>,
    /// Whole-resource values: an object, a list (count) or a map (for_each).
    pub resources: BTreeMap<ResourceAddr, Value>,
}

impl Values {
    pub fn new(dir: &Path, vars: BTreeMap<String, Value>) -> Values {
        Values { dir: dir.to_path_buf(), vars, ..Values::default() }
    }

    pub fn scope(&self) -> InstanceScope<'_> {
        InstanceScope { values: self, count_index: None, each: None }
    }

    /// The scope inside one instance of a repeated resource.
    pub fn instance_scope(&self, key: &InstanceKey, each_value: Option<&Value>) -> InstanceScope<'_> {
        match key {
            InstanceKey::None => self.scope(),
            InstanceKey::Index(i) => {
                InstanceScope { values: self, count_index: Some(Value::Number(*i as f64)), each: None }
            }
            InstanceKey::Key(k) => InstanceScope {
                values: self,
                count_index: None,
                each: Some((Value::String(k.clone()), each_value.cloned().unwrap_or(Value::String(k.clone())))),
            },
        }
    }

    /// Records the value of every instance of a resource.
    pub fn set_resource(&mut self, addr: &ResourceAddr, instances: Vec<(InstanceKey, Value)>, repeated: bool) {
        let value = if !repeated {
            instances.into_iter().next().map(|(_, v)| v).unwrap_or(Value::Null)
        } else if instances.iter().all(|(k, _)| matches!(k, InstanceKey::Key(_))) && !instances.is_empty() {
            Value::Map(
                instances
                    .into_iter()
                    .filter_map(|(k, v)| match k {
                        InstanceKey::Key(k) => Some((k, v)),
                        _ => None,
                    })
                    .collect(),
            )
        } else {
            Value::List(instances.into_iter().map(|(_, v)| v).collect())
        };
        self.resources.insert(addr.clone(), value);
    }
}

pub struct InstanceScope<'a> {
    values: &'a Values,
    count_index: Option<Value>,
    each: Option<(Value, Value)>,
}

impl Scope for InstanceScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.values.vars.get(name).cloned()
    }
    fn local(&self, name: &str) -> Option<Value> {
        self.values.locals.get(name).cloned()
    }
    fn resource(&self, addr: &ResourceAddr) -> Option<Value> {
        Some(self.values.resources.get(addr).cloned().unwrap_or(Value::Unknown))
    }
    fn count_index(&self) -> Option<Value> {
        self.count_index.clone()
    }
    fn each(&self) -> Option<(Value, Value)> {
        self.each.clone()
    }
    fn module_dir(&self) -> &Path {
        &self.values.dir
    }
}
