//! The values known so far during a walk of the graph, and the scope one
//! expression sees: the names of its module instance, plus `count.index` /
//! `each` inside a repeated resource or module call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::addr::{InstanceKey, ModuleInstance, ResourceAddr};
use crate::config::{Module, Stack};
use crate::eval::Scope;
use crate::graph::{CallInstances, Graph, RepetitionKind};
use crate::value::Value;

/// The names of one module instance.
#[derive(Debug, Default, Clone)]
pub struct Frame {
    pub vars: BTreeMap<String, Value>,
    pub locals: BTreeMap<String, Value>,
    pub outputs: BTreeMap<String, Value>,
}

/// Values of variables, locals, outputs and resources evaluated so far.
#[derive(Debug, Default, Clone)]
pub struct Values {
    /// The stack folder (Terraform's working directory).
    pub dir: PathBuf,
    pub frames: BTreeMap<ModuleInstance, Frame>,
    /// Whole-resource values: an object, a list (count) or a map (for_each).
    pub resources: BTreeMap<ResourceAddr, Value>,
    /// The instances of every module call, from the graph.
    calls: BTreeMap<(ModuleInstance, String), CallInstances>,
    /// `path.module` of each module configuration, by its static path.
    module_paths: BTreeMap<Vec<String>, String>,
}

impl Values {
    /// Values of a stack without modules (or before its graph is known).
    pub fn new(dir: &Path, vars: BTreeMap<String, Value>) -> Values {
        let mut frames = BTreeMap::new();
        frames.insert(ModuleInstance::root(), Frame { vars, ..Frame::default() });
        Values { dir: dir.to_path_buf(), frames, ..Values::default() }
    }

    /// Values for a walk of `graph`, with the root module's input variables.
    pub fn for_graph(stack: &Stack, graph: &Graph, vars: BTreeMap<String, Value>) -> Values {
        let mut values = Values::new(&stack.dir, vars);
        values.calls = graph.calls.clone();
        collect_module_paths(&stack.dir, &stack.root, &mut Vec::new(), &mut values.module_paths);
        values
    }

    pub fn frame(&self, module: &ModuleInstance) -> Option<&Frame> {
        self.frames.get(module)
    }

    pub fn frame_mut(&mut self, module: &ModuleInstance) -> &mut Frame {
        self.frames.entry(module.clone()).or_default()
    }

    /// The root module's input variables.
    pub fn root_vars_mut(&mut self) -> &mut BTreeMap<String, Value> {
        &mut self.frame_mut(&ModuleInstance::root()).vars
    }

    /// The scope of the root module.
    pub fn scope(&self) -> InstanceScope<'_> {
        self.module_scope(&ModuleInstance::root())
    }

    /// The scope of a module instance, outside any repeated resource.
    pub fn module_scope(&self, module: &ModuleInstance) -> InstanceScope<'_> {
        InstanceScope { values: self, module: module.clone(), count_index: None, each: None }
    }

    /// The scope inside one instance of a repeated resource.
    pub fn instance_scope(&self, key: &InstanceKey, each_value: Option<&Value>) -> InstanceScope<'_> {
        self.resource_scope(&ModuleInstance::root(), key, each_value)
    }

    /// The scope inside one instance of a repeated resource of a module.
    pub fn resource_scope(
        &self,
        module: &ModuleInstance,
        key: &InstanceKey,
        each_value: Option<&Value>,
    ) -> InstanceScope<'_> {
        let mut scope = self.module_scope(module);
        match key {
            InstanceKey::None => {}
            InstanceKey::Index(i) => scope.count_index = Some(Value::Number(*i as f64)),
            InstanceKey::Key(k) => {
                scope.each = Some((Value::String(k.clone()), each_value.cloned().unwrap_or(Value::String(k.clone()))))
            }
        }
        scope
    }

    /// The scope of a module call's arguments for one instance `child`: the
    /// calling module's names, with `count.index` / `each` of the instance.
    pub fn call_scope(&self, child: &ModuleInstance) -> InstanceScope<'_> {
        let parent = child.parent();
        let Some(step) = child.last() else { return self.scope() };
        let each_value = self
            .calls
            .get(&(parent.clone(), step.name.clone()))
            .and_then(|c| c.instances.iter().find(|(k, _)| *k == step.key))
            .and_then(|(_, v)| v.clone());
        self.resource_scope(&parent, &step.key, each_value.as_ref())
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

    /// `module.NAME` seen from `parent`: an object of outputs per instance.
    fn module_value(&self, parent: &ModuleInstance, name: &str) -> Option<Value> {
        let call = self.calls.get(&(parent.clone(), name.to_string()))?;
        let object = |key: &InstanceKey| {
            let child = parent.child(name, key.clone());
            Value::Map(self.frames.get(&child).map(|f| f.outputs.clone()).unwrap_or_default())
        };
        Some(match call.repetition {
            RepetitionKind::Single => call.instances.first().map(|(k, _)| object(k)).unwrap_or(Value::Null),
            RepetitionKind::Count => Value::List(call.instances.iter().map(|(k, _)| object(k)).collect()),
            RepetitionKind::ForEach => Value::Map(
                call.instances
                    .iter()
                    .filter_map(|(k, _)| match k {
                        InstanceKey::Key(s) => Some((s.clone(), object(k))),
                        _ => None,
                    })
                    .collect(),
            ),
        })
    }
}

