//! `gantry state import-terraform` and `export-terraform`: moving an
//! environment from Terraform to gantry and back.

use std::path::Path;

use super::state_edit::{key_fits, sensitive_in_config};
use super::{backend, load, resolve_vars, Exit, Loaded, Ui};
use crate::addr::{InstanceAddr, Mode, ResourceAddr};
use crate::aws::AwsCtx;
use crate::cli::{Global, ImportTerraformArgs};
use crate::diag::Diagnostic;
use crate::graph::Node;
use crate::state::State;
use crate::tfstate::{self, ConfigView, Location, S3Location, TfLock};

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

/// The Terraform state read for an import, and how to name where it was.
struct Read {
    tf: tfstate::TfState,
    source: String,
    /// A line about the read itself (lock taken, digest checked).
    notes: Vec<String>,
}

/// Where SOURCE (or the stack's backend block) says the state is.
fn locate(ui: &Ui, args: &ImportTerraformArgs, loaded: &Loaded) -> Result<Location, Exit> {
    match args.source.as_deref() {
        Some(url) if url.starts_with("s3://") => {
            let (bucket, key) = tfstate::source::parse_s3_url(url)
                .map_err(|e| fail(ui, Diagnostic::error(format!("Cannot import: {e}"))))?;
            // The lock settings come from the flags, else from a backend
            // block naming this very object.
            let declared = match tfstate::source::from_backend(
                loaded.stack.root.backend.as_ref(),
                &loaded.stack.dir,
                &tfstate::source::workspace(args.workspace.as_deref(), &loaded.stack.dir),
            ) {
                Ok(Location::S3(s3)) if s3.bucket == bucket && s3.key == key => Some(s3),
                _ => None,
            };
            let flags = args.dynamodb_table.is_some() || args.use_lockfile;
            let mut s3 = match declared {
                Some(s3) if !flags => s3,
                _ => S3Location {
                    bucket,
                    key,
                    dynamodb_table: args.dynamodb_table.clone(),
                    use_lockfile: args.use_lockfile,
                    ..S3Location::default()
                },
            };
            s3.ignored.clear();
            Ok(Location::S3(s3))
        }
        Some(path) => Ok(Location::File(path.into())),
        None => {
            let workspace = tfstate::source::workspace(args.workspace.as_deref(), &loaded.stack.dir);
            tfstate::source::from_backend(loaded.stack.root.backend.as_ref(), &loaded.stack.dir, &workspace).map_err(
                |d| {
                    ui.report(&d.into(), &loaded.stack.sources);
                    Exit::Failed
                },
            )
        }
    }
}

