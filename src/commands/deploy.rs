//! `gantry deploy`, `gantry releases` and `gantry rollback`: settings and
//! state outputs resolved, the deploy lock taken, the image and the contract
//! checked before any host is touched, then the release rolled out (see
//! crate::deploy) and recorded in the environment's release history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Exit, Ui};
use crate::aws::AwsCtx;
use crate::cli::{DeployArgs, Global, LockArgs, ReleasesArgs, RollbackArgs};
use crate::config::settings::{DeploySettings, OutputOr, Settings, TransportKind};
use crate::contract;
use crate::deploy::image::{self, Repository};
use crate::deploy::releases::{History, Kind, Outcome, Release};
use crate::deploy::transport::{LocalTransport, SshOptions, SshTransport, SsmOptions, SsmTransport, Transport};
use crate::deploy::{frontend, humanize, Progress, Secrets, Target};
use crate::diag::Diagnostic;
use crate::state::{Backend, HeldLock, OutputState, StateError};

/// A failure already worth one message to the user.
struct Stop(Diagnostic);

impl<E: std::fmt::Display> From<E> for Stop {
    fn from(e: E) -> Stop {
        Stop(Diagnostic::error(e.to_string()))
    }
}

fn stop(summary: impl Into<String>, detail: impl Into<String>) -> Stop {
    Stop(Diagnostic::error(summary).detail(detail))
}

pub async fn deploy(global: &Global, ui: &Ui, args: DeployArgs) -> Exit {
    interruptible(ui, run_deploy(global, ui, args)).await
}

pub async fn rollback(global: &Global, ui: &Ui, args: RollbackArgs) -> Exit {
    interruptible(ui, run_rollback(global, ui, args)).await
}

/// Runs a deploy-like command until it ends or Ctrl-C. An interrupted run is
/// dropped where it is: its host script is killed (kill_on_drop), the deploy
/// lock released, and nothing recorded, since no one knows what the hosts
/// are running; the message says how to find out and recover.
async fn interruptible(ui: &Ui, work: impl std::future::Future<Output = Result<Exit, Stop>>) -> Exit {
    tokio::select! {
        result = work => finish(ui, result),
        Ok(()) = tokio::signal::ctrl_c() => {
            ui.error(Diagnostic::error("Interrupted: the deploy stopped where it was; the deploy lock is released").detail(
                "A host may be between releases. Deploy again (gantry deploy --tag TAG), or put the last healthy \
                 release back with gantry rollback; gantry releases lists them. Nothing was recorded for this run.",
            ));
            Exit::Child(130)
        }
    }
}

fn finish(ui: &Ui, result: Result<Exit, Stop>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(Stop(d)) => {
            ui.error(d);
            Exit::Failed
        }
    }
}

/// What every deploy-like command starts from.
struct Session {
    stack_dir: PathBuf,
    settings: DeploySettings,
    contract: Vec<contract::ContractKey>,
    backend: Box<dyn Backend>,
    outputs: BTreeMap<String, OutputState>,
    aws: AwsCtx,
    progress: Progress,
}

async fn open(global: &Global, ui: &Ui) -> Result<Session, Stop> {
    let all = Settings::load(&global.stack).map_err(|(sources, diags)| {
        ui.report(&diags, &sources);
        Stop(Diagnostic::error("gantry.hcl has errors"))
    })?;
    let settings = all.deploy_for(&global.env);
    if settings == DeploySettings::default() {
        return Err(stop(
            format!("{} has no deploy block", global.stack.join("gantry.hcl").display()),
            "Add one to say how the app is released; docs/deploy.md has an example.",
        ));
    }
    let backend = super::backend_with(global, &super::stack_name_of(global), &all.env(&global.env)).await;
    let state = backend.read().await?.ok_or_else(|| {
        stop(
            format!("The environment {} has no state yet", global.env),
            format!("Apply it first: gantry apply -s {} -e {}", global.stack.display(), global.env),
        )
    })?;
    Ok(Session {
        stack_dir: global.stack.clone(),
        settings,
        contract: all.contract,
        backend,
        outputs: state.outputs,
        aws: AwsCtx::load(None).await,
        progress: Progress::new(ui.color_err),
    })
}