/// `path.module` of every module: its folder relative to the stack folder,
/// as Terraform prints it (`.` for the root, `modules/app` for a child,
/// `../shared/x` for a folder beside the stack).
fn collect_module_paths(root: &Path, module: &Module, path: &mut Vec<String>, out: &mut BTreeMap<Vec<String>, String>) {
    out.insert(path.clone(), relative_dir(root, &module.dir));
    for (name, call) in &module.calls {
        path.push(name.clone());
        collect_module_paths(root, &call.module, path, out);
        path.pop();
    }
}

fn relative_dir(root: &Path, dir: &Path) -> String {
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let (root, dir) = (canon(root), canon(dir));
    if root == dir {
        return ".".to_string();
    }
    match dir.strip_prefix(&root) {
        Ok(rel) => rel.to_string_lossy().into_owned(),
        // A module outside the stack folder (`../shared/x`): Terraform
        // prints it relative to the working directory too.
        Err(_) => {
            let mut up = PathBuf::new();
            let mut base = root.as_path();
            loop {
                if let Ok(rel) = dir.strip_prefix(base) {
                    return up.join(rel).to_string_lossy().into_owned();
                }
                match base.parent() {
                    Some(p) => {
                        up.push("..");
                        base = p;
                    }
                    None => return dir.to_string_lossy().into_owned(),
                }
            }
        }
    }
}

pub struct InstanceScope<'a> {
    values: &'a Values,
    module: ModuleInstance,
    count_index: Option<Value>,
    each: Option<(Value, Value)>,
}

impl Scope for InstanceScope<'_> {
    fn variable(&self, name: &str) -> Option<Value> {
        self.values.frames.get(&self.module)?.vars.get(name).cloned()
    }
    fn local(&self, name: &str) -> Option<Value> {
        self.values.frames.get(&self.module)?.locals.get(name).cloned()
    }
    fn resource(&self, addr: &ResourceAddr) -> Option<Value> {
        let addr = if self.module.is_root() { addr.clone() } else { addr.in_module(&self.module) };
        Some(self.values.resources.get(&addr).cloned().unwrap_or(Value::Unknown))
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
    fn module(&self, name: &str) -> Option<Value> {
        self.values.module_value(&self.module, name)
    }
    fn path(&self, which: &str) -> Option<String> {
        match which {
            "root" => Some(".".to_string()),
            "module" => Some(
                self.values
                    .module_paths
                    .get(&self.module.static_path().iter().map(|s| s.to_string()).collect::<Vec<_>>())
                    .cloned()
                    .unwrap_or_else(|| ".".to_string()),
            ),
            // Terraform run with -chdir gives the folder it was started in.
            "cwd" => std::env::current_dir().ok().map(|d| d.to_string_lossy().into_owned()),
            _ => None,
        }
    }
}
