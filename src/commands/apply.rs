//! `gantry apply` and `gantry destroy`: plan, show, ask, apply.

use std::io::{BufRead, IsTerminal, Write};

use tokio::sync::watch;

use super::{backend_with, load, resolve_vars, settings, tfvars_path, Exit, Ui};
use crate::apply::{apply as run_apply, ApplyInputs, Event};
use crate::cli::{ApplyArgs, Global};
use crate::diag::Diagnostic;
use crate::plan::saved::{Inputs, SavedPlan};
use crate::plan::walk::{plan as run_plan, PlanInputs, PlanOptions};
use crate::plan::Action;
use crate::render::text::TextRenderer;

pub async fn apply(global: &Global, ui: &Ui, mut args: ApplyArgs, destroy: bool) -> Exit {
    let verb = if destroy { "destroy" } else { "apply" };
    let saved = match &args.plan_file {
        Some(path) => match SavedPlan::read(path) {
            Ok(saved) => Some(saved),
            Err(e) => {
                ui.error(Diagnostic::error(format!("Cannot apply {}: {e}", path.display())));
                return Exit::Failed;
            }
        },
        None => None,
    };
    // A saved plan knows its stack folder and environment: `apply FILE`
    // needs neither, and a -s/-e given anyway must agree (checked below).
    let mut global = global.clone();
    if let Some(saved) = &saved {
        if !global.stack_given {
            if let Some(dir) = &saved.stack_dir {
                global.stack = dir.into();
            }
        }
        if !global.env_given {
            global.env = saved.environment.clone();
        }
        if args.vars.vars.is_empty() && args.vars.var_file.is_none() {
            args.vars.vars = saved.var_args.clone();
            args.vars.var_file = saved.var_file.as_ref().map(Into::into);
        }
    }
    let global = &global;
    let settings = match settings(global, ui) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let env_settings = settings.env(&global.env);
    // A saved plan was reviewed already; anything else needs a yes (or, in a
    // protected environment, its name).
    let approved = args.auto_approve || args.plan_file.is_some() || args.refresh_only;
    if !approved && !args.terraform.input {
        ui.error(
            Diagnostic::error(format!("{verb} needs approval, and -input=false forbids asking"))
                .detail("Pass -auto-approve (for CI), or apply a reviewed plan file: gantry plan -out=FILE, then gantry apply FILE."),
        );
        return Exit::Failed;
    }
    if !approved && !std::io::stdin().is_terminal() {
        let answer = if env_settings.protect {
            format!("the environment's name (\"{}\" is protected in gantry.hcl)", global.env)
        } else {
            "yes".to_string()
        };
        ui.error(
            Diagnostic::error(format!("{verb} needs approval, and there is no terminal to ask on"))
                .detail(format!("Run it in a terminal to review the plan and type {answer}, pass --auto-approve (for CI), or apply a reviewed plan file: gantry plan --out FILE, then gantry apply FILE.")),
        );
        return Exit::Failed;
    }
    if let Some(saved) = saved.as_ref().filter(|s| destroy && !s.options.destroy) {
        let _ = saved;
        ui.error(
            Diagnostic::error("gantry destroy was given a plan that is not a destroy plan").detail(
                "Apply it with gantry apply FILE, or make a destroy plan with gantry plan --destroy --out FILE.",
            ),
        );
        return Exit::Failed;
    }
    let options = match &saved {
        Some(saved) => match saved.plan_options() {
            Ok(o) => o,
            Err(e) => {
                ui.error(Diagnostic::error(e.to_string()));
                return Exit::Failed;
            }
        },
        None => {
            let targets = match super::plan::parse_targets(ui, &args.targets) {
                Ok(t) => t,
                Err(e) => return e,
            };
            let replace = match super::plan::parse_targets(ui, &args.replace) {
                Ok(t) => t,
                Err(e) => return e,
            };
            PlanOptions { refresh: !args.no_refresh, refresh_only: args.refresh_only, destroy, targets, replace }
        }
    };
    let verb = if options.destroy { "destroy" } else { verb };
    let mut loaded = match load(global, ui) {
        Ok(l) => l,
        Err(e) => return e,
    };
    super::warn_about(ui, &loaded.stack);
    let tfvars = match tfvars_path(global, &loaded.stack, &args.vars) {
        Ok(t) => t,
        Err(d) => {
            ui.error(d);
            return Exit::Failed;
        }
    };
    let values = match resolve_vars(global, ui, &loaded.stack, &args.vars) {
        Ok(v) => v,
        Err(e) => return e,
    };
    if let Err(e) = loaded.expand(ui, &values) {
        return e;
    }
    let backend = backend_with(global, &loaded.stack.name, &env_settings).await;
    // The lock is held from before the plan until the state is final.
    let lock = match take_lock(backend.as_ref(), verb, &args.terraform).await {
        Ok(lock) => lock,
        Err(e) => {
            ui.error(Diagnostic::error(format!("Cannot {verb}: {e}")));
            return Exit::Failed;
        }
    };
    let prior = match backend.read().await {
        Ok(p) => p,
        Err(e) => {
            ui.error(Diagnostic::error(e.to_string()));
            return Exit::Failed;
        }
    };
    if let Some(saved) = &saved {
        let inputs = Inputs {
            stack: &loaded.stack,
            env: &global.env,
            tfvars: tfvars.as_deref(),
            vars: &values,
            state: prior.as_ref(),
            options: &options,
        };
        if let Err(e) = saved.check_inputs(&inputs) {
            ui.error(Diagnostic::error(format!("The saved plan cannot be applied: {e}")));
            return Exit::Failed;
        }
    }
    let inputs = PlanInputs { stack: &loaded.stack, graph: &loaded.graph, env: &global.env, vars: values.clone() };
    let planned = match run_plan(inputs, prior, &options).await {
        Ok(p) => p,
        Err(diags) => {
            ui.report(&diags, &loaded.stack.sources);
            return Exit::Failed;
        }
    };
    ui.report(&planned.warnings, &loaded.stack.sources);
    if let Some(saved) = &saved {
        if let Err(e) = saved.check_actions(&planned.plan) {
            ui.error(Diagnostic::error(format!("The saved plan cannot be applied: {e}")));
            return Exit::Failed;
        }
    }
    let renderer = TextRenderer { color: ui.color };
    print!("{}", renderer.render(&planned.plan));
    for addr in &planned.adopted {
        println!(
            "Adopted {addr}: found the object an interrupted run created; recorded it instead of creating it again."
        );
    }
    let has_work = planned.plan.has_changes() || !planned.plan.drift.is_empty() || !planned.adopted.is_empty();
    if !has_work {
        return Exit::Ok;
    }
    if !approved && planned.plan.has_changes() {
        let (stack, env, destroy, protect) =
            (loaded.stack.name.clone(), global.env.clone(), options.destroy, env_settings.protect);
        let answer = tokio::task::spawn_blocking(move || confirm(&stack, &env, destroy, protect));
        let yes = tokio::select! {
            answer = answer => answer.unwrap_or(false),
            Ok(()) = tokio::signal::ctrl_c() => {
                // The prompt's thread stays blocked on the terminal, so the
                // process ends here, after giving the lock back.
                drop(lock);
                eprintln!("\n{verb} cancelled: nothing was changed.");
                std::process::exit(130);
            }
        };
        if !yes {
            eprintln!("\n{verb} cancelled: nothing was changed.");
            return Exit::Failed;
        }
    }

    let (cancel_tx, cancel_rx) = watch::channel(false);
    let (abort_tx, abort_rx) = tokio::sync::oneshot::channel::<()>();
    let interrupt = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nInterrupt received: finishing operations in flight and saving state. Press Ctrl-C again to abort at once.");
            let _ = cancel_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("Second interrupt: aborting. State is saved after every operation; the next plan adopts anything left half-done.");
                let _ = abort_tx.send(());
            }
        }
    });
    let inputs = ApplyInputs {
        stack: &loaded.stack,
        graph: &loaded.graph,
        env: &global.env,
        vars: values,
        backend: backend.as_ref(),
        parallelism: args.parallelism,
    };
    let total = planned.plan.changes.iter().filter(|c| c.action != Action::NoOp).count() + planned.plan.deposed.len();
    let in_flight = InFlight::new(live_progress(), total);
    let still = in_flight.report_every(still_interval());
    let mut print_event = |e: Event| match e {
        Event::Started { addr, action } => {
            in_flight.started(&addr.to_string(), action);
            in_flight.say(&format!("{addr}: {}...", progressive(action)), false);
        }
        Event::Finished { addr, action, elapsed, id } => {
            in_flight.ended(&addr.to_string());
            in_flight.say(
                &format!(
                    "{addr}: {} after {}s{}",
                    completed(action),
                    elapsed.as_secs(),
                    id.map(|i| format!(" [id={i}]")).unwrap_or_default()
                ),
                false,
            )
        }
        Event::Failed { addr, action, error } => {
            in_flight.ended(&addr.to_string());
            in_flight.say(&format!("{addr}: {} failed: {error}", progressive(action)), true)
        }
        Event::Interrupted { in_flight: n } => {
            in_flight.say(&format!("Stopping: waiting for {n} operation(s) in flight."), true)
        }
    };
    let result = tokio::select! {
        result = run_apply(inputs, planned, cancel_rx, &mut print_event) => result,
        Ok(()) = abort_rx => {
            // The operations in flight are dropped where they are (each
            // create was journaled and tagged first, so the next plan adopts
            // what they made); the lock is given back, then the run ends.
            drop(lock);
            std::process::exit(130);
        }
    };
    interrupt.abort();
    still.abort();
    in_flight.clear_status();
    let report = match result {
        Ok(r) => r,
        Err(e @ crate::state::StateError::Conflict { .. }) => {
            ui.error(Diagnostic::error(format!("Saving state failed: {e}")).detail(
                "Someone else wrote this environment's state while this run held the lock (by hand, or after a force-unlock); \
                 it was left as they wrote it. The operation that just finished is not recorded in it. Find out who wrote it \
                 and why before running apply again (a versioned state bucket keeps the earlier versions).",
            ));
            return Exit::Failed;
        }
        Err(e) => {
            ui.error(Diagnostic::error(format!("Saving state failed: {e}")).detail(
                "The operation that just finished is not recorded. Do not run apply again until the state file is writable; \
                 the next plan will then adopt what was created.",
            ));
            return Exit::Failed;
        }
    };
    ui.report(&report.diagnostics, &loaded.stack.sources);
    let (mut added, mut changed, mut destroyed) = (0, 0, 0);
    for (_, action) in &report.applied {
        match action {
            Action::Create => added += 1,
            Action::Update => changed += 1,
            Action::Delete => destroyed += 1,
            Action::DeleteThenCreate | Action::CreateThenDelete => {
                added += 1;
                destroyed += 1;
            }
            Action::NoOp => {}
        }
    }
    if report.ok() {
        if options.destroy {
            println!("\nDestroy complete! Resources: {destroyed} destroyed.");
        } else {
            println!("\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.");
        }
        if !options.destroy {
            print_outputs(backend.as_ref()).await;
        }
        return Exit::Ok;
    }
    eprintln!();
    for (addr, error) in &report.failed {
        ui.error(Diagnostic::error(format!("{addr}: {error}")));
    }
    if !report.skipped.is_empty() {
        eprintln!(
            "Not attempted ({}): {}",
            if report.interrupted { "interrupted" } else { "a dependency failed" },
            report.skipped.join(", ")
        );
    }
    eprintln!(
        "{} incomplete: {added} added, {changed} changed, {destroyed} destroyed, {} failed. State is saved; fix the cause and run {verb} again.",
        if options.destroy { "Destroy" } else { "Apply" },
        report.failed.len()
    );
    Exit::Failed
}

