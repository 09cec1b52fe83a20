//! `gantry deploy`: from an applied environment to a running, health-checked
//! app, with rollback to the last healthy release. See docs/deploy.md.
//!
//! This module puts one tag on a set of hosts and checks it; the command
//! (crate::commands::deploy) resolves settings, takes the lock, checks the
//! image and the contract first, and records the outcome.

pub mod frontend;
pub mod image;
pub mod releases;
pub mod script;
pub mod transport;

use std::collections::BTreeMap;
use std::time::Instant;

use owo_colors::OwoColorize;

use crate::config::settings::HealthSettings;
use image::{Password, Repository};
use transport::{RunOutput, Transport};

/// Where the app's environment and registry password come from on a host.
pub enum Secrets {
    /// Read by gantry and carried in the host script (ssh, local). No
    /// password: the registry is not ECR and gets no login.
    Inline { values: BTreeMap<String, String>, password: Option<Password> },
    /// Read by the host itself (ssm), with ECR's password from `ecr_region`
    /// (none: no login).
    HostFetch { ssm_path: String, region: String, ecr_region: Option<String> },
}

/// Everything needed to put a tag on the hosts.
pub struct Target {
    pub service: String,
    pub hosts: Vec<String>,
    pub transport: Box<dyn Transport>,
    pub compose: String,
    pub remote_dir: String,
    pub repo: Repository,
    pub health: HealthSettings,
    pub secrets: Secrets,
    /// The values that are secrets (SecureString parameters, contract keys
    /// marked secret), scrubbed from whatever a host prints.
    pub secret_values: Vec<String>,
    /// Zero-downtime releases through each host's proxy; `None`: the
    /// release replaces the running one in place.
    pub proxy: Option<Proxy>,
    /// The SSM version of each parameter the release runs with (recorded
    /// in the history, for rollbacks).
    pub versions: BTreeMap<String, i64>,
}

/// How releases go live through the proxy on each host.
pub struct Proxy {
    pub upstream_file: String,
    pub reload: String,
    pub ports: [u16; 2],
    pub drain: std::time::Duration,
    pub singletons: Vec<String>,
}

/// How many log lines of a failed release's containers are shown and kept.
const LOG_LINES: u32 = 20;

/// A host that did not take a release.
#[derive(Debug)]
pub struct HostFailure {
    pub host: String,
    /// "release" or "health check".
    pub step: &'static str,
    pub detail: String,
    /// How many hosts were touched (this one included): they need the rollback.
    pub touched: usize,
    /// Whether this host still serves what it served before (a release
    /// started beside the live one that never took traffic).
    pub untouched: bool,
}

impl std::fmt::Display for HostFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} failed: {}", self.host, self.step, self.detail)
    }
}

impl Target {
    /// Releases `tag` on each host in turn and checks its health; stops at
    /// the first host that fails.
    pub async fn roll_out(&self, tag: &str, progress: &Progress) -> Result<(), HostFailure> {
        self.roll_out_on(&self.hosts, tag, progress).await
    }

    /// [`Target::roll_out`] on some of the hosts (a rollback covers those touched).
    pub async fn roll_out_on(&self, hosts: &[String], tag: &str, progress: &Progress) -> Result<(), HostFailure> {
        for (i, host) in hosts.iter().enumerate() {
            if let Some(proxy) = &self.proxy {
                self.release_beside(proxy, host, i, tag, progress).await?;
                continue;
            }
            let fail =
                |step, detail| HostFailure { host: host.clone(), step, detail, touched: i + 1, untouched: false };
            let label = format!("{host} ({})", self.transport.name());
            // The script's own progress lines, as they come.
            let lines = |line: &str| progress.detail(&format!("{host}: {}", self.scrub(line)));
            progress.step(&format!(
                "{label}: registry login, env file, compose pull, up -d ({})",
                self.repo.reference(tag)
            ));
            let script = self.release_script(tag, None).map_err(|e| fail("release", e.to_string()))?;
            let out = self
                .transport
                .run(host, &script, &lines)
                .await
                .map_err(|e| fail("release", self.scrub(&e.to_string())))?;
            if !out.success() {
                return Err(fail("release", self.describe_failure(&out)));
            }
            let h = &self.health;
            progress.step(&format!(
                "{label}: health check {} (up to {} attempts, {} apart)",
                h.url,
                h.attempts,
                humanize(h.interval)
            ));
            let started = Instant::now();
            let check = script::health(&h.url, h.attempts, h.interval.as_secs_f64(), h.timeout.as_secs().max(1) as u32);
            let out = self
                .transport
                .run(host, &check, &lines)
                .await
                .map_err(|e| fail("health check", self.scrub(&e.to_string())))?;
            if !out.success() {
                return Err(fail("health check", self.describe_health_failure(&out)));
            }
            progress.ok(&format!("{label}: healthy, checked in {}", humanize(started.elapsed())));
        }
        Ok(())
    }

