//! `gantry state import-terraform` and `export-terraform`: moving an
//! environment from Terraform to gantry and back.

use std::path::Path;

use super::state_edit::{key_fits, sensitive_in_config};
use super::{backend, load, resolve_vars, Exit, Loaded, Ui};
use crate::addr::{InstanceAddr, Mode, ResourceAddr};
use crate::cli::{Global, ImportTerraformArgs};
use crate::diag::Diagnostic;
use crate::graph::Node;
use crate::state::State;
use crate::tfstate::{self, ConfigView};

fn fail(ui: &Ui, d: Diagnostic) -> Exit {
    ui.error(d);
    Exit::Failed
}

/// The loaded stack, as the import sees it.
struct StackView<'a>(&'a Loaded);

impl StackView<'_> {
    fn config(&self, addr: &InstanceAddr) -> Option<&crate::config::ResourceConfig> {
        let loaded = self.0;
        let config = loaded.stack.resource_config(&addr.resource).filter(|c| c.addr.mode == Mode::Managed)?;
        let expanded = loaded.graph.index.contains_key(&Node::Resource(addr.resource.clone()));
        (expanded && key_fits(config, &addr.key)).then_some(config)
    }
}

impl ConfigView for StackView<'_> {
    fn declares(&self, addr: &InstanceAddr) -> bool {
        self.config(addr).is_some()
    }

    fn sensitive_attrs(&self, addr: &InstanceAddr) -> Vec<String> {
        self.config(addr).map(|c| sensitive_in_config(&self.0.stack, c)).unwrap_or_default()
    }

    fn dependencies(&self, addr: &InstanceAddr) -> Option<Vec<ResourceAddr>> {
        self.config(addr).map(|_| self.0.graph.resource_dependencies(&addr.resource))
    }
}

