//! Commands that change state but not infrastructure: import, state rm,
//! state mv. Each holds the lock and writes state once.

use super::{backend, load, resolve_vars, Exit, Ui};
use crate::addr::{InstanceAddr, InstanceKey, Mode};
use crate::aws::AwsCtx;
use crate::cli::{Global, ImportArgs};
use crate::config::Repetition;
use crate::diag::Diagnostic;
use crate::ownership::Owner;
use crate::plan::compare::seal;
use crate::plan::walk::eval_provider;
use crate::resources::{self, Attrs, ReadCtx, ReadRequest};
use crate::scope::Values;
use crate::state::{Backend, LocalBackend, ResourceState, State};

fn fail(ui: &Ui, d: Diagnostic) -> Exit {
    ui.error(d);
    Exit::Failed
}

pub async fn import(global: &Global, ui: &Ui, args: ImportArgs) -> Exit {
    let addr: InstanceAddr = match args.address.parse() {
        Ok(a) => a,
        Err(e) => return fail(ui, Diagnostic::error(e.to_string())),
    };
    let mut loaded = match load(global, ui) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let vars = match resolve_vars(global, ui, &loaded.stack, &args.vars) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if let Err(e) = loaded.expand(ui, &vars) {
        return e;
    }
    let stack = &loaded.stack;
    let Some(config) = stack.resource_config(&addr.resource).filter(|c| c.addr.mode == Mode::Managed) else {
        return fail(
            ui,
            Diagnostic::error(format!("{} is not declared in the stack", addr.resource))
                .detail("Write its resource block first, then import into it."),
        );
    };
    if !key_fits(config, &addr.key) {
        return fail(
            ui,
            Diagnostic::error(format!("{addr} does not match how {} is repeated", addr.resource))
                .at(config.loc.clone())
                .detail("Use no index for a single resource, [N] with count, [\"key\"] with for_each."),
        );
    }
    if !loaded.graph.index.contains_key(&crate::graph::Node::Resource(addr.resource.clone())) {
        return fail(
            ui,
            Diagnostic::error(format!("{} is not an instance of this configuration", addr.resource))
                .detail("Its module instance is not among the module call's count/for_each keys."),
        );
    }
    let backend = match backend(global, ui, stack).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    let _lock = match backend.lock("import").await {
        Ok(l) => l,
        Err(e) => return fail(ui, Diagnostic::error(format!("Cannot import: {e}"))),
    };
    let mut state = match backend.read().await.and_then(|s| {
        let s = s.unwrap_or_default();
        s.require_key().map(|()| s)
    }) {
        Ok(s) => s,
        Err(e) => return fail(ui, Diagnostic::error(e.to_string())),
    };
    if state.get(&addr).is_some() {
        return fail(
            ui,
            Diagnostic::error(format!("{addr} is already in state"))
                .detail("Remove it first with `gantry state rm` if it should point at another object."),
        );
    }
    let provider = match eval_provider(stack, &Values::new(&stack.dir, vars)) {
        Ok(p) => p,
        Err(d) => {
            ui.report(&d, &stack.sources);
            return Exit::Failed;
        }
    };
    let Some(rt) = resources::resource_type(&addr.resource.rtype) else { return Exit::Failed };
    let aws = AwsCtx::load(provider.region).await;
    let ctx = ReadCtx::new(&aws);
    let request = ReadRequest { id: args.id.clone(), prior: hint(config) };
    let live = match rt.read(&ctx, std::slice::from_ref(&request)).await {
        Ok(mut live) => live.pop().flatten(),
        Err(e) => {
            return fail(ui, Diagnostic::error(format!("Reading {} {} failed: {e}", rt.schema().type_name, args.id)))
        }
    };
    let Some(mut attrs) = live else {
        return fail(
            ui,
            Diagnostic::error(format!("No {} with id {:?} exists", rt.schema().type_name, args.id))
                .detail("Check the id (a bucket, table, repository or parameter name) and the region."),
        );
    };
    // An object another stack or environment owns stays theirs: two states
    // managing one object would fight over it, and either's destroy would
    // delete what the other still uses.
    let owner_tags = match rt.owner_tags_of(&aws, &args.id, &attrs).await {
        Ok(tags) => tags.unwrap_or_default(),
        Err(e) => {
            return fail(
                ui,
                Diagnostic::error(format!("Reading the tags of {} {} failed: {e}", rt.schema().type_name, args.id)),
            )
        }
    };
    let owner = Owner::from_tags(&owner_tags);
    if owner.is_other_than(&stack.name, &global.env) {
        return fail(
            ui,
            Diagnostic::error(format!("{} {} belongs to {owner}", rt.schema().type_name, args.id)).detail(format!(
                "gantry never imports an object another stack or environment manages. Refer to it instead: \
                 a data source, an output of {owner}, or its id as a variable. To move it here for good, \
                 `gantry state rm` it from {owner} first and remove its gantry:stack and gantry:env tags."
            )),
        );
    }
    // Beyond what the schema calls sensitive: what the configuration sets
    // from a sensitive variable (a user_data template holding a secret).
    let hashes = seal(rt.schema(), &mut attrs, sensitive_in_config(stack, config), &state.hasher());
    let id = attrs.get("id").and_then(|v| v.as_str()).map(str::to_string).unwrap_or(args.id.clone());
    state.upsert(ResourceState {
        address: addr.clone(),
        rtype: addr.resource.rtype.clone(),
        id: id.clone(),
        attributes: attrs,
        sensitive_attributes: hashes,
        dependencies: loaded.graph.resource_dependencies(&addr.resource),
    });
    if let Err(e) = backend.write(&mut state).await {
        return fail(ui, Diagnostic::error(e.to_string()));
    }
    println!("Imported {addr} [id={id}]. Run `gantry plan` to see how it compares with the configuration.");
    Exit::Ok
}