async fn print_outputs(backend: &dyn crate::state::Backend) {
    let Ok(Some(state)) = backend.read().await else { return };
    if state.outputs.is_empty() {
        return;
    }
    println!("\nOutputs:\n");
    let width = state.outputs.keys().map(|k| k.len()).max().unwrap_or(0);
    for (name, o) in &state.outputs {
        let shown =
            if o.sensitive { "<sensitive>".to_string() } else { crate::value::Value::from_json(&o.value).to_string() };
        println!("{name:width$} = {shown}");
    }
}

/// Asks on the terminal. A protected environment wants its own name typed,
/// so that a "yes" meant for staging cannot approve prod.
fn confirm(stack: &str, env: &str, destroy: bool, protect: bool) -> bool {
    if destroy {
        println!("\nDo you really want to destroy all resources of {stack}/{env}?");
    } else {
        println!("\nDo you want to perform these actions in {stack}/{env}?");
    }
    let expected = expected_answer(env, protect);
    if protect {
        print!("  {env} is a protected environment: type the environment name to confirm.\n\n  Enter a value: ");
    } else {
        print!("  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    }
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    println!();
    line.trim() == expected
}

fn expected_answer(env: &str, protect: bool) -> &str {
    if protect {
        env
    } else {
        "yes"
    }
}

fn progressive(action: Action) -> &'static str {
    match action {
        Action::Create => "Creating",
        Action::Update => "Modifying",
        Action::Delete => "Destroying",
        Action::DeleteThenCreate | Action::CreateThenDelete => "Replacing",
        Action::NoOp => "Reading",
    }
}

fn completed(action: Action) -> &'static str {
    match action {
        Action::Create => "Creation complete",
        Action::Update => "Modifications complete",
        Action::Delete => "Destruction complete",
        Action::DeleteThenCreate | Action::CreateThenDelete => "Replacement complete",
        Action::NoOp => "Read complete",
    }
}