pub async fn import_terraform(global: &Global, ui: &Ui, args: ImportTerraformArgs) -> Exit {
    // A local file first: a bad file is refused before anything else.
    let early = match args.source.as_deref() {
        Some(path) if !path.starts_with("s3://") => match tfstate::read(Path::new(path)) {
            Ok(tf) => Some(tf),
            Err(e) => return fail(ui, Diagnostic::error(format!("{e}")).detail("Nothing was written.")),
        },
        _ => None,
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
    let location = match locate(ui, &args, &loaded) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let backend = match backend(global, ui, &loaded.stack).await {
        Ok(b) => b,
        Err(e) => return e,
    };
    let _lock = match backend.lock("import-terraform").await {
        Ok(l) => l,
        Err(e) => return fail(ui, Diagnostic::error(format!("Cannot import: {e}"))),
    };
    match location {
        Location::File(path) => {
            let tf = match early {
                Some(tf) => tf,
                None => match tfstate::read(&path) {
                    Ok(tf) => tf,
                    Err(e) => return fail(ui, Diagnostic::error(format!("{e}")).detail("Nothing was written.")),
                },
            };
            let source = path.display().to_string();
            let read = Read { tf, source, notes: Vec::new() };
            let done = import_read(global, ui, &args, &loaded, backend.as_ref(), read).await;
            finish(ui, done, None).await
        }
        Location::S3(s3) => {
            let aws = AwsCtx::load(s3.region.clone()).await;
            if !s3.ignored.is_empty() {
                println!(
                    "Backend settings not used (gantry takes its endpoint from AWS_ENDPOINT_URL and credentials from \
                     the standard chain): {}.",
                    s3.ignored.join(", ")
                );
            }
            let timeout = args.lock_timeout.unwrap_or_default();
            let lock = if s3.locked() {
                match TfLock::acquire(&aws.s3, &aws.dynamodb, &s3, timeout).await {
                    Ok(lock) => Some(lock),
                    Err(e) => return fail(ui, lock_error(e, &s3)),
                }
            } else {
                None
            };
            let mut notes = Vec::new();
            match &lock {
                Some(l) => notes.push(format!(
                    "Held Terraform's state lock ({}) while reading; lock ID {}",
                    lock_places(&s3),
                    l.info.id
                )),
                None => notes.push(
                    "No Terraform lock taken: no dynamodb_table or use_lockfile for this state (with s3://, give \
                     --dynamodb-table or --use-lockfile). Make sure no Terraform run writes it meanwhile"
                        .into(),
                ),
            }
            let done = match tfstate::remote::fetch(&aws.s3, &aws.dynamodb, &s3).await {
                Ok(fetched) => {
                    if fetched.digest_checked {
                        notes.push("Checked it against the digest Terraform keeps in its lock table".into());
                    }
                    let read = Read { tf: fetched.state, source: s3.url(), notes };
                    import_read(global, ui, &args, &loaded, backend.as_ref(), read).await
                }
                Err(e) => Err(Diagnostic::error(e.to_string()).detail("Nothing was written.")),
            };
            finish(ui, done, lock).await
        }
    }
}

/// Where Terraform's lock on `s3` lives, for messages.
fn lock_places(s3: &S3Location) -> String {
    let mut places = Vec::new();
    if s3.use_lockfile {
        places.push(format!("s3://{}/{}", s3.bucket, s3.lockfile_key()));
    }
    if let Some(table) = &s3.dynamodb_table {
        places.push(format!("DynamoDB table {table}, item {}", s3.lock_id()));
    }
    places.join(" and ")
}

fn lock_error(e: tfstate::TfStateError, s3: &S3Location) -> Diagnostic {
    match &e {
        tfstate::TfStateError::Locked(holder) => {
            Diagnostic::error(format!("Cannot import {}: {e}", s3.url())).detail(format!(
                "A Terraform run holds the lock: wait for it to finish (or give --lock-timeout 5m). If that run \
                 is gone for good, clear the lock from the Terraform working directory with `terraform \
                 force-unlock {}`. Nothing was read or written.",
                if holder.info.id.is_empty() { "LOCK_ID" } else { holder.info.id.as_str() }
            ))
        }
        _ => Diagnostic::error(format!("Cannot take Terraform's state lock on {}: {e}", s3.url()))
            .detail("Nothing was read or written."),
    }
}

/// Releases Terraform's lock (whatever the import did) and reports.
async fn finish(ui: &Ui, done: Result<(), Diagnostic>, lock: Option<TfLock>) -> Exit {
    let released = match lock {
        Some(lock) => lock.release().await.map(|_| true),
        None => Ok(false),
    };
    let mut exit = match done {
        Ok(()) => Exit::Ok,
        Err(d) => fail(ui, d),
    };
    match released {
        Ok(true) => println!("Released Terraform's state lock."),
        Ok(false) => {}
        Err(e) => {
            exit = fail(
                ui,
                Diagnostic::error(format!("Could not release Terraform's state lock: {e}"))
                    .detail("Clear it with `terraform force-unlock LOCK_ID` once you are sure nothing else holds it."),
            );
        }
    }
    exit
}

async fn import_read(
    global: &Global,
    _ui: &Ui,
    args: &ImportTerraformArgs,
    loaded: &Loaded,
    backend: &dyn crate::state::Backend,
    read: Read,
) -> Result<(), Diagnostic> {
    let Read { tf, source, notes: read_notes } = read;
    let existing = backend.read().await.map_err(|e| Diagnostic::error(e.to_string()))?;
    let mut state = existing.clone().unwrap_or_else(State::new);
    if existing.is_some() {
        state.require_key().map_err(|e| Diagnostic::error(e.to_string()).detail("Nothing was written."))?;
    }
    let hasher = state.hasher();
    let imported = tfstate::import(&tf, &source, &hasher, &StackView(loaded))
        .map_err(|e| Diagnostic::error(e.to_string()).detail("Nothing was written."))?;
    if !imported.unmanaged.is_empty() && !args.allow_partial {
        let list: Vec<String> = imported.unmanaged.iter().map(|l| format!("  {}: {}", l.address, l.reason)).collect();
        return Err(Diagnostic::error(format!(
            "{} object(s) in {} would be left unmanaged:\n{}",
            imported.unmanaged.len(),
            source,
            list.join("\n")
        ))
        .detail(
            "Nothing was written. Declare them in the stack, remove them from Terraform's state, or import \
             the rest with --allow-partial (they then stay in AWS, managed by neither).",
        ));
    }
    let changes = match &existing {
        None => None,
        Some(existing) => match tfstate::reimport::check(existing, &tf, &source, &imported.resources) {
            Ok(c) => Some(c),
            Err(why) => {
                return Err(Diagnostic::error(format!(
                    "gantry already has state for {}/{} ({}), and {why}",
                    loaded.stack.name,
                    global.env,
                    backend.location()
                ))
                .detail(format!(
                    "Import into a new environment, or move the existing state out of {} first. Nothing was \
                         written.",
                    backend.location()
                )))
            }
        },
    };
    for note in &read_notes {
        println!("{note}.");
    }
    if let Some(changes) = &changes {
        if changes.is_empty() && changes.from_serial == changes.to_serial {
            println!(
                "Nothing to do: gantry's state for {}/{} already holds {source} at serial {} (lineage {}); \
                 {} resource instances unchanged. Nothing was written.",
                loaded.stack.name, global.env, changes.to_serial, tf.lineage, changes.unchanged
            );
            return Ok(());
        }
    }
    let origin = tfstate::origin_of(&tf, &source);
    let described = tfstate::describe_origin(&origin);
    state.origin = Some(origin);
    let count = imported.resources.len();
    state.resources.clear();
    for resource in imported.resources {
        state.upsert(resource);
    }
    state.outputs = imported.outputs;
    backend.write(&mut state).await.map_err(|e| Diagnostic::error(e.to_string()))?;

    match &changes {
        None => println!(
            "Imported {count} resource instance{} from {described} into {}.",
            if count == 1 { "" } else { "s" },
            backend.location()
        ),
        Some(c) => {
            println!(
                "Re-imported {described} into {}: Terraform serial {} → {}; {} added, {} changed, {} unchanged.",
                backend.location(),
                c.from_serial,
                c.to_serial,
                c.added.len(),
                c.changed.len(),
                c.unchanged
            );
            for a in &c.added {
                println!("  added: {a}");
            }
            for (a, what) in &c.changed {
                println!("  changed: {a} ({what})");
            }
        }
    }
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
    if source.starts_with("s3://") {
        println!(
            "When you are ready to stop using Terraform for it, remove Terraform's write access to {source} \
             (a bucket policy denying s3:PutObject on that key, or the IAM permission of its CI role)."
        );
    } else {
        println!(
            "When you are ready to stop using Terraform for it, make the Terraform state read-only (`chmod a-w {source}`), \
             or remove Terraform's access to its backend."
        );
    }
    Ok(())
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
    // Sealed user data is a case of its own: the provider keeps a digest,
    // not the text, and its refresh fills that digest in place.
    let (user_data, others): (Vec<&String>, Vec<&String>) =
        exported.left_out.iter().partition(|l| l.ends_with(".user_data"));
    if !others.is_empty() {
        eprintln!(
            "Sensitive values not written ({}): Terraform reads them back from AWS on its next refresh.",
            others.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        );
    }
    if !user_data.is_empty() {
        eprintln!(
            "Sealed user_data not written ({}): it holds a secret, and gantry keeps only its keyed hash. \
             Terraform's refresh reads the instance's user data from EC2 and records its SHA-1; the plan then \
             compares that with the SHA-1 of the configuration's user_data: no change and no replacement \
             when they match. Keep the refresh on (no -refresh=false) for that first plan.",
            user_data.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
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
