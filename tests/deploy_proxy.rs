//! Zero-downtime releases through nginx (docs/deploy.md, "Zero downtime"):
//! a load generator sends requests through a real nginx during a good
//! release, a failed release and a rollback, over the ssh transport with
//! the real Docker daemon, registry and compose; not one request may fail,
//! and the release answering switches once, after its health check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::nginx::Nginx;
use crate::support::services::{free_port, http_get, stderr, App, DeployConfig, DeployStack, ProjectGuard, Transport};
use crate::support::Gantry;

/// One request of the load: when it was sent (since the load started) and
/// the tag that answered, `None` for any failure (refused, reset, timeout,
/// a status other than 200).
struct Answer {
    at: Duration,
    tag: Option<String>,
}

/// Steady requests (one every 10 ms, each on a new connection, no retry)
/// until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<Answer>>,
    started: Instant,
}

impl Load {
    fn start(port: u16) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let url = format!("http://127.0.0.1:{port}/health");
            let mut answers = Vec::new();
            let mut next = Instant::now();
            while !flag.load(Ordering::Relaxed) {
                let at = started.elapsed();
                let tag = match http_get(&url) {
                    Some((200, body)) => Some(body),
                    _ => None,
                };
                answers.push(Answer { at, tag });
                next += Duration::from_millis(10);
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            answers
        });
        Load { stop, thread, started }
    }

    fn finish(self) -> Summary {
        self.stop.store(true, Ordering::Relaxed);
        let elapsed = self.started.elapsed();
        let answers = self.thread.join().expect("the load thread");
        Summary { answers, elapsed }
    }
}

struct Summary {
    answers: Vec<Answer>,
    elapsed: Duration,
}

impl Summary {
    fn failed(&self) -> usize {
        self.answers.iter().filter(|a| a.tag.is_none()).count()
    }

    fn rate(&self) -> f64 {
        self.answers.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The tags that answered, in the order they first answered.
    fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = Vec::new();
        for tag in self.answers.iter().filter_map(|a| a.tag.clone()) {
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        tags
    }

    /// When `tag` first answered, since the load started.
    fn first(&self, tag: &str) -> Option<Duration> {
        self.answers.iter().find(|a| a.tag.as_deref() == Some(tag)).map(|a| a.at)
    }

    /// When `tag` last answered, since the load started.
    fn last(&self, tag: &str) -> Option<Duration> {
        self.answers.iter().rev().find(|a| a.tag.as_deref() == Some(tag)).map(|a| a.at)
    }

    /// How long the old and the new release both answered: nginx's reload
    /// starts new workers (new upstream) before the old ones stop
    /// accepting, so for that moment a request may reach either. Zero
    /// when there was no switch.
    fn overlap(&self) -> Duration {
        let tags = self.tags();
        tags.windows(2)
            .filter_map(|w| Some(self.last(&w[0])?.saturating_sub(self.first(&w[1])?)))
            .max()
            .unwrap_or_default()
    }

    fn report(&self, what: &str, command_started: Duration, command_took: Duration, new: Option<&str>) {
        let switch = new
            .and_then(|t| self.first(t))
            .map_or("-".to_string(), |at| format!("{:?}", at.saturating_sub(command_started)));
        eprintln!(
            "zero-downtime {what}: {} requests ({:.0}/s), {} failed, answered by {:?}, command {:?}, \
             new release answering {switch} after the command started, both answering for {:?} (the reload)",
            self.answers.len(),
            self.rate(),
            self.failed(),
            self.tags(),
            command_took,
            self.overlap(),
        );
    }

    fn assert_clean(&self, what: &str, tags: &[&str]) {
        assert!(self.rate() >= 50.0, "{what}: the load ran at {:.0} requests/s, below 50", self.rate());
        let failed: Vec<String> =
            self.answers.iter().filter(|a| a.tag.is_none()).map(|a| format!("{:?}", a.at)).collect();
        assert!(failed.is_empty(), "{what}: {} of {} requests failed, at {failed:?}", failed.len(), self.answers.len());
        assert_eq!(self.tags(), tags, "{what}: the releases that answered, in order");
        // One switch: the old release stops answering within the reload
        // that made the new one answer, and never answers again.
        let overlap = self.overlap();
        assert!(overlap < Duration::from_secs(1), "{what}: the old release answered {overlap:?} after the new one");
        let last = self.answers.iter().rev().find_map(|a| a.tag.as_deref());
        assert_eq!(last, tags.last().copied(), "{what}: the release answering at the end");
    }
}

/// The fixture's compose file and a worker: a singleton (it must never run
/// twice), the app's image doing nothing, stopping at once on SIGTERM.
const COMPOSE_WITH_WORKER: &str = r#"services:
  app:
    image: ${IMAGE_REPOSITORY}:${IMAGE_TAG}
    env_file: ${GANTRY_ENV_FILE}
    restart: unless-stopped
    network_mode: host
  worker:
    image: ${IMAGE_REPOSITORY}:${IMAGE_TAG}
    env_file: ${GANTRY_ENV_FILE}
    entrypoint: ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; /bin/busybox sleep 100000 & wait"]
    restart: unless-stopped
    network_mode: host
"#;

/// The worker's container in the service's own project and its image's tag.
fn worker(stack: &DeployStack) -> (String, String) {
    let ids = stack.services.project_containers(&stack.service);
    assert_eq!(ids.len(), 1, "one worker runs, in the project {}: {ids:?}", stack.service);
    let image = stack.services.docker_ok(["inspect", "-f", "{{.Config.Image}}", &ids[0]]);
    let tag = image.trim().rsplit(':').next().unwrap_or_default().to_string();
    (ids[0].clone(), tag)
}

fn field<'a>(release: &'a Value, field: &str) -> &'a str {
    release[field].as_str().unwrap_or("")
}

