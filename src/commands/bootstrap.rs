//! `gantry bootstrap`: from an empty account to remote state, OIDC roles for
//! CI and a workflow. Every step is idempotent: a second run changes nothing
//! and says so.

use std::path::{Path, PathBuf};

use super::{apply, settings, state_edit, Exit, Ui};
use crate::aws::AwsCtx;
use crate::bootstrap::{valid_repository, Params, Workflow, SETUP_GANTRY_DIR, SETUP_GANTRY_FILES, STACK_TF};
use crate::cli::{ApplyArgs, BootstrapArgs, Global, ImportArgs, VarArgs};
use crate::config::settings::BackendSettings;
use crate::diag::Diagnostic;
use crate::state::{Backend, LocalBackend};

const OIDC_ADDRESS: &str = "aws_iam_openid_connect_provider.github";

pub async fn bootstrap(global: &Global, ui: &Ui, args: BootstrapArgs) -> Exit {
    if !valid_repository(&args.github_repo) {
        ui.error(
            Diagnostic::error(format!("Invalid --github-repo {:?}", args.github_repo)).detail(
                "Give the repository as ORG/REPO, with no wildcard: the CI roles trust exactly that repository.",
            ),
        );
        return Exit::Failed;
    }
    let loaded = match super::load(global, ui) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let stack = loaded.stack.name.clone();
    let aws = AwsCtx::load(args.region.clone()).await;
    let account = match aws.account_id().await {
        Ok(account) => account,
        Err(e) => {
            ui.error(Diagnostic::error(format!("Cannot tell which AWS account to bootstrap: {e}")));
            return Exit::Failed;
        }
    };
    let region = aws.region.clone();
    let bucket = args.state_bucket.clone().unwrap_or_else(|| format!("gantry-state-{account}-{region}"));
    let github_environment = args.github_environment.clone().unwrap_or_else(|| global.env.clone());
    let params = Params {
        stack: &stack,
        stack_dir: &global.stack,
        env: &global.env,
        region: &region,
        state_bucket: &bucket,
        lock_table: &args.lock_table,
        github_repository: &args.github_repo,
        branch: &args.branch,
        github_environment: &github_environment,
    };
    println!("Bootstrapping {stack}/{} in account {account}, region {region}.\n", global.env);

    // 1. The bootstrap stack, beside the app's, with its own local state.
    let dir = global.stack.parent().unwrap_or(Path::new(".")).join(format!("{stack}-bootstrap"));
    let boot = Global { stack: dir.clone(), ..global.clone() };
    let boot_stack = crate::config::stack_name(&dir);
    let boot_state = LocalBackend::new(&global.state_dir, &boot_stack, &global.env);
    let state_before = boot_state.read_sync().ok().flatten();
    let serial_before = state_before.as_ref().map(|s| s.serial);

    // 2. What an account holds once (the GitHub OIDC provider) and what
    // environments share (the state bucket and lock table): created when
    // missing, adopted when nobody (or this very stack) owns it, and referred
    // to, never adopted, when another stack or environment does.
    let in_state = |addr: &str| {
        let indexed = format!("{addr}[0]");
        state_before.as_ref().is_some_and(|s| {
            s.resources.iter().any(|r| [addr, indexed.as_str()].contains(&r.address.to_string().as_str()))
        })
    };
    let provider_arn = existing_github_provider(&aws).await;
    let shared = [
        SharedObject {
            variable: "manage_github_oidc_provider",
            address: OIDC_ADDRESS,
            what: "the account's GitHub OIDC provider",
            id: provider_arn,
        },
        SharedObject {
            variable: "manage_state_bucket",
            address: "aws_s3_bucket.state",
            what: "the state bucket",
            id: exists_bucket(&aws, &bucket).await.then(|| bucket.clone()),
        },
        SharedObject {
            variable: "manage_lock_table",
            address: "aws_dynamodb_table.locks",
            what: "the lock table",
            id: exists_table(&aws, &args.lock_table).await.then(|| args.lock_table.clone()),
        },
    ];
    let mut manage = Vec::new();
    let mut adopt = Vec::new();
    for object in &shared {
        let decision = match &object.id {
            _ if in_state(object.address) => Decision::Manage,
            None => Decision::Manage,
            Some(id) => {
                let rtype = object.address.split('.').next().unwrap_or_default();
                let Some(rt) = crate::resources::resource_type(rtype) else { return Exit::Failed };
                match crate::ownership::owner_of(rt, &aws, id).await {
                    Ok(Some(owner)) if owner.is_other_than(&boot_stack, &global.env) => Decision::Refer(owner),
                    Ok(_) => Decision::Adopt(id.clone()),
                    Err(e) => {
                        ui.error(Diagnostic::error(format!("Cannot tell who owns {} {id}: {e}", object.what)));
                        return Exit::Failed;
                    }
                }
            }
        };
        match decision {
            Decision::Manage => manage.push((object.variable, true)),
            Decision::Adopt(id) => {
                manage.push((object.variable, true));
                adopt.push((object, id));
            }
            Decision::Refer(owner) => {
                println!(
                    "Using {} {}, which {owner} manages: this environment refers to it and never changes or deletes it.",
                    object.what,
                    object.id.as_deref().unwrap_or_default()
                );
                manage.push((object.variable, false));
            }
        }
    }
    let mut changed = Vec::new();
    match write_bootstrap_stack(&dir, &global.env, &params, &manage) {
        Ok(written) => changed.extend(written),
        Err(e) => {
            ui.error(Diagnostic::error(format!("Cannot write the bootstrap stack in {}: {e}", dir.display())));
            return Exit::Failed;
        }
    }
    for (object, id) in adopt {
        // The template of this gantry repeats shared objects with count; a
        // main.tf written by an older one declares them single.
        let counted = std::fs::read_to_string(dir.join("main.tf")).is_ok_and(|t| t.contains(object.variable));
        let address = if counted { format!("{}[0]", object.address) } else { object.address.to_string() };
        println!("Adopting {} {id}.", object.what);
        let import = ImportArgs { address, id, vars: VarArgs::default() };
        if let Exit::Failed = state_edit::import(&boot, ui, import).await {
            return Exit::Failed;
        }
    }

    // 3. Bucket, lock table, provider, roles: an ordinary apply.
    println!("\n== Bootstrap stack {} ==\n", dir.display());
    let apply_args = ApplyArgs { auto_approve: args.auto_approve, parallelism: 10, ..ApplyArgs::default() };
    if let Exit::Failed = apply::apply(&boot, ui, apply_args, false).await {
        return Exit::Failed;
    }
    let state = match boot_state.read_sync() {
        Ok(Some(s)) => s,
        _ => {
            ui.error(Diagnostic::error("The bootstrap stack has no state after apply"));
            return Exit::Failed;
        }
    };
    if state.serial != serial_before.unwrap_or(0) {
        changed.push(format!("applied the bootstrap stack ({})", dir.display()));
    }
    let output = |name: &str| state.outputs.get(name).and_then(|o| o.value.as_str()).unwrap_or_default().to_string();
    let (apply_role, plan_role) = (output("apply_role_arn"), output("plan_role_arn"));

    // 4. The environment's state moves to the bucket.
    println!("\n== Remote state ==\n");
    let settings = match settings(global, ui) {
        Ok(s) => s,
        Err(e) => return e,
    };
    match &settings.env(&global.env).backend {
        BackendSettings::S3 { bucket: configured, .. } => {
            println!("gantry.hcl already keeps {}'s state in s3://{configured}: left as it is.", global.env);
        }
        // A block without a backend (say, only `protect = true`): a second
        // block would make the file invalid, so the user adds the backend.
        BackendSettings::Local if settings.environments.contains_key(&global.env) => {
            ui.error(
                Diagnostic::error(format!(
                    "gantry.hcl has an environment \"{}\" block without an s3 backend",
                    global.env
                ))
                .detail(format!(
                    "Add this inside that block, then run bootstrap again:\n\n  backend \"s3\" {{\n    bucket     = \"{bucket}\"\n    key        = \"{stack}/{}.json\"\n    region     = \"{region}\"\n    lock_table = \"{}\"\n  }}",
                    global.env, args.lock_table
                )),
            );
            return Exit::Failed;
        }
        BackendSettings::Local => {
            let path = global.stack.join(crate::config::settings::FILE_NAME);
            if let Err(e) = append(&path, &params.environment_block()) {
                ui.error(Diagnostic::error(format!("Cannot write {}: {e}", path.display())));
                return Exit::Failed;
            }
            println!("Added environment \"{}\" with backend s3://{bucket} to {}.", global.env, path.display());
            changed.push(format!("configured remote state in {}", path.display()));
        }
    }
    let local = LocalBackend::new(&global.state_dir, &stack, &global.env);
    if local.path.exists() {
        if let Exit::Failed = state_edit::migrate(global, ui).await {
            return Exit::Failed;
        }
        changed.push("migrated the environment's state".into());
    } else {
        println!("No local state of {stack}/{} to migrate.", global.env);
    }

    // 5. The workflow, and the action it installs gantry with.
    let mut secret_names = Vec::new();
    let mut release_url_unknown = false;
    if !args.no_workflow {
        println!("\n== GitHub Actions ==\n");
        let (release_url, known) = release_url();
        release_url_unknown = !known;
        let workflow = Workflow {
            params: &params,
            path: &args.workflow,
            apply_role_arn: &apply_role,
            plan_role_arn: &plan_role,
            sensitive_variables: required_sensitive_variables(&loaded.stack.root),
            module_dirs: module_dirs(&loaded.stack.root),
            release_url,
            version: env!("CARGO_PKG_VERSION"),
        };
        secret_names =
            workflow.sensitive_variables.iter().map(|v| (v.clone(), workflow.secret_name(v))).collect::<Vec<_>>();
        let mut files = vec![(args.workflow.clone(), workflow.render())];
        files.extend(
            SETUP_GANTRY_FILES.iter().map(|(name, text)| (Path::new(SETUP_GANTRY_DIR).join(name), text.to_string())),
        );
        for (path, text) in files {
            match write_if_absent(&path, &text) {
                Ok(true) => {
                    println!("Wrote {}.", path.display());
                    changed.push(format!("wrote {}", path.display()));
                }
                Ok(false) => println!("{} exists: left as it is.", path.display()),
                Err(e) => {
                    ui.error(Diagnostic::error(format!("Cannot write {}: {e}", path.display())));
                    return Exit::Failed;
                }
            }
        }
    }

    println!("\n== Next steps ==\n");
    if changed.is_empty() {
        println!("Bootstrap of {stack}/{} is up to date: nothing changed.\n", global.env);
    }
    println!("State:       s3://{bucket}/{stack}/{}.json (lock table {})", global.env, args.lock_table);
    println!("Apply role:  {apply_role}\n             trusted for {}", params.apply_subject());
    println!("Plan role:   {plan_role}\n             trusted for {}", params.plan_subject());
    println!(
        "\n1. In GitHub, create the environment \"{github_environment}\" (Settings > Environments) and add required reviewers."
    );
    let mut step = 2;
    for (variable, secret) in &secret_names {
        println!(
            "{step}. Add the repository secret {secret} (the stack's sensitive variable {variable}; the plan of a pull \
             request needs it as much as the apply): gh secret set {secret}"
        );
        step += 1;
    }
    if release_url_unknown {
        println!(
            "{step}. This gantry is a development build that does not know where its releases are: add the repository \
             variable GANTRY_RELEASE_URL (the base URL of gantry's releases), or set GANTRY_RELEASE_URL when you run bootstrap."
        );
        step += 1;
    }
    println!(
        "{step}. Commit {}, {}, {} and {SETUP_GANTRY_DIR}.",
        dir.display(),
        global.stack.join(crate::config::settings::FILE_NAME).display(),
        args.workflow.display()
    );
    println!("{}. Keep the bootstrap state safe: {} (it holds no secrets).", step + 1, boot_state.location());
    Exit::Ok
}