impl Session {
    fn output_string(&self, name: &str) -> Result<String, Stop> {
        match self.outputs.get(name).map(|o| &o.value) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => {
                Err(stop(format!("The output \"{name}\" is not a string"), "gantry.hcl names it in the deploy block."))
            }
            None => Err(stop(
                format!("The state has no output \"{name}\""),
                "gantry.hcl's deploy block names it; add the output to the stack and apply.",
            )),
        }
    }

    fn string(&self, setting: Option<&OutputOr<String>>, what: &str) -> Result<String, Stop> {
        match setting {
            Some(OutputOr::Literal(s)) => Ok(s.clone()),
            Some(OutputOr::Output(name)) => self.output_string(name),
            None => Err(stop(
                format!("The deploy block does not say the {what}"),
                format!("Set {what} (or {what}_output, a state output's name) in gantry.hcl."),
            )),
        }
    }

    fn required<'a, T>(&self, value: &'a Option<T>, what: &str) -> Result<&'a T, Stop> {
        value.as_ref().ok_or_else(|| {
            stop(format!("The deploy block does not say the {what}"), "See docs/deploy.md for the deploy block.")
        })
    }

    fn hosts(&self) -> Result<Vec<String>, Stop> {
        if self.settings.transport == Some(TransportKind::Local) {
            return Ok(vec!["localhost".to_string()]);
        }
        let hosts = match self.required(&self.settings.hosts, "hosts")? {
            OutputOr::Literal(h) => h.clone(),
            OutputOr::Output(name) => match self.outputs.get(name).map(|o| &o.value) {
                Some(serde_json::Value::String(s)) => vec![s.clone()],
                Some(serde_json::Value::Array(items)) => {
                    items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()
                }
                _ => {
                    return Err(stop(
                        format!("The state has no string or list output \"{name}\""),
                        "gantry.hcl's hosts_output names it.",
                    ))
                }
            },
        };
        if hosts.is_empty() || hosts.iter().any(|h| h.is_empty() || h.starts_with('-')) {
            return Err(stop("The hosts list is empty or holds an invalid host", format!("{hosts:?}")));
        }
        Ok(hosts)
    }

    fn path(&self, relative: &str) -> PathBuf {
        expand_home(relative).unwrap_or_else(|| self.stack_dir.join(relative))
    }

    fn transport(&self) -> Result<Box<dyn Transport>, Stop> {
        Ok(match self.required(&self.settings.transport, "transport")? {
            TransportKind::Local => Box::new(LocalTransport),
            TransportKind::Ssh => {
                let ssh = self.settings.ssh.clone().unwrap_or_default();
                let known_hosts = ssh.known_hosts.as_deref().ok_or_else(|| {
                    stop(
                        "The ssh transport needs a known_hosts file",
                        "Host keys are always checked. Add to the deploy block:\n\nssh {\n  known_hosts = \"deploy/known_hosts\"\n}\n\nwith lines from `ssh-keyscan HOST` checked against the host's real key.",
                    )
                })?;
                for (what, path) in
                    [("known_hosts", Some(known_hosts)), ("identity_file", ssh.identity_file.as_deref())]
                {
                    // ssh splits option values on whitespace and expands % and ${} in them.
                    if path.is_some_and(|p| p.contains(|c: char| c.is_whitespace() || "%$\"'".contains(c))) {
                        return Err(stop(
                            format!("The ssh {what} path cannot hold spaces, quotes, % or $"),
                            "ssh would read it differently; move the file to a plain path.",
                        ));
                    }
                }
                let known_hosts = self.path(known_hosts);
                if !known_hosts.is_file() {
                    return Err(stop(
                        format!("The known_hosts file {} does not exist", known_hosts.display()),
                        "gantry.hcl's ssh block names it.",
                    ));
                }
                Box::new(SshTransport {
                    options: SshOptions {
                        user: ssh.user,
                        port: ssh.port,
                        identity_file: ssh.identity_file.map(|f| self.path(&f)),
                        known_hosts,
                        connect_timeout: 15,
                    },
                })
            }
            TransportKind::Ssm => Box::new(SsmTransport {
                aws: self.aws.clone(),
                options: SsmOptions { poll_interval: Duration::from_secs(2), timeout: Duration::from_secs(15 * 60) },
            }),
        })
    }

    fn repository(&self) -> Result<Repository, Stop> {
        let url = self.string(self.settings.image.as_ref(), "image")?;
        Repository::parse(&url, self.settings.registry.as_deref()).ok_or_else(|| {
            stop(format!("\"{url}\" is not an image repository"), "Expected REGISTRY/NAME, as ECR's repository_url.")
        })
    }

    /// Takes the deploy lock, waiting up to `--lock-timeout`.
    async fn lock(&self, operation: &str, args: &LockArgs) -> Result<Box<dyn HeldLock>, Stop> {
        let deadline = args.lock_timeout.map(|t| Instant::now() + t);
        let mut told = false;
        loop {
            match self.backend.lock_named("deploy", operation).await {
                Ok(lock) => return Ok(lock),
                Err(StateError::Locked(info)) => {
                    let waiting = deadline.is_some_and(|d| Instant::now() < d);
                    if !waiting {
                        return Err(stop(
                            format!("Another deploy holds the deploy lock: {info}"),
                            "Wait for it to finish, or pass --lock-timeout 5m to wait. If its process is gone, \
                             remove the lock with: gantry force-unlock ID (the lock ID above).",
                        ));
                    }
                    if !told {
                        self.progress.step(&format!("waiting for the deploy lock held by {}", info.who));
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The contract checked against the SSM parameters the release will
    /// run with: today's, or the versions in `pinned` (a rollback to a
    /// release that recorded them). Any problem stops the deploy here,
    /// before a host is touched.
    async fn environment(&self, pinned: Option<&BTreeMap<String, i64>>) -> Result<Environment, Stop> {
        let path = self.string(self.settings.ssm_path.as_ref(), "ssm_path")?;
        let today = super::exec::read_path(&self.aws, &path).await?;
        let params = match pinned {
            None => today,
            Some(versions) => self.pinned_environment(&path, versions, &today).await?,
        };
        let mut problems = contract::check(&self.contract, &params);
        for (key, setting) in &params {
            if let Err(e) = crate::deploy::script::check_value(key, &setting.value) {
                problems.push(contract::Problem {
                    key: key.clone(),
                    message: format!("cannot be passed to the app: {}", e.reason),
                });
            }
        }
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| format!("  {} {}", p.key, p.message)).collect();
            return Err(stop(
                format!("The environment under {path} does not meet the app's contract; no host was touched"),
                format!("{}\n\nFix the parameters (aws ssm put-parameter ...) and deploy again.", list.join("\n")),
            ));
        }
        let checked =
            if self.contract.is_empty() { "no contract".to_string() } else { format!("{} keys", params.len()) };
        self.progress.ok(&format!("contract: {checked} under {path} (values not shown)"));
        let secrets = params
            .iter()
            .filter(|(key, setting)| setting.encrypted || self.contract.iter().any(|c| c.secret && c.matches(key)))
            .map(|(_, setting)| setting.value.clone())
            .collect();
        let versions = params.iter().map(|(k, s)| (k.clone(), s.version)).collect();
        Ok(Environment { path, values: params.into_iter().map(|(k, s)| (k, s.value)).collect(), secrets, versions })
    }

    /// The parameters at the versions a release ran with, read by
    /// `NAME:VERSION` (SSM's current values are left alone); says which
    /// keys differ from today's.
    async fn pinned_environment(
        &self,
        path: &str,
        versions: &BTreeMap<String, i64>,
        today: &BTreeMap<String, contract::Setting>,
    ) -> Result<BTreeMap<String, contract::Setting>, Stop> {
        let (params, gone) = super::exec::read_versions(&self.aws, path, versions).await?;
        if !gone.is_empty() {
            return Err(stop(
                format!(
                    "SSM no longer holds the versions of {} this release ran with; no host was touched",
                    gone.join(", ")
                ),
                "SSM keeps the last 100 versions of a parameter (and none of a deleted one). \
                 gantry deploy --tag TAG releases the tag with today's values instead.",
            ));
        }
        let mut differ = Vec::new();
        for (key, s) in &params {
            match today.get(key) {
                Some(t) if t.version == s.version => {}
                Some(t) => differ.push(format!("{key} (version {}; today {})", s.version, t.version)),
                None => differ.push(format!("{key} (version {}; deleted since)", s.version)),
            }
        }
        for key in today.keys().filter(|k| !params.contains_key(*k)) {
            differ.push(format!("{key} (added since; left out)"));
        }
        if differ.is_empty() {
            self.progress.ok("configuration: the release's own parameter versions, the same as today's");
        } else {
            self.progress.step(&format!(
                "configuration: the release's own parameter versions (SSM is not changed); different from today's: {}",
                differ.join(", ")
            ));
        }
        Ok(params)
    }

    /// Everything the hosts need for `tag`, the contract checked.
    async fn target(
        &self,
        repo: Repository,
        password: Option<image::Password>,
        pinned: Option<&BTreeMap<String, i64>>,
    ) -> Result<Target, Stop> {
        let transport = self.transport()?;
        let hosts = self.hosts()?;
        let service = self.required(&self.settings.service, "service")?.clone();
        let compose_path = self.path(self.required(&self.settings.compose_file, "compose_file")?);
        let compose = std::fs::read_to_string(&compose_path)
            .map_err(|e| stop(format!("Cannot read the compose file {}: {e}", compose_path.display()), ""))?;
        let health = self.required(&self.settings.health, "health check")?.clone();
        // The ssm transport's host reads today's parameters by path itself.
        let pinned = pinned.filter(|_| transport.carries_secrets());
        let Environment { path: ssm_path, values, secrets: secret_values, versions } = self.environment(pinned).await?;
        let secrets = if transport.carries_secrets() {
            Secrets::Inline { values, password }
        } else {
            // The host logs in by itself, where gantry would have.
            let ecr_region = repo.ecr.as_ref().map_or_else(|| self.aws.region.clone(), |r| r.region.clone());
            let ecr_region = password.is_some().then_some(ecr_region);
            Secrets::HostFetch { ssm_path, region: self.aws.region.clone(), ecr_region }
        };
        let proxy = self.settings.proxy.as_ref().filter(|p| p.enabled).map(|p| crate::deploy::Proxy {
            upstream_file: p.upstream_file.clone().unwrap_or_else(|| format!("/etc/nginx/gantry/{service}.conf")),
            reload: p.reload.clone(),
            ports: p.ports,
            drain: p.drain,
            singletons: self.settings.singleton.clone().unwrap_or_default(),
        });
        Ok(Target {
            proxy,
            versions,
            remote_dir: self.settings.remote_dir.clone().unwrap_or_else(|| format!(".gantry/{service}")),
            service,
            hosts,
            transport,
            compose,
            repo,
            health,
            secrets,
            secret_values,
        })
    }

    async fn frontend(&self) -> Result<(), Stop> {
        let Some(f) = &self.settings.frontend else { return Ok(()) };
        let bucket = self.string(Some(&f.bucket), "frontend bucket")?;
        let folder = self.path(&f.folder);
        self.progress.step(&format!("frontend: {} -> s3://{bucket}/{}", folder.display(), f.prefix));
        let report = frontend::sync(&self.aws.s3, &bucket, &f.prefix, &folder, &|line: &str| {
            self.progress.ok(line);
        })
        .await?;
        self.aws.count_calls(report.api_calls);
        self.progress.ok(&format!("frontend: {report}"));
        Ok(())
    }
}

async fn run_deploy(global: &Global, ui: &Ui, args: DeployArgs) -> Result<Exit, Stop> {
    let s = open(global, ui).await?;
    if args.frontend_only {
        if s.settings.frontend.is_none() {
            return Err(stop("The deploy block has no frontend block", "See docs/deploy.md."));
        }
        s.frontend().await?;
        return Ok(Exit::Ok);
    }
    let _lock = s.lock("deploy", &args.lock).await?;
    s.progress.ok(&format!("deploy lock of {} taken", global.env));
    let commit = git_commit();
    let tag = match &args.tag {
        Some(t) => t.clone(),
        None => commit
            .as_deref()
            .map(|c| c.chars().take(12).collect())
            .ok_or_else(|| stop("No tag to deploy", "The working directory is not a git checkout: pass --tag TAG."))?,
    };
    check_tag(&tag)?;
    let repo = s.repository()?;
    s.progress.step(&format!("release {tag} of {} to {}", repo.url(), global.env));
    let password = image::password(&s.aws, &repo).await?;
    if args.build {
        let build = s.settings.build.clone();
        let context = match (&args.build_context, &build) {
            (Some(dir), _) => dir.clone(),
            (None, Some(b)) => s.path(&b.context),
            (None, None) => {
                return Err(stop(
                    "--build needs a build context",
                    "Add build { context = \"..\" } to the deploy block, or pass --build-context DIR.",
                ))
            }
        };
        let dockerfile = build.and_then(|b| b.dockerfile).map(|f| context.join(f));
        let started = Instant::now();
        image::build_and_push(&context, dockerfile.as_deref(), &repo, &tag, password.as_ref(), &|line: &str| {
            s.progress.step(line)
        })
        .await?;
        s.progress.ok(&format!(
            "built and pushed {} and latest in {}",
            repo.reference(&tag),
            humanize(started.elapsed())
        ));
    }
    if !image::exists(&s.aws, &repo, &tag, password.as_ref()).await? {
        return Err(stop(
            format!("The image {} does not exist; no host was touched", repo.reference(&tag)),
            "Push it first, or pass --build to build and push it.",
        ));
    }
    s.progress.ok(&format!("image {} exists", repo.reference(&tag)));
    let target = s.target(repo, password, None).await?;
    let mut history = History::load(s.backend.as_ref()).await?;
    let outcome = roll_out_with_rollback(&s, &target, &tag, &history).await;
    let healthy = outcome.result == Outcome::Healthy;
    history.releases.push(record(&target, &tag, commit, Kind::Deploy, outcome));
    history.save(s.backend.as_ref()).await?;
    if !healthy {
        return Ok(Exit::Failed);
    }
    println!("Released {tag} to {} in {}: healthy.", global.env, s.progress.elapsed());
    if !args.skip_frontend {
        s.frontend().await?;
    }
    Ok(Exit::Ok)
}

async fn run_rollback(global: &Global, ui: &Ui, args: RollbackArgs) -> Result<Exit, Stop> {
    let s = open(global, ui).await?;
    let _lock = s.lock("rollback", &args.lock).await?;
    let mut history = History::load(s.backend.as_ref()).await?;
    let tag = match &args.to {
        Some(tag) if history.was_healthy(tag) => tag.clone(),
        Some(tag) => {
            return Err(stop(
                format!("{tag} never passed its health check in {}", global.env),
                "gantry rollback only puts back releases that were healthy here (gantry releases lists them); \
                 use gantry deploy --tag to release another.",
            ))
        }
        None => match history.previous() {
            Some(r) => r.tag.clone(),
            None => {
                return Err(stop(
                    "There is no earlier healthy release to roll back to",
                    "gantry releases shows the history.",
                ))
            }
        },
    };
    let repo = s.repository()?;
    s.progress.step(&format!("rollback of {} to {tag}", global.env));
    let password = image::password(&s.aws, &repo).await?;
    if !image::exists(&s.aws, &repo, &tag, password.as_ref()).await? {
        return Err(stop(format!("The image {} no longer exists; no host was touched", repo.reference(&tag)), ""));
    }
    // The configuration the release ran with, when its record kept it.
    let pinned = history
        .releases
        .iter()
        .rev()
        .find(|r| r.tag == tag && r.result == Outcome::Healthy && !r.config.is_empty())
        .map(|r| r.config.clone());
    if pinned.is_some() && s.settings.transport == Some(TransportKind::Ssm) {
        s.progress.warn("the ssm transport's hosts read today's parameters themselves: the rollback runs with those");
    }
    let target = s.target(repo, password, pinned.as_ref()).await?;
    let outcome = match target.roll_out(&tag, &s.progress).await {
        Ok(()) => Rolled { result: Outcome::Healthy, rolled_back_to: None, note: String::new() },
        Err(failure) => {
            s.progress.warn(&failure.to_string());
            Rolled { result: Outcome::Failed, rolled_back_to: None, note: format!("{failure}") }
        }
    };
    let healthy = outcome.result == Outcome::Healthy;
    // The commit the release was built from, not the one checked out now.
    let commit = history.releases.iter().rev().find(|r| r.tag == tag).and_then(|r| r.commit.clone());
    history.releases.push(record(&target, &tag, commit, Kind::Rollback, outcome));
    history.save(s.backend.as_ref()).await?;
    if healthy {
        println!("Rolled {} back to {tag} in {}: healthy.", global.env, s.progress.elapsed());
        Ok(Exit::Ok)
    } else {
        Err(stop(format!("The rollback to {tag} failed its health check"), "gantry releases shows the history."))
    }
}

struct Rolled {
    result: Outcome,
    rolled_back_to: Option<String>,
    note: String,
}

/// Rolls `tag` out; when a host fails, puts the last healthy release back
/// on every host touched and checks it again.
async fn roll_out_with_rollback(s: &Session, target: &Target, tag: &str, history: &History) -> Rolled {
    let failure = match target.roll_out(tag, &s.progress).await {
        Ok(()) => return Rolled { result: Outcome::Healthy, rolled_back_to: None, note: String::new() },
        Err(f) => f,
    };
    s.progress.warn(&failure.to_string());
    // Through a proxy the failed host never took traffic: only the hosts
    // before it switched, and they are what needs the rollback.
    let touched = failure.touched - usize::from(failure.untouched);
    if touched == 0 {
        let serving = history.live().map(str::to_string);
        let kept = match &serving {
            Some(live) => format!("{live} kept serving"),
            None => "no earlier healthy release to roll back to".to_string(),
        };
        eprintln!("error: release {tag} failed ({}) and never took traffic; {kept}", failure.step);
        return Rolled { result: Outcome::Failed, rolled_back_to: serving, note: failure.to_string() };
    }
    let Some(good) = history.last_healthy(Some(tag)).map(|r| r.tag.clone()) else {
        let note = format!("{failure}; no earlier healthy release to roll back to");
        eprintln!("error: release {tag} failed and there is no earlier healthy release to roll back to");
        return Rolled { result: Outcome::Failed, rolled_back_to: None, note };
    };
    s.progress.step(&format!("rolling back to {good}, the last healthy release"));
    let touched = &target.hosts[..touched];
    let failed = target.roll_back_on(touched, &good, &s.progress).await;
    if failed.is_empty() {
        eprintln!("error: release {tag} failed ({}); {good} is serving again", failure.step);
        return Rolled { result: Outcome::Failed, rolled_back_to: Some(good), note: failure.to_string() };
    }
    let hosts: Vec<&str> = failed.iter().map(|f| f.host.as_str()).collect();
    eprintln!("error: release {tag} failed, and the rollback to {good} failed on {}", hosts.join(", "));
    let again: Vec<String> = failed.iter().map(ToString::to_string).collect();
    Rolled {
        result: Outcome::Failed,
        rolled_back_to: None,
        note: format!("{failure}; rollback to {good} failed: {}", again.join("; ")),
    }
}

fn record(target: &Target, tag: &str, commit: Option<String>, kind: Kind, r: Rolled) -> Release {
    Release {
        tag: tag.to_string(),
        image: target.repo.reference(tag),
        time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        who: who(),
        commit,
        kind,
        result: r.result,
        rolled_back_to: r.rolled_back_to,
        hosts: target.hosts.clone(),
        note: r.note,
        config: target.versions.clone(),
    }
}

/// The app's environment as a release runs with it.
struct Environment {
    path: String,
    values: BTreeMap<String, String>,
    /// The secret values, to scrub from what hosts print.
    secrets: Vec<String>,
    /// Each key's SSM version.
    versions: BTreeMap<String, i64>,
}

pub async fn releases(global: &Global, ui: &Ui, args: ReleasesArgs) -> Exit {
    let Ok(backend) = super::backend_for(global, ui, &super::stack_name_of(global)).await else { return Exit::Failed };
    let history = match History::load(backend.as_ref()).await {
        Ok(h) => h,
        Err(e) => {
            ui.error(Diagnostic::error(e.to_string()));
            return Exit::Failed;
        }
    };
    if args.json {
        let newest_first: Vec<&Release> = history.releases.iter().rev().collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "releases": newest_first })).unwrap_or_default()
        );
        return Exit::Ok;
    }
    if history.releases.is_empty() {
        println!("No releases in {} yet: gantry deploy -e {} releases one.", global.env, global.env);
        return Exit::Ok;
    }
    let live = history.live().map(str::to_string);
    println!("{:<14} {:<9} {:<8} {:<21} {:<20} {:<13} NOTE", "TAG", "KIND", "RESULT", "WHEN", "WHO", "COMMIT");
    for r in history.releases.iter().rev() {
        let kind = match r.kind {
            Kind::Deploy => "deploy",
            Kind::Rollback => "rollback",
        };
        let result = match r.result {
            Outcome::Healthy => "healthy",
            Outcome::Failed => "failed",
        };
        let mut note = match &r.rolled_back_to {
            Some(t) => format!("rolled back to {t}"),
            None => r.note.lines().next().unwrap_or_default().to_string(),
        };
        if live.as_deref() == Some(r.tag.as_str()) && r.result == Outcome::Healthy {
            note = if note.is_empty() { "live".into() } else { format!("live; {note}") };
        }
        let commit: String = r.commit.as_deref().unwrap_or("-").chars().take(12).collect();
        println!("{:<14} {:<9} {:<8} {:<21} {:<20} {:<13} {note}", r.tag, kind, result, r.time, r.who, commit);
    }
    Exit::Ok
}

/// Who released: user@host, and the GitHub user when a workflow runs it.
fn who() -> String {
    let local = crate::state::who();
    match std::env::var("GITHUB_ACTOR") {
        Ok(actor) if !actor.is_empty() && std::env::var_os("GITHUB_ACTIONS").is_some() => {
            format!("{actor} (GitHub Actions, {local})")
        }
        _ => local,
    }
}

/// The working directory's git commit, when it is a checkout.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "--verify", "HEAD"]).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let commit = text.trim();
    (out.status.success() && commit.len() >= 12 && commit.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| commit.to_string())
}

/// Docker's tag grammar: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn check_tag(tag: &str) -> Result<(), Stop> {
    let ok = tag.len() <= 128
        && tag.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(stop(format!("\"{tag}\" is not an image tag"), "Tags are letters, digits, _, . and -, up to 128."))
    }
}

fn expand_home(path: &str) -> Option<PathBuf> {
    let rest = path.strip_prefix("~/")?;
    std::env::var_os("HOME").map(|home| Path::new(&home).join(rest))
}