/// Whether an instance key matches how the resource is repeated: none for
/// a single resource, an index under count, a string under for_each.
pub(crate) fn key_fits(config: &crate::config::ResourceConfig, key: &InstanceKey) -> bool {
    matches!(
        (&config.repetition, key),
        (Repetition::Single, InstanceKey::None)
            | (Repetition::Count(..), InstanceKey::Index(_))
            | (Repetition::ForEach(..), InstanceKey::Key(_))
    )
}

/// Names of the configuration's attributes whose expressions draw on a
/// sensitive variable, directly or through locals. Found from the
/// references alone: import evaluates nothing.
pub(crate) fn sensitive_in_config(stack: &crate::config::Stack, config: &crate::config::ResourceConfig) -> Vec<String> {
    use crate::eval::refs::references;
    use crate::eval::Reference;
    fn draws_on_secret(
        stack: &crate::config::Stack,
        expr: &hcl_edit::expr::Expression,
        seen: &mut std::collections::BTreeSet<String>,
    ) -> bool {
        references(expr).into_iter().any(|r| match r.reference {
            Reference::Variable(name) => stack.variables.get(&name).is_some_and(|v| v.sensitive),
            Reference::Local(name) => {
                seen.insert(name.clone())
                    && stack.locals.get(&name).is_some_and(|l| draws_on_secret(stack, &l.expr, seen))
            }
            _ => false,
        })
    }
    let mut names: Vec<String> = config
        .body
        .attrs
        .iter()
        .filter(|a| draws_on_secret(stack, &a.expr, &mut Default::default()))
        .map(|a| a.name.clone())
        .collect();
    // `tags_all` holds whatever `tags` holds.
    if names.iter().any(|n| n == "tags") {
        names.push("tags_all".into());
    }
    names
}

/// Tells a read which optional parts the configuration uses (so an SSM
/// parameter configured with `insecure_value` is read into it, and a
/// table's TTL is read when the block is declared).
fn hint(config: &crate::config::ResourceConfig) -> Attrs {
    let mut prior = Attrs::new();
    for attr in &config.body.attrs {
        prior.insert(attr.name.clone(), serde_json::Value::String(String::new()));
    }
    for block in &config.body.blocks {
        prior.insert(block.name.clone(), serde_json::json!([{}]));
    }
    prior
}

/// Runs `edit` on the state under the lock and writes it.
async fn edit_state(
    global: &Global,
    ui: &Ui,
    operation: &str,
    edit: impl FnOnce(&mut State) -> Result<String, Diagnostic>,
) -> Exit {
    let name = super::stack_name_of(global);
    let backend = match super::backend_for(global, ui, &name).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    let _lock = match backend.lock(operation).await {
        Ok(l) => l,
        Err(e) => return fail(ui, Diagnostic::error(format!("Cannot change state: {e}"))),
    };
    let mut state = match backend.read().await {
        Ok(Some(s)) => s,
        Ok(None) => return fail(ui, Diagnostic::error(format!("No state for {name}/{} yet", global.env))),
        Err(e) => return fail(ui, Diagnostic::error(e.to_string())),
    };
    let message = match edit(&mut state) {
        Ok(m) => m,
        Err(d) => return fail(ui, d),
    };
    if let Err(e) = backend.write(&mut state).await {
        return fail(ui, Diagnostic::error(e.to_string()));
    }
    println!("{message}");
    Exit::Ok
}

/// The instances an address names: itself, or every instance of a resource.
fn matching(state: &State, addr: &InstanceAddr) -> Vec<InstanceAddr> {
    if state.get(addr).is_some() {
        return vec![addr.clone()];
    }
    if addr.key == InstanceKey::None {
        return state
            .resources
            .iter()
            .filter(|r| r.address.resource == addr.resource)
            .map(|r| r.address.clone())
            .collect();
    }
    Vec::new()
}