/// One object an account or its environments share.
struct SharedObject {
    /// The bootstrap stack's variable that says whether it manages it.
    variable: &'static str,
    address: &'static str,
    what: &'static str,
    /// Its id, when it exists.
    id: Option<String>,
}

enum Decision {
    /// In this stack's state already, or missing: this stack manages it.
    Manage,
    /// Exists, and no other stack owns it: imported, then managed here.
    Adopt(String),
    /// Another stack or environment owns it: referred to, never managed.
    Refer(crate::ownership::Owner),
}

/// Writes main.tf (only if missing: users may edit it) and the tfvars
/// (always: they are derived from the arguments and from who manages the
/// shared objects). Returns what changed.
fn write_bootstrap_stack(
    dir: &Path,
    env: &str,
    params: &Params<'_>,
    manage: &[(&str, bool)],
) -> std::io::Result<Vec<String>> {
    let mut changed = Vec::new();
    std::fs::create_dir_all(dir.join("envs"))?;
    if write_if_absent(&dir.join("main.tf"), STACK_TF)? {
        changed.push(format!("wrote {}", dir.join("main.tf").display()));
    }
    let main_tf = std::fs::read_to_string(dir.join("main.tf"))?;
    let mut text = params.tfvars();
    for (variable, value) in manage {
        if main_tf.contains(&format!("variable \"{variable}\"")) {
            text.push_str(&format!("{variable} = {value}\n"));
        } else if !value {
            // A main.tf from an older gantry cannot refer to the object: it
            // would adopt what another stack owns.
            return Err(std::io::Error::other(format!(
                "{} has no variable \"{variable}\", so it cannot refer to a shared object another stack owns; \
                 move it aside and run bootstrap again to write the current template",
                dir.join("main.tf").display()
            )));
        }
    }
    let tfvars: PathBuf = dir.join("envs").join(format!("{env}.tfvars"));
    if std::fs::read_to_string(&tfvars).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&tfvars, text)?;
        changed.push(format!("wrote {}", tfvars.display()));
    }
    Ok(changed)
}