    /// One host, zero downtime: the release starts beside the live one on
    /// the other port, is health-checked there while the old one serves,
    /// and only then does the proxy switch to it; the old release drains
    /// and stops. A release that fails before the switch is removed (its
    /// logs shown) and never took traffic.
    async fn release_beside(
        &self,
        proxy: &Proxy,
        host: &str,
        i: usize,
        tag: &str,
        progress: &Progress,
    ) -> Result<(), HostFailure> {
        let fail =
            |step, detail, untouched| HostFailure { host: host.to_string(), step, detail, touched: i + 1, untouched };
        let label = format!("{host} ({})", self.transport.name());
        let lines = |line: &str| progress.detail(&format!("{host}: {}", self.scrub(line)));
        let run = |script: String| async move {
            self.transport.run(host, &script, &lines).await.map_err(|e| self.scrub(&e.to_string()))
        };
        let out = run(script::read_upstream(&proxy.upstream_file)).await.map_err(|e| fail("proxy", e, true))?;
        if !out.success() {
            return Err(fail("proxy", self.describe_failure(&out), true));
        }
        let live = script::upstream_port(&out.stdout);
        let port = if live == Some(proxy.ports[0]) { proxy.ports[1] } else { proxy.ports[0] };
        let project = format!("{}-{port}", self.service);
        let project = project.as_str();
        progress.step(&format!(
            "{label}: {} beside the live release, on port {port} (registry login, env file, compose pull, up -d)",
            self.repo.reference(tag)
        ));
        let started = Instant::now();
        let beside = |step| script::Beside { port, project, singletons: &proxy.singletons, step };
        let release = self
            .release_script(tag, Some(beside(script::BesideStep::Start)))
            .map_err(|e| fail("release", e.to_string(), true))?;
        // Whatever fails before the switch: the new release goes, its logs kept.
        let discard = |step: &'static str, detail: String| async move {
            let logs = match run(script::discard(project, LOG_LINES)).await {
                Ok(out) => self.scrub(out.stdout.trim_end()),
                Err(e) => format!("(its logs could not be read: {e})"),
            };
            // Shown once, with the failure, and kept in the history's note.
            let detail =
                if logs.is_empty() { detail } else { format!("{detail}\nthe last lines of its logs:\n{logs}") };
            fail(step, detail, true)
        };
        match run(release).await {
            Ok(out) if out.success() => {}
            Ok(out) => return Err(discard("release", self.describe_failure(&out)).await),
            Err(e) => return Err(discard("release", e).await),
        }
        let h = &self.health;
        let url = health_url_on(&h.url, port);
        progress.step(&format!(
            "{label}: health check {url} (up to {} attempts, {} apart)",
            h.attempts,
            humanize(h.interval)
        ));
        let check = script::health(&url, h.attempts, h.interval.as_secs_f64(), h.timeout.as_secs().max(1) as u32);
        match run(check).await {
            Ok(out) if out.success() => {}
            Ok(out) => return Err(discard("health check", self.describe_health_failure(&out)).await),
            Err(e) => return Err(discard("health check", e).await),
        }
        let upstream = format!("gantry_{}", self.service.replace('-', "_"));
        match run(script::switch(&proxy.upstream_file, &upstream, port, &proxy.reload)).await {
            Ok(out) if out.success() => {}
            Ok(out) => return Err(discard("proxy switch", self.describe_failure(&out)).await),
            Err(e) => return Err(discard("proxy switch", e).await),
        }
        progress.ok(&format!(
            "{label}: healthy on port {port}; the proxy switched to it {} after the release started",
            humanize(started.elapsed())
        ));
        if !proxy.singletons.is_empty() {
            // The release took traffic: a failure from here on needs a
            // rollback of this host (the old release still runs).
            let singles = self
                .release_script(tag, Some(beside(script::BesideStep::Singletons)))
                .map_err(|e| fail("singletons", e.to_string(), false))?;
            match run(singles).await {
                Ok(out) if out.success() => {}
                Ok(out) => return Err(fail("singletons", self.describe_failure(&out), false)),
                Err(e) => return Err(fail("singletons", e, false)),
            }
        }
        if let Some(old) = live.filter(|p| *p != port) {
            progress.step(&format!(
                "{label}: the old release on port {old} drains for {}, then stops",
                humanize(proxy.drain)
            ));
            tokio::time::sleep(proxy.drain).await;
        }
        // The other port's project (when it runs) and a release from before
        // the proxy: neither takes traffic now.
        let other = if port == proxy.ports[0] { proxy.ports[1] } else { proxy.ports[0] };
        let old_project = format!("{}-{other}", self.service);
        match run(script::retire(&old_project, &self.service, &proxy.singletons)).await {
            Ok(out) if out.success() => {}
            Ok(out) => progress.warn(&format!("{host}: the old release did not stop: {}", self.describe_failure(&out))),
            Err(e) => progress.warn(&format!("{host}: the old release did not stop: {e}")),
        }
        Ok(())
    }

    /// Puts `tag` back on each of `hosts`, going on past a host that fails
    /// so that every other host gets it; the failures, if any.
    pub async fn roll_back_on(&self, hosts: &[String], tag: &str, progress: &Progress) -> Vec<HostFailure> {
        let mut failures = Vec::new();
        for host in hosts {
            if let Err(f) = self.roll_out_on(std::slice::from_ref(host), tag, progress).await {
                progress.warn(&f.to_string());
                failures.push(f);
            }
        }
        failures
    }

    fn release_script(&self, tag: &str, beside: Option<script::Beside>) -> Result<String, script::BadValue> {
        let (env, login) = match &self.secrets {
            Secrets::Inline { values, password } => (
                script::EnvSource::Inline(values),
                password.as_ref().map_or(script::Login::None, |p| script::Login::Password(p.expose())),
            ),
            Secrets::HostFetch { ssm_path, region, ecr_region, .. } => (
                script::EnvSource::HostFetch { ssm_path, region },
                ecr_region.as_deref().map_or(script::Login::None, |region| script::Login::HostFetch { region }),
            ),
        };
        script::release(&script::Release {
            service: &self.service,
            remote_dir: &self.remote_dir,
            compose: &self.compose,
            repository: &self.repo.url(),
            tag,
            registry: &self.repo.registry,
            env,
            login,
            beside,
        })
    }

    /// A failed health check in one line: its attempts were printed as they
    /// came and are not repeated.
    fn describe_health_failure(&self, out: &RunOutput) -> String {
        let last = out.stdout.lines().rev().find_map(|l| l.strip_prefix("gantry: "));
        match last {
            Some(line) => self.scrub(line),
            None => self.describe_failure(out),
        }
    }

    /// The end of a failed script's output, with every secret value removed.
    fn describe_failure(&self, out: &RunOutput) -> String {
        let text = format!("{}\n{}", out.stdout.trim_end(), out.stderr.trim_end());
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(12)..].join("\n");
        let status = match out.status {
            Some(code) => format!("exit status {code}"),
            None => "killed".to_string(),
        };
        self.scrub(&format!("{status}\n{tail}"))
    }

    fn scrub(&self, text: &str) -> String {
        let password = match &self.secrets {
            Secrets::Inline { password, .. } => password.as_ref(),
            Secrets::HostFetch { .. } => None,
        };
        // Each value also as the env files spell it, which is what a failing
        // compose would quote.
        let mut secrets: Vec<String> = self
            .secret_values
            .iter()
            .flat_map(|v| [v.clone(), script::escape_v1(v), script::escape_v2(v)])
            .chain(password.map(|p| p.expose().to_string()))
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        let mut out = text.to_string();
        for s in secrets.iter().filter(|s| s.chars().count() >= crate::value::MIN_REDACTED_LEN) {
            out = out.replace(s.as_str(), "(sensitive value)");
        }
        out
    }
}