/// The state lock, as `-lock` and `-lock-timeout` ask: none at all (with a
/// warning), at once, or waiting for its holder up to the timeout.
async fn take_lock(
    backend: &dyn crate::state::Backend,
    verb: &str,
    flags: &crate::cli::TerraformFlags,
) -> Result<Option<Box<dyn crate::state::HeldLock>>, crate::state::StateError> {
    if !flags.lock {
        eprintln!(
            "Warning: -lock=false: the state is not locked; another run changing it now would be lost or refused."
        );
        return Ok(None);
    }
    let deadline = flags.lock_timeout.map(|t| std::time::Instant::now() + t);
    let mut told = false;
    loop {
        match backend.lock(verb).await {
            Ok(lock) => return Ok(Some(lock)),
            Err(crate::state::StateError::Locked(info)) if deadline.is_some_and(|d| std::time::Instant::now() < d) => {
                if !told {
                    eprintln!("Waiting for the state lock held by {} (operation {})...", info.who, info.operation);
                    told = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The operations running, so that a slow one is reported as Terraform
/// does: "ADDR: Still creating... [10s elapsed]" every ten seconds. On a
/// terminal a status line below the log also shows, four times a second,
/// how far the apply is and what it waits on; in CI and in pipes there are
/// only the plain lines.
#[derive(Clone)]
struct InFlight(std::sync::Arc<std::sync::Mutex<Progress>>);

struct Progress {
    running: std::collections::BTreeMap<String, Running>,
    /// Draw the status line (stdout and stderr are a terminal, not CI).
    live: bool,
    done: usize,
    total: usize,
    /// Whether a status line is on screen now.
    drawn: bool,
}

/// One running operation: what, since when, and how many intervals of it
/// were reported.
struct Running {
    action: Action,
    since: std::time::Instant,
    reported: u32,
}

/// Erases the status line: back to column 0, clear the line.
const ERASE_LINE: &str = "\r\x1b[2K";

impl InFlight {
    fn new(live: bool, total: usize) -> InFlight {
        let progress = Progress { running: Default::default(), live, done: 0, total, drawn: false };
        InFlight(std::sync::Arc::new(std::sync::Mutex::new(progress)))
    }

    fn started(&self, addr: &str, action: Action) {
        if let Ok(mut p) = self.0.lock() {
            p.running.insert(addr.to_string(), Running { action, since: std::time::Instant::now(), reported: 0 });
        }
    }

    fn ended(&self, addr: &str) {
        if let Ok(mut p) = self.0.lock() {
            p.running.remove(addr);
            p.done += 1;
        }
    }

    /// Prints one log line (to stderr when `error`), above the status line.
    fn say(&self, line: &str, error: bool) {
        if let Ok(mut p) = self.0.lock() {
            p.print(&[line], error);
        }
    }

    /// Removes the status line for good (the apply is over).
    fn clear_status(&self) {
        if let Ok(mut p) = self.0.lock() {
            p.erase();
            p.live = false;
        }
    }

    /// Prints a line for each operation each time it has run another
    /// `interval`, and redraws the status line (four times a second).
    fn report_every(&self, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(std::time::Duration::from_millis(250));
            loop {
                ticks.tick().await;
                let Ok(mut p) = this.0.lock() else { return };
                let mut lines = Vec::new();
                for (addr, running) in p.running.iter_mut() {
                    let intervals = (running.since.elapsed().as_millis() / interval.as_millis().max(1)) as u32;
                    if intervals > running.reported {
                        running.reported = intervals;
                        let verb = progressive(running.action).to_lowercase();
                        let secs = interval.as_secs() * u64::from(intervals);
                        lines.push(format!("{addr}: Still {verb}... [{secs}s elapsed]"));
                    }
                }
                let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
                p.print(&lines, false);
            }
        })
    }
}

impl Progress {
    /// Log lines, printed above the status line (redrawn after them).
    fn print(&mut self, lines: &[&str], error: bool) {
        self.erase();
        for line in lines {
            if error {
                eprintln!("{line}");
            } else {
                println!("{line}");
            }
        }
        self.draw();
    }

    fn erase(&mut self) {
        if self.drawn {
            eprint!("{ERASE_LINE}");
            self.drawn = false;
        }
    }

    fn draw(&mut self) {
        if !self.live {
            return;
        }
        let oldest = self.running.iter().min_by_key(|(_, r)| r.since);
        let waiting = oldest.map(|(addr, r)| (addr.as_str(), r.action, r.since.elapsed().as_secs()));
        eprint!("{}", status_line(self.done, self.total, self.running.len(), waiting));
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }
}

/// The status line: "[3/12] 2 running; longest: ADDR (creating, 14s)".
fn status_line(done: usize, total: usize, running: usize, oldest: Option<(&str, Action, u64)>) -> String {
    let mut line = format!("[{done}/{total}] {running} running");
    if let Some((addr, action, secs)) = oldest {
        line.push_str(&format!("; longest: {addr} ({}, {secs}s)", progressive(action).to_lowercase()));
    }
    line
}

/// A status line only where someone watches: both streams a terminal, not
/// CI, not a dumb terminal.
fn live_progress() -> bool {
    std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none()
        && std::env::var("TERM").map_or(true, |t| t != "dumb")
}

/// Ten seconds, as Terraform; `GANTRY_PROGRESS_SECS` changes it (tests).
fn still_interval() -> std::time::Duration {
    let secs = std::env::var("GANTRY_PROGRESS_SECS").ok().and_then(|v| v.parse::<u64>().ok()).unwrap_or(10);
    std::time::Duration::from_secs(secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::{expected_answer, status_line, Action};

    #[test]
    fn the_status_line_says_how_far_and_what_it_waits_on() {
        assert_eq!(status_line(0, 12, 0, None), "[0/12] 0 running");
        assert_eq!(
            status_line(3, 12, 2, Some(("aws_instance.web", Action::Create, 14))),
            "[3/12] 2 running; longest: aws_instance.web (creating, 14s)"
        );
    }

    #[test]
    fn protected_environments_want_their_name_not_yes() {
        assert_eq!(expected_answer("prod", true), "prod");
        assert_eq!(expected_answer("prod", false), "yes");
    }
}