/// Where CI downloads gantry from: `GANTRY_RELEASE_URL` when bootstrap runs,
/// else the one a release build was made with; a development build knows
/// none, and the workflow then reads the repository variable. The flag says
/// whether a URL was known.
fn release_url() -> (String, bool) {
    let given = std::env::var("GANTRY_RELEASE_URL").ok().filter(|u| !u.trim().is_empty());
    match given.or(option_env!("GANTRY_RELEASE_URL").map(str::to_string)) {
        Some(url) => (url, true),
        None => ("${{ vars.GANTRY_RELEASE_URL }}".to_string(), false),
    }
}

/// Sensitive variables without a default: CI must pass each (a sensitive
/// value never belongs in a tfvars file). Ones with a default stay optional.
fn required_sensitive_variables(root: &crate::config::Module) -> Vec<String> {
    root.variables.values().filter(|v| v.sensitive && v.default.is_none()).map(|v| v.name.clone()).collect()
}

/// The folders of every local module the stack calls, at any depth.
fn module_dirs(module: &crate::config::Module) -> Vec<PathBuf> {
    module
        .calls
        .values()
        .flat_map(|call| std::iter::once(call.module.dir.clone()).chain(module_dirs(&call.module)))
        .collect()
}

fn write_if_absent(path: &Path, text: &str) -> std::io::Result<bool> {
    if path.exists() {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text)?;
    Ok(true)
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(text.as_bytes())
}

async fn exists_bucket(aws: &AwsCtx, bucket: &str) -> bool {
    aws.count_call();
    aws.s3.head_bucket().bucket(bucket).send().await.is_ok()
}

async fn exists_table(aws: &AwsCtx, table: &str) -> bool {
    aws.count_call();
    aws.dynamodb.describe_table().table_name(table).send().await.is_ok()
}

/// The ARN of the account's GitHub OIDC provider, if it has one.
async fn existing_github_provider(aws: &AwsCtx) -> Option<String> {
    aws.count_call();
    let list = aws.iam.list_open_id_connect_providers().send().await.ok()?;
    list.open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| arn.ends_with(crate::trust_policy::GITHUB_ISSUER))
        .map(str::to_string)
}