/// `url` with its host and port replaced by 127.0.0.1:`port`: a release
/// beside the live one is checked on its own port.
pub fn health_url_on(url: &str, port: u16) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let path = rest.find('/').map_or("/", |at| &rest[at..]);
    format!("{scheme}://127.0.0.1:{port}{path}")
}

/// Progress lines on standard error: `==> step`, green when it went well.
pub struct Progress {
    color: bool,
    started: Instant,
}

impl Progress {
    /// `color`: whether standard error takes colors (Ui::color_err, which
    /// already knows NO_COLOR and whether it is a terminal).
    pub fn new(color: bool) -> Progress {
        Progress { color, started: Instant::now() }
    }

    pub fn step(&self, text: &str) {
        if self.color {
            eprintln!("{} {text}", "==>".cyan().bold());
        } else {
            eprintln!("==> {text}");
        }
    }

    pub fn ok(&self, text: &str) {
        if self.color {
            eprintln!("{} {text}", "  ✓".green().bold());
        } else {
            eprintln!("  ok: {text}");
        }
    }

    /// A line of a host script's own progress, under the step.
    pub fn detail(&self, text: &str) {
        if self.color {
            eprintln!("    {}", text.dimmed());
        } else {
            eprintln!("    {text}");
        }
    }

    pub fn warn(&self, text: &str) {
        if self.color {
            eprintln!("{} {text}", "  !".yellow().bold());
        } else {
            eprintln!("  warning: {text}");
        }
    }

    pub fn elapsed(&self) -> String {
        humanize(self.started.elapsed())
    }
}

/// "1.2s", "350ms", "2m05s".
pub fn humanize(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::health_url_on;

    #[test]
    fn a_release_beside_is_checked_on_its_own_port() {
        assert_eq!(health_url_on("http://127.0.0.1/health", 8002), "http://127.0.0.1:8002/health");
        assert_eq!(health_url_on("http://localhost:5001/a/b?c=1", 8001), "http://127.0.0.1:8001/a/b?c=1");
        assert_eq!(health_url_on("https://example.test", 8001), "https://127.0.0.1:8001/");
    }
}