pub async fn rm(global: &Global, ui: &Ui, addresses: &[String]) -> Exit {
    let parsed: Result<Vec<InstanceAddr>, _> = addresses.iter().map(|a| a.parse::<InstanceAddr>()).collect();
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => return fail(ui, Diagnostic::error(e.to_string())),
    };
    edit_state(global, ui, "state rm", |state| {
        let mut removed = Vec::new();
        for addr in &parsed {
            let found = matching(state, addr);
            if found.is_empty() {
                return Err(Diagnostic::error(format!("{addr} is not in state"))
                    .detail("Nothing was removed. List what is with `gantry state list`."));
            }
            for a in found {
                state.remove(&a);
                removed.push(a.to_string());
            }
        }
        Ok(format!(
            "Removed {} from state: {}.\nThe objects still exist in AWS; gantry no longer manages them.",
            if removed.len() == 1 { "1 object".to_string() } else { format!("{} objects", removed.len()) },
            removed.join(", ")
        ))
    })
    .await
}

pub async fn mv(global: &Global, ui: &Ui, from: &str, to: &str) -> Exit {
    let (from, to) = match (from.parse::<InstanceAddr>(), to.parse::<InstanceAddr>()) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return fail(ui, Diagnostic::error(e.to_string())),
    };
    edit_state(global, ui, "state mv", |state| {
        let sources = matching(state, &from);
        if sources.is_empty() {
            return Err(Diagnostic::error(format!("{from} is not in state")));
        }
        if from.resource.rtype != to.resource.rtype {
            return Err(Diagnostic::error(format!(
                "Cannot move a {} to a {}: the types differ",
                from.resource.rtype, to.resource.rtype
            )));
        }
        let whole_resource = sources.len() > 1 || sources[0] != from;
        let moves: Vec<(InstanceAddr, InstanceAddr)> = if whole_resource {
            if to.key != InstanceKey::None {
                return Err(Diagnostic::error(
                    "Moving every instance of a resource needs a resource address as the target",
                ));
            }
            sources.iter().map(|s| (s.clone(), to.resource.instance(s.key.clone()))).collect()
        } else {
            vec![(from.clone(), to.clone())]
        };
        for (_, target) in &moves {
            if state.get(target).is_some() {
                return Err(Diagnostic::error(format!("{target} is already in state"))
                    .detail("Nothing was moved. Remove or move that one first."));
            }
        }
        for (source, target) in &moves {
            if let Some(mut r) = state.remove(source) {
                r.address = target.clone();
                state.upsert(r);
            }
        }
        Ok(moves.iter().map(|(s, t)| format!("Moved {s} to {t}")).collect::<Vec<_>>().join("\n"))
    })
    .await
}

/// `gantry state migrate`: moves the environment's local state to the
/// backend `gantry.hcl` configures for it.
pub async fn migrate(global: &Global, ui: &Ui) -> Exit {
    let settings = match super::settings(global, ui) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let name = super::stack_name_of(global);
    let env = settings.env(&global.env);
    let Some(remote) = super::s3_backend(global, &name, &env).await else {
        return fail(
            ui,
            Diagnostic::error(format!("The environment \"{}\" keeps its state locally: there is nothing to migrate to", global.env))
                .detail(format!(
                    "Configure its backend in {} first, e.g.\n\nenvironment \"{}\" {{\n  backend \"s3\" {{\n    bucket = \"my-state-bucket\"\n  }}\n}}",
                    global.stack.join(crate::config::settings::FILE_NAME).display(),
                    global.env
                )),
        );
    };
    let local = LocalBackend::new(&global.state_dir, &name, &global.env);
    match crate::state::migrate::migrate(&local, &remote).await {
        Ok(m) => {
            if m.already_there {
                println!("{} already holds this state (lineage {}, serial {}).", m.location, m.lineage, m.serial);
            } else {
                println!(
                    "Migrated the state of {name}/{} ({} resource{}, lineage {}, serial {}) from {} to {}; read back and verified.",
                    global.env,
                    m.resources,
                    if m.resources == 1 { "" } else { "s" },
                    m.lineage,
                    m.serial,
                    local.path.display(),
                    m.location
                );
            }
            println!("The state now lives in {}. The local file was kept as {}.", m.location, m.kept.display());
            Exit::Ok
        }
        Err(e) => {
            let mut detail = e.to_string();
            let migrated = std::path::PathBuf::from(format!("{}.migrated", local.path.display()));
            if matches!(e, crate::state::migrate::MigrateError::NoLocalState(_)) && migrated.exists() {
                detail.push_str(&format!(
                    ". It was migrated before: the old local copy is {}, the state lives in {}",
                    migrated.display(),
                    remote.location()
                ));
            }
            fail(ui, Diagnostic::error(format!("Cannot migrate the state of {name}/{}", global.env)).detail(detail))
        }
    }
}