/// Runs `gantry SUBCOMMAND ARGS` under load; returns the load's summary.
fn under_load(
    stack: &DeployStack,
    what: &str,
    subcommand: &str,
    args: &[&str],
    code: i32,
    new: Option<&str>,
) -> Summary {
    let load = Load::start(stack.port);
    // Some answers from the release serving before, for the record.
    std::thread::sleep(Duration::from_millis(300));
    let command_started = load.started.elapsed();
    let started = Instant::now();
    stack.run(subcommand, args, code);
    let took = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let summary = load.finish();
    summary.report(what, command_started, took, new);
    summary
}

#[test]
fn releases_through_nginx_drop_no_request() {
    let g = Gantry::new();
    let services = crate::support::services::Services::get();
    let ports = [free_port(), free_port()];
    let upstream = format!("gantry_{}", g.prefix().replace('-', "_"));
    // nginx first points where no release runs yet.
    let nginx = Nginx::start(&upstream, ports[0]);
    let config = DeployConfig {
        transport: Transport::Ssh { known_hosts: services.ssh_known_hosts.clone() },
        health_attempts: 30,
        health_interval: "300ms",
        deploy_hcl: format!(
            "\n  singleton = [\"worker\"]\n\n  proxy {{\n    upstream_file = \"{}\"\n    reload        = \"{}\"\n    ports         = [{}, {}]\n    drain         = \"1s\"\n  }}\n",
            nginx.upstream_file.display(),
            nginx.reload,
            ports[0],
            ports[1]
        ),
        ..Default::default()
    };
    let mut stack = DeployStack::new(&g, &config);
    std::fs::write(stack.dir.join("deploy/docker-compose.yml"), COMPOSE_WITH_WORKER).unwrap();
    // Requests go to nginx: the app's PORT parameter names it, and gantry
    // replaces it with each release's own port.
    stack.port = nginx.port;
    stack.write_gantry_hcl(&config);
    let _slots: Vec<ProjectGuard> =
        ports.iter().map(|p| ProjectGuard::new(&format!("{}-{p}", stack.service))).collect();
    stack.apply();
    stack.build("v1", true);
    // v2 listens only after 2 s: a switch before its health check passed
    // would fail requests.
    services.build_app(&stack.repo, "v2", &App { healthy: true, start_delay_secs: 2 });
    stack.build("v3", false);

    let started = Instant::now();
    stack.deploy(&["--tag", "v1"], 0);
    eprintln!("zero-downtime: first release v1 took {:?}", started.elapsed());
    assert_eq!(stack.live_tag().as_deref(), Some("v1"), "nginx serves v1; its log:\n{}", nginx.error_log());
    let env = stack.app_env();
    assert_eq!(env.get("APP_ENV").map(String::as_str), Some("staging"), "{env:?}");
    let v1_project = format!("{}-{}", stack.service, ports[1]);
    assert_eq!(services.project_containers(&v1_project).len(), 1, "v1 (without the worker) runs as {v1_project}");
    assert_eq!(worker(&stack).1, "v1");

    // A good release: one switch, from v1 to v2, and nothing lost.
    let good = under_load(&stack, "good release", "deploy", &["--tag", "v2"], 0, Some("v2"));
    good.assert_clean("the good release", &["v1", "v2"]);
    assert!(services.project_containers(&v1_project).is_empty(), "the old release stopped after draining");
    assert_eq!(services.project_containers(&format!("{}-{}", stack.service, ports[0])).len(), 1);
    let (worker_v2, tag) = worker(&stack);
    assert_eq!(tag, "v2", "the worker follows the release once it took traffic");

    // A failed release never takes traffic.
    let failed = under_load(&stack, "failed release", "deploy", &["--tag", "v3"], 1, None);
    failed.assert_clean("the failed release", &["v2"]);
    let releases = stack.releases();
    assert_eq!(field(&releases[0], "tag"), "v3");
    assert_eq!(field(&releases[0], "result"), "failed");
    assert_eq!(field(&releases[0], "rolled_back_to"), "v2", "v2 kept serving: {}", releases[0]);
    let note = field(&releases[0], "note");
    assert!(note.contains("not healthy after 30 attempt(s)"), "{note}");
    assert_eq!(note.matches("attempt").count(), 1, "the attempts are not stored one by one: {note}");
    assert!(
        services.project_containers(&v1_project).is_empty(),
        "the failed release's containers are gone (it ran on the free port)"
    );
    assert_eq!(worker(&stack), (worker_v2, "v2".to_string()), "a failed release leaves the worker alone");

    // A rollback is a release of the older tag beside the live one.
    let back = under_load(&stack, "rollback", "rollback", &[], 0, Some("v1"));
    back.assert_clean("the rollback", &["v2", "v1"]);
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
    let releases = stack.releases();
    assert_eq!(
        (field(&releases[0], "tag"), field(&releases[0], "kind"), field(&releases[0], "result")),
        ("v1", "rollback", "healthy")
    );
    assert_eq!(worker(&stack).1, "v1");

    // The proxy down: the release is refused at the switch, nothing serves
    // differently, and the message says so.
    let mut nginx = nginx;
    nginx.stop();
    let out = stack.deploy(&["--tag", "v2"], 1);
    assert!(stderr(&out).contains("proxy"), "{}", stderr(&out));
    let releases = stack.releases();
    assert_eq!(field(&releases[0], "result"), "failed");
    assert_eq!(services.project_containers(&v1_project).len(), 1, "v1 still runs");
}

/// For comparison only (not a check): the same releases without a proxy,
/// replaced in place, under the same load sent to the app's own port. Run
/// with `scripts/test.sh --test integration in_place_releases -- --ignored
/// --nocapture` to see what the proxy saves.
#[test]
#[ignore = "a measurement, not a check"]
fn in_place_releases_for_comparison() {
    let g = Gantry::new();
    let services = crate::support::services::Services::get();
    let config = DeployConfig {
        transport: Transport::Ssh { known_hosts: services.ssh_known_hosts.clone() },
        health_attempts: 30,
        health_interval: "300ms",
        ..Default::default()
    };
    let stack = DeployStack::new(&g, &config);
    stack.apply();
    stack.build("v1", true);
    services.build_app(&stack.repo, "v2", &App { healthy: true, start_delay_secs: 2 });
    stack.build("v3", false);
    stack.deploy(&["--tag", "v1"], 0);
    under_load(&stack, "(in place) good release", "deploy", &["--tag", "v2"], 0, Some("v2"));
    under_load(&stack, "(in place) failed release", "deploy", &["--tag", "v3"], 1, Some("v2"));
    under_load(&stack, "(in place) rollback", "rollback", &[], 0, Some("v1"));
}