pub async fn import_terraform(global: &Global, ui: &Ui, args: ImportTerraformArgs) -> Exit {
    if args.source.starts_with("s3://") {
        return fail(
            ui,
            Diagnostic::error(format!("Cannot import {}: S3 sources are not supported yet", args.source))
                .detail("Copy the state out first (`terraform state pull > terraform.tfstate`) and import that file."),
        );
    }
    // The Terraform file first: a bad file is refused before anything else.
    let source = Path::new(&args.source);
    let tf = match tfstate::read(source) {
        Ok(tf) => tf,
        Err(e) => return fail(ui, Diagnostic::error(format!("{e}")).detail("Nothing was written.")),
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
    let backend = match backend(global, ui, &loaded.stack).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    let _lock = match backend.lock("import-terraform").await {
        Ok(l) => l,
        Err(e) => return fail(ui, Diagnostic::error(format!("Cannot import: {e}"))),
    };
    match backend.read().await {
        Ok(None) => {}
        Ok(Some(existing)) => {
            return fail(
                ui,
                Diagnostic::error(format!(
                    "gantry already has state for {}/{} ({} resources, lineage {})",
                    loaded.stack.name,
                    global.env,
                    existing.resources.len(),
                    existing.lineage
                ))
                .detail(format!(
                    "import-terraform starts an environment's state; it never merges into one. Import into a new \
                     environment, or move the existing state out of {} first. Nothing was written.",
                    backend.location()
                )),
            )
        }
        Err(e) => return fail(ui, Diagnostic::error(e.to_string())),
    }

    let mut state = State::new();
    let hasher = state.hasher();
    let imported = match tfstate::import(&tf, &args.source, &hasher, &StackView(&loaded)) {
        Ok(i) => i,
        Err(e) => return fail(ui, Diagnostic::error(e.to_string()).detail("Nothing was written.")),
    };
    if !imported.unmanaged.is_empty() && !args.allow_partial {
        let list: Vec<String> = imported.unmanaged.iter().map(|l| format!("  {}: {}", l.address, l.reason)).collect();
        return fail(
            ui,
            Diagnostic::error(format!(
                "{} object(s) in {} would be left unmanaged:\n{}",
                imported.unmanaged.len(),
                args.source,
                list.join("\n")
            ))
            .detail(
                "Nothing was written. Declare them in the stack, remove them from Terraform's state, or import \
                 the rest with --allow-partial (they then stay in AWS, managed by neither).",
            ),
        );
    }
    let origin = tfstate::origin_of(&tf, &args.source);
    let described = tfstate::describe_origin(&origin);
    state.origin = Some(origin);
    let count = imported.resources.len();
    for resource in imported.resources {
        state.upsert(resource);
    }
    state.outputs = imported.outputs;
    if let Err(e) = backend.write(&mut state).await {
        return fail(ui, Diagnostic::error(e.to_string()));
    }

    println!(
        "Imported {count} resource instance{} from {described} into {}.",
        if count == 1 { "" } else { "s" },
        backend.location()
    );
    println!(
        "Sealed {} sensitive value{}: gantry's state keeps only their keyed hashes.",
        imported.sealed,
        if imported.sealed == 1 { "" } else { "s" }
    );
    if !state.outputs.is_empty() {
        println!("Outputs carried over: {}.", state.outputs.keys().cloned().collect::<Vec<_>>().join(", "));
    }
    if !imported.data_sources.is_empty() {
        println!("Data sources not imported (gantry reads them on every plan): {}.", imported.data_sources.join(", "));
    }
    for left in &imported.unmanaged {
        println!("Left unmanaged (--allow-partial): {}: {}.", left.address, left.reason);
    }
    for note in &imported.notes {
        println!("Note: {note}.");
    }
    println!(
        "The Terraform state was not changed. Run `gantry plan -s {} -e {}`: it should say \"No changes\".",
        global.stack.display(),
        global.env
    );
    println!(
        "When you are ready to stop using Terraform for it, make the Terraform state read-only (`chmod a-w {}`), \
         or remove Terraform's access to its backend.",
        args.source
    );
    Exit::Ok
}

pub async fn export_terraform(global: &Global, ui: &Ui, out: Option<&Path>) -> Exit {
    if let Some(path) = out.filter(|p| p.exists()) {
        return fail(
            ui,
            Diagnostic::error(format!("{} exists; export-terraform never overwrites a file", path.display()))
                .detail("Give another --out, or move that file away first."),
        );
    }
    let name = super::stack_name_of(global);
    let backend = match super::backend_for(global, ui, &name).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    let state = match backend.read().await {
        Ok(Some(s)) => s,
        Ok(None) => return fail(ui, Diagnostic::error(format!("No state for {name}/{} yet", global.env))),
        Err(e) => return fail(ui, Diagnostic::error(e.to_string())),
    };
    // A lineage of its own: Terraform refuses to push a state over another
    // lineage, so this file is never mistaken for a newer version of the
    // state it was imported from.
    let lineage = uuid::Uuid::new_v4().to_string();
    let exported = tfstate::export(&state, &lineage, 1);
    let Some(tf) = exported.state else { return Exit::Failed };
    let mut text = match serde_json::to_string_pretty(&tf) {
        Ok(t) => t,
        Err(e) => return fail(ui, Diagnostic::error(format!("Cannot serialize the Terraform state: {e}"))),
    };
    text.push('\n');
    if !exported.unsupported.is_empty() {
        return fail(
            ui,
            Diagnostic::error(format!(
                "Cannot export {}: their types have no recorded provider schema",
                exported.unsupported.join(", ")
            ))
            .detail("Nothing was written. Remove them from state (gantry state rm) and import them into Terraform with `terraform import`."),
        );
    }
    match out {
        Some(path) => {
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
            if let Err(e) = written {
                return fail(ui, Diagnostic::error(format!("Cannot write {}: {e}", path.display())));
            }
            eprintln!(
                "Wrote {} resource instance{} of {name}/{} to {} (Terraform state format 4, lineage {lineage}).",
                state.resources.len(),
                if state.resources.len() == 1 { "" } else { "s" },
                global.env,
                path.display()
            );
        }
        None => print!("{text}"),
    }
    if !exported.left_out.is_empty() {
        eprintln!(
            "Sensitive values not written ({}): Terraform reads them back from AWS on its next refresh.",
            exported.left_out.join(", ")
        );
    }
    if !exported.sensitive_outputs.is_empty() {
        eprintln!(
            "Sensitive outputs not written ({}): Terraform computes them again on its next apply.",
            exported.sensitive_outputs.join(", ")
        );
    }
    eprintln!("Check it with `terraform plan` on the same .tf files before handing the environment back to Terraform.");
    Exit::Ok
}
