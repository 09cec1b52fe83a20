//! `gantry deploy`, `releases` and `rollback` (docs/deploy.md) against real
//! services on 127.0.0.1: a Docker daemon, a registry standing in for ECR,
//! and sshd (scripts/services.sh). Each test has its own stack (ECR
//! repository, SSM path) in the shared moto, its own compose project and its
//! own app port; [`ProjectGuard`] removes its containers at the end.

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::services::{
    free_port, http_get, sha256_hex, stderr, stdout, temp_dir, wait_for, write_app_context, App, DeployConfig,
    DeployStack, Transport, ENV, STACK,
};
use crate::support::Gantry;

/// `field` of a release entry, as a string ("" when absent or null).
fn field<'a>(release: &'a Value, field: &str) -> &'a str {
    release[field].as_str().unwrap_or("")
}

/// A stack applied and ready for deploys.
fn applied<'g>(g: &'g Gantry, config: &DeployConfig) -> DeployStack<'g> {
    let stack = DeployStack::new(g, config);
    stack.apply();
    stack
}

#[test]
fn a_good_release_goes_live_with_its_environment() {
    let g = Gantry::new();
    let stack = applied(&g, &DeployConfig::default());
    stack.build("v1", true);

    let started = Instant::now();
    stack.deploy(&["--tag", "v1"], 0);
    eprintln!("deploy of v1 took {:?}", started.elapsed());

    assert_eq!(stack.live_tag().as_deref(), Some("v1"), "/health serves the new release");
    let env = stack.app_env();
    assert_eq!(env.get("APP_ENV").map(String::as_str), Some("staging"), "APP_ENV came from SSM: {env:?}");
    assert_eq!(
        env.get("SESSION_SECRET_SHA256"),
        Some(&sha256_hex(&stack.canary)),
        "the SecureString reached the container, decrypted"
    );
    assert_eq!(stack.containers().len(), 1, "one container in the compose project {}", stack.service);

    let releases = stack.releases();
    assert_eq!(releases.len(), 1, "{releases:?}");
    let r = &releases[0];
    assert_eq!(field(r, "tag"), "v1");
    assert_eq!(field(r, "result"), "healthy");
    assert_eq!(field(r, "kind"), "deploy");
    assert!(field(r, "image").ends_with(&format!("{}:v1", stack.repo)), "image: {r}");
    assert!(!field(r, "time").is_empty() && !field(r, "who").is_empty(), "time and who are recorded: {r}");

    // The text form lists it too.
    let text = stdout(&stack.run("releases", &[], 0));
    assert!(text.contains("v1") && text.contains("healthy"), "{text}");
}

#[test]
fn a_broken_release_is_rolled_back_to_the_last_healthy_one() {
    let g = Gantry::new();
    let stack = applied(&g, &DeployConfig::default());
    stack.build("v1", true);
    stack.build("v2", false);
    stack.deploy(&["--tag", "v1"], 0);
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));

    let started = Instant::now();
    let out = stack.deploy(&["--tag", "v2"], 1);
    eprintln!("failed deploy of v2 with rollback took {:?}", started.elapsed());

    assert_eq!(stack.live_tag().as_deref(), Some("v1"), "v1 serves again; stderr:\n{}", stderr(&out));
    let releases = stack.releases();
    assert_eq!(releases.len(), 2, "{releases:?}");
    let (newest, older) = (&releases[0], &releases[1]);
    assert_eq!(field(newest, "tag"), "v2");
    assert_eq!(field(newest, "result"), "failed");
    assert_eq!(field(newest, "rolled_back_to"), "v1", "{newest}");
    assert_eq!(field(older, "tag"), "v1");
    assert_eq!(field(older, "result"), "healthy");

    // The text form, newest first, says what the failure rolled back to.
    let text = stdout(&stack.run("releases", &[], 0));
    let row = |tag: &str| text.lines().position(|l| l.split_whitespace().next() == Some(tag));
    let (v2, v1) = (row("v2").expect("a row for v2"), row("v1").expect("a row for v1"));
    assert!(v2 < v1, "newest first:\n{text}");
    assert!(text.contains("failed") && text.contains("rolled back to v1"), "{text}");
}

#[test]
fn a_broken_first_release_has_nothing_to_roll_back_to() {
    let g = Gantry::new();
    let stack = applied(&g, &DeployConfig { health_attempts: 3, ..Default::default() });
    stack.build("v0", false);

    let out = stack.deploy(&["--tag", "v0"], 1);
    assert!(stderr(&out).contains("no earlier healthy release"), "{}", stderr(&out));
    let releases = stack.releases();
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(field(&releases[0], "tag"), "v0");
    assert_eq!(field(&releases[0], "result"), "failed");
    assert_eq!(field(&releases[0], "rolled_back_to"), "", "nothing was healthy before: {}", releases[0]);

    // And no release to roll back to.
    stack.run("rollback", &[], 1);
    assert_eq!(stack.releases().len(), 1, "a refused rollback is not a release");
}

#[test]
fn rollback_puts_an_earlier_healthy_release_back() {
    let g = Gantry::new();
    let stack = applied(&g, &DeployConfig::default());
    stack.build("v1", true);
    stack.build("v2", true);
    stack.build("v3", false);
    stack.deploy(&["--tag", "v1"], 0);
    stack.deploy(&["--tag", "v2"], 0);
    assert_eq!(stack.live_tag().as_deref(), Some("v2"));

    // The newest healthy release other than the live one.
    stack.run("rollback", &[], 0);
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
    let releases = stack.releases();
    assert_eq!(field(&releases[0], "tag"), "v1", "{releases:?}");
    assert_eq!(field(&releases[0], "kind"), "rollback");
    assert_eq!(field(&releases[0], "result"), "healthy");

    stack.run("rollback", &["--to", "v2"], 0);
    assert_eq!(stack.live_tag().as_deref(), Some("v2"));
    stack.run("rollback", &["--to", "v1"], 0);
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));

    // Only a release that was healthy once may be rolled back to.
    stack.deploy(&["--tag", "v3"], 1);
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
    let out = stack.run("rollback", &["--to", "v3"], 1);
    assert!(stderr(&out).contains("v3"), "{}", stderr(&out));
    let out = stack.run("rollback", &["--to", "never-deployed"], 1);
    assert!(stderr(&out).contains("never-deployed"), "{}", stderr(&out));
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));

    let history: Vec<String> = stack
        .releases()
        .iter()
        .map(|r| format!("{} {} {}", field(r, "tag"), field(r, "kind"), field(r, "result")))
        .collect();
    assert_eq!(
        history,
        [
            "v3 deploy failed",
            "v1 rollback healthy",
            "v2 rollback healthy",
            "v1 rollback healthy",
            "v2 deploy healthy",
            "v1 deploy healthy"
        ],
        "the history, newest first"
    );
}

#[test]
fn deploy_over_ssh_checks_the_host_key() {
    let g = Gantry::new();
    let services = crate::support::services::Services::get();
    let ssh = DeployConfig {
        transport: Transport::Ssh { known_hosts: services.ssh_known_hosts.clone() },
        ..Default::default()
    };
    let stack = applied(&g, &ssh);
    stack.build("v1", true);
    stack.build("v2", true);

    let started = Instant::now();
    stack.deploy(&["--tag", "v1"], 0);
    eprintln!("deploy of v1 over ssh took {:?}", started.elapsed());
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
    assert_eq!(stack.app_env().get("SESSION_SECRET_SHA256"), Some(&sha256_hex(&stack.canary)));
    let containers = stack.containers();
    assert_eq!(containers.len(), 1);
    // The host's release folder keeps the compose file, not the environment.
    let remote_home = std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let release_dir = remote_home.join(".gantry").join(&stack.service);
    assert!(release_dir.is_dir(), "the release folder is {} (remote_dir's default)", release_dir.display());
    let leaked = stack.files_with_canary(&release_dir);
    assert!(leaked.is_empty(), "the secret was left on the host in {leaked:?}");

    // The same host with another key in known_hosts: ssh refuses, nothing runs.
    let keys = temp_dir();
    let other_key = keys.path().join("other");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .unwrap();
    assert!(keygen.success());
    let public = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    let mut parts = public.split_whitespace();
    let (kind, data) = (parts.next().unwrap(), parts.next().unwrap());
    let wrong = keys.path().join("known_hosts");
    std::fs::write(&wrong, format!("[127.0.0.1]:{} {kind} {data}\n", services.ssh_port)).unwrap();
    stack.write_gantry_hcl(&DeployConfig { transport: Transport::Ssh { known_hosts: wrong }, ..Default::default() });

    let out = stack.deploy(&["--tag", "v2"], 1);
    let err = stderr(&out).to_lowercase();
    assert!(err.contains("host key") || err.contains("host identification"), "{}", stderr(&out));
    assert_eq!(stack.containers(), containers, "the container was not touched");
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));

    // A host missing from known_hosts is refused too: no trust on first use.
    let empty = keys.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    stack.write_gantry_hcl(&DeployConfig { transport: Transport::Ssh { known_hosts: empty }, ..Default::default() });
    let out = stack.deploy(&["--tag", "v2"], 1);
    assert!(stderr(&out).to_lowercase().contains("host key"), "{}", stderr(&out));
    assert_eq!(stack.containers(), containers, "the container was not touched");
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
}

#[test]
fn a_missing_required_key_stops_before_any_host() {
    let g = Gantry::new();
    let stack = applied(&g, &DeployConfig::default());
    stack.build("v1", true);
    stack.delete_parameter("APP_ENV");
    // And a second problem: the whole list is reported, not the first one.
    let feature = format!("{}/FEATURE_X", stack.ssm_path);
    crate::support::block_on(
        crate::support::aws()
            .ssm
            .put_parameter()
            .name(&feature)
            .value("maybe")
            .r#type("String".into())
            .overwrite(true)
            .send(),
    )
    .unwrap();

    let out = stack.deploy(&["--tag", "v1"], 1);
    assert!(stderr(&out).contains("APP_ENV"), "the error names the missing key:\n{}", stderr(&out));
    assert!(stderr(&out).contains("FEATURE_X"), "the error names the malformed key:\n{}", stderr(&out));
    assert!(!stderr(&out).contains("maybe"), "values are never printed:\n{}", stderr(&out));
    assert!(stack.containers().is_empty(), "no container was created for {}", stack.service);
    assert_eq!(stack.live_tag(), None);
}

#[test]
fn a_missing_image_or_tag_stops_before_any_host() {
    let g = Gantry::new();
    let stack = applied(&g, &DeployConfig::default());
    // v1 exists in the registry; v404 does not.
    stack.build("v1", true);

    let out = stack.deploy(&["--tag", "v404"], 1);
    assert!(stderr(&out).contains("v404"), "the error names the tag:\n{}", stderr(&out));
    assert!(stack.containers().is_empty(), "no container was created for {}", stack.service);

    // No --tag outside a git checkout: an error, not a guess.
    let out = stack.deploy(&[], 1);
    assert!(stderr(&out).contains("--tag"), "{}", stderr(&out));
    assert!(stack.containers().is_empty());
}

#[test]
fn a_second_deploy_fails_at_once_naming_the_lock_holder() {
    let g = Gantry::new();
    // A release that comes up late holds the lock for seconds.
    let config = DeployConfig { health_attempts: 40, health_interval: "500ms", ..Default::default() };
    let stack = applied(&g, &config);
    stack.services.build_app(&stack.repo, "slow", &App { healthy: true, start_delay_secs: 8 });
    stack.build("v1", true);

    let first =
        stack.std_cmd("deploy", &["--tag", "slow"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let holder = first.id();
    // Once its container exists, the first deploy is on the host, holding the lock.
    let saw_lock_file = wait_for("the first deploy's container", Duration::from_secs(60), || {
        let lock = stack.deploy_lock_file().exists();
        (!stack.containers().is_empty()).then_some(lock)
    });
    let saw_lock_file = saw_lock_file || stack.deploy_lock_file().exists();

    let started = Instant::now();
    let out = stack.deploy(&["--tag", "v1"], 1);
    let waited = started.elapsed();
    let err = stderr(&out);
    assert!(
        err.contains("deploy lock") && err.contains(&format!("pid {holder}")),
        "the second deploy names the deploy lock and its holder (pid {holder}):\n{err}"
    );
    assert!(waited < Duration::from_secs(5), "it failed at once, not after {waited:?}");
    assert_eq!(stack.live_tag(), None, "the second deploy changed nothing: the slow release is still starting");

    // The deploy lock is not the state lock: a plan runs meanwhile.
    let plan = g
        .cmd(["plan", "-s", STACK, "-e", ENV, "-var"])
        .arg(g.prefix_var())
        .args(["-var", &format!("port={}", stack.port)])
        .env("TF_VAR_session_secret", &stack.canary)
        .output()
        .unwrap();
    assert!(plan.status.success(), "plan runs while a deploy holds its lock:\n{}", stderr(&plan));
    assert_eq!(stack.live_tag(), None, "(the first deploy was still running during the plan)");

    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "the first deploy succeeded:\n{}", stderr(&first));
    stack.assert_no_canary("the first deploy's output", &[&first.stdout, &first.stderr]);
    assert_eq!(stack.live_tag().as_deref(), Some("slow"));
    assert!(saw_lock_file, "the deploy lock is {} while a deploy runs", stack.deploy_lock_file().display());
    assert!(!stack.deploy_lock_file().exists(), "the lock is gone after the deploy");
    let releases = stack.releases();
    assert_eq!(field(&releases[0], "tag"), "slow");
    assert_eq!(releases.len(), 1, "the refused deploy is not a release: {releases:?}");
}

#[test]
fn with_a_lock_timeout_the_second_deploy_waits_its_turn() {
    let g = Gantry::new();
    let config = DeployConfig { health_attempts: 40, health_interval: "500ms", ..Default::default() };
    let stack = applied(&g, &config);
    stack.services.build_app(&stack.repo, "slow", &App { healthy: true, start_delay_secs: 4 });
    stack.build("v1", true);

    let first =
        stack.std_cmd("deploy", &["--tag", "slow"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for("the first deploy's container", Duration::from_secs(60), || {
        (!stack.containers().is_empty()).then_some(())
    });
    // The first release needs seconds more (its app starts 4 s late).
    let started = Instant::now();
    stack.deploy(&["--tag", "v1", "--lock-timeout", "90s"], 0);
    let waited = started.elapsed();
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(waited > Duration::from_secs(2), "the second deploy waited for the first ({waited:?})");
    assert_eq!(stack.live_tag().as_deref(), Some("v1"), "the waiting deploy went second");
    let tags: Vec<String> = stack.releases().iter().map(|r| field(r, "tag").to_string()).collect();
    assert_eq!(tags, ["v1", "slow"]);
}

/// Watches every process's argument list for `needle` until stopped.
struct ArgvWatch {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(usize, Vec<String>, bool)>,
}

impl ArgvWatch {
    /// `marker`: a string some argument list will hold during the watch,
    /// proving the watch saw the processes it is there for.
    fn start(needle: String, marker: String) -> ArgvWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut scans, mut hits, mut saw_marker) = (0usize, Vec::new(), false);
            while !flag.load(Ordering::Relaxed) {
                scans += 1;
                let Ok(entries) = std::fs::read_dir("/proc") else { break };
                for entry in entries.flatten() {
                    let name = entry.file_name();
                    let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
                    let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
                    if crate::support::services::contains(&cmdline, needle.as_bytes()) {
                        // The program only: the rest holds the secret.
                        let program = cmdline.split(|&b| b == 0).next().unwrap_or_default();
                        let hit = format!("pid {pid} ({})", String::from_utf8_lossy(program));
                        if !hits.contains(&hit) {
                            hits.push(hit);
                        }
                    }
                    if crate::support::services::contains(&cmdline, marker.as_bytes()) {
                        saw_marker = true;
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            (scans, hits, saw_marker)
        });
        ArgvWatch { stop, thread }
    }

    fn finish(self) -> (usize, Vec<String>, bool) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the argv watch panicked")
    }
}

#[test]
fn secrets_stay_off_argument_lists_output_history_and_state() {
    let g = Gantry::new();
    let ssh = DeployConfig {
        transport: Transport::Ssh { known_hosts: crate::support::services::Services::get().ssh_known_hosts.clone() },
        ..Default::default()
    };
    let stack = applied(&g, &DeployConfig::default());
    stack.build("v1", true);
    stack.build("v2", false);
    stack.build("v3", true);

    let watch = ArgvWatch::start(stack.canary.clone(), stack.service.clone());
    // A deploy, a failed one with its rollback, an explicit rollback, and a
    // deploy over ssh: every path that moves the environment around.
    stack.deploy(&["--tag", "v1"], 0);
    stack.deploy(&["--tag", "v2"], 1);
    stack.deploy(&["--tag", "v3"], 0);
    stack.run("rollback", &[], 0);
    stack.write_gantry_hcl(&ssh);
    stack.deploy(&["--tag", "v3", "-v"], 0);
    // Tracing at its most verbose (the SDK's too) prints no secret either.
    let traced = stack.cmd("deploy", &["--tag", "v3", "-vv"]).env("RUST_LOG", "trace").output().unwrap();
    assert!(traced.status.success(), "{}", stderr(&traced));
    stack.assert_no_canary("the output of deploy with RUST_LOG=trace", &[&traced.stdout, &traced.stderr]);
    let (scans, hits, saw_marker) = watch.finish();

    assert!(hits.is_empty(), "the session secret was in the arguments of {hits:?}");
    assert!(scans > 20, "the watch ran ({scans} scans)");
    assert!(saw_marker, "the watch saw the deploy's processes (compose project {} in an argument list)", stack.service);
    assert_eq!(stack.app_env().get("SESSION_SECRET_SHA256"), Some(&sha256_hex(&stack.canary)), "it did reach the app");

    // Nowhere on disk either: state, release history, the host's release
    // folders (under the test's HOME for the local transport, the login's
    // home over ssh), the stack.
    assert!(stack.history_file().exists(), "the history is at {}", stack.history_file().display());
    let leaked = stack.files_with_canary(g.path());
    assert!(leaked.is_empty(), "the session secret was written to {leaked:?}");
    assert!(stack.home.join(".gantry").join(&stack.service).is_dir(), "the local release folder is under HOME");
    let remote_home = std::path::PathBuf::from(std::env::var_os("HOME").expect("HOME"));
    let leaked = stack.files_with_canary(&remote_home.join(".gantry").join(&stack.service));
    assert!(leaked.is_empty(), "the session secret was left on the ssh host in {leaked:?}");
    // The private folders the host steps made (env file, DOCKER_CONFIG) are
    // gone: the local transport made them under the commands' TMPDIR.
    let left: Vec<_> = std::fs::read_dir(&stack.tmp).unwrap().flatten().map(|e| e.path()).collect();
    assert!(left.is_empty(), "the deploys left {left:?} behind in TMPDIR");
    // `releases` prints no secret (checked by run()).
    let _ = stack.releases();
}

#[test]
fn build_flag_builds_pushes_and_deploys() {
    let g = Gantry::new();
    let config = DeployConfig { build_context: Some("app"), ..Default::default() };
    let stack = applied(&g, &config);
    write_app_context(&stack.dir.join("app"), "b1", &App { healthy: true, start_delay_secs: 0 });

    let started = Instant::now();
    stack.deploy(&["--build", "--tag", "b1"], 0);
    eprintln!("deploy --build of b1 took {:?}", started.elapsed());
    assert_eq!(stack.live_tag().as_deref(), Some("b1"));
    let mut tags = stack.services.registry_tags(&stack.repo);
    tags.sort();
    assert_eq!(tags, ["b1", "latest"], "pushed as the tag and as latest");
    let releases = stack.releases();
    assert_eq!(field(&releases[0], "tag"), "b1");
    assert_eq!(field(&releases[0], "result"), "healthy");
}

/// The harness's own checks: the app image and the loopback HTTP client work
/// without gantry, so a failing deploy test points at gantry.
#[test]
fn the_test_app_serves_health_and_its_environment() {
    let services = crate::support::services::Services::get();
    let g = Gantry::offline();
    let name = format!("{}-probe", g.prefix());
    let mut guard = crate::support::services::ProjectGuard::new(&name);
    guard.remove_on_drop(g.path().join("unused"));
    let good = services.build_app_image(&name, "good", true);
    let broken = services.build_app_image(&name, "broken", false);
    let (port_good, port_broken) = (free_port(), free_port());
    for (image, port) in [(&good, port_good), (&broken, port_broken)] {
        services.docker_ok([
            "run",
            "-d",
            "--network",
            "host",
            "--label",
            &format!("com.docker.compose.project={name}"),
            "-e",
            &format!("PORT={port}"),
            "-e",
            "APP_ENV=dev",
            "-e",
            "SESSION_SECRET=abc",
            image,
        ]);
    }
    let health = format!("http://127.0.0.1:{port_good}/health");
    let body = wait_for("the good app", Duration::from_secs(20), || match http_get(&health) {
        Some((200, body)) => Some(body),
        _ => None,
    });
    assert_eq!(body, "good");
    let (status, env) = http_get(&format!("http://127.0.0.1:{port_good}/cgi-bin/env")).expect("the CGI answers");
    assert_eq!(status, 200);
    assert!(env.contains("APP_ENV=dev\n"), "{env}");
    assert!(env.contains(&format!("SESSION_SECRET_SHA256={}\n", sha256_hex("abc"))), "{env}");
    let broken_health = format!("http://127.0.0.1:{port_broken}/health");
    let status = wait_for("the broken app", Duration::from_secs(20), || http_get(&broken_health).map(|(s, _)| s));
    assert_eq!(status, 404, "the broken app has no /health");
    assert_eq!(services.project_containers(&name).len(), 2);
    drop(guard);
    assert!(services.project_containers(&name).is_empty(), "the guard removed the containers");
}

/// The S3 keys of a bucket.
fn bucket_keys(bucket: &str) -> Vec<String> {
    let out = crate::support::block_on(crate::support::aws().s3.list_objects_v2().bucket(bucket).send())
        .expect("ListObjectsV2");
    out.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect()
}

#[test]
fn with_remote_state_the_lock_and_the_history_live_in_the_bucket() {
    let g = Gantry::new();
    let bucket = format!("{}-state", g.prefix());
    crate::support::block_on(crate::support::aws().s3.create_bucket().bucket(&bucket).send()).expect("CreateBucket");
    let config = DeployConfig {
        health_attempts: 40,
        health_interval: "500ms",
        extra_hcl: format!("\nenvironment \"{ENV}\" {{\n  backend \"s3\" {{\n    bucket = \"{bucket}\"\n  }}\n}}\n"),
        ..Default::default()
    };
    let stack = applied(&g, &config);
    assert!(bucket_keys(&bucket).contains(&format!("{STACK}/{ENV}.json")), "the state is in the bucket");
    stack.services.build_app(&stack.repo, "slow", &App { healthy: true, start_delay_secs: 3 });

    let first =
        stack.std_cmd("deploy", &["--tag", "slow"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let lock_keys = wait_for("the deploy lock in the bucket", Duration::from_secs(60), || {
        let keys: Vec<String> =
            bucket_keys(&bucket).into_iter().filter(|k| k.contains("deploy") && k.contains("lock")).collect();
        (!keys.is_empty()).then_some(keys)
    });
    let out = stack.deploy(&["--tag", "slow"], 1);
    assert!(stderr(&out).contains("deploy lock"), "{}", stderr(&out));
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(stack.live_tag().as_deref(), Some("slow"));

    let keys = bucket_keys(&bucket);
    assert!(keys.iter().all(|k| !lock_keys.contains(k)), "the deploy lock {lock_keys:?} is released: {keys:?}");
    let history: Vec<&String> = keys.iter().filter(|k| k.contains("releases")).collect();
    assert_eq!(history.len(), 1, "one release history in the bucket: {keys:?}");
    let aws = crate::support::aws();
    let body = crate::support::block_on(async {
        let out = aws.s3.get_object().bucket(&bucket).key(history[0].as_str()).send().await.expect("GetObject");
        out.body.collect().await.expect("reading the history").into_bytes().to_vec()
    });
    stack.assert_no_canary("the release history", &[&body]);
    assert!(crate::support::services::contains(&body, b"\"slow\""), "the history holds the release");
    assert!(!stack.history_file().exists(), "no local history beside a remote state");
    assert_eq!(field(&stack.releases()[0], "tag"), "slow");
    eprintln!("remote deploy lock key(s): {lock_keys:?}; history key: {}", history[0]);
}

#[test]
fn ctrl_c_stops_the_deploy_and_releases_the_lock() {
    let g = Gantry::new();
    // A release that never gets healthy keeps the deploy in its health check.
    let config = DeployConfig { health_attempts: 200, health_interval: "500ms", ..Default::default() };
    let stack = applied(&g, &config);
    stack.build("v1", true);
    stack.build("broken", false);
    stack.deploy(&["--tag", "v1"], 0);

    let mut second =
        stack.std_cmd("deploy", &["--tag", "broken"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for("the broken release's container", Duration::from_secs(60), || {
        (stack.live_tag().is_none() && stack.deploy_lock_file().exists()).then_some(())
    });
    // SIGINT, as a terminal's Ctrl-C sends it.
    unsafe { libc::kill(second.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "gantry deploy did not stop within 20 s of Ctrl-C");
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = second.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(130), "Ctrl-C exits 130:\n{}", stderr(&out));
    assert!(stderr(&out).contains("Interrupted"), "{}", stderr(&out));
    assert!(!stack.deploy_lock_file().exists(), "the deploy lock is released");
    assert_eq!(stack.releases().len(), 1, "nothing is recorded for the interrupted run");

    // The next deploy takes the lock and puts the good release back.
    stack.run("rollback", &["--to", "v1"], 0);
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
}

#[test]
fn a_deploy_killed_hard_leaves_a_lock_the_next_deploy_takes_over() {
    let g = Gantry::new();
    let config = DeployConfig { health_attempts: 20, health_interval: "500ms", ..Default::default() };
    let stack = applied(&g, &config);
    stack.build("v1", true);
    stack.build("broken", false);

    let mut killed =
        stack.std_cmd("deploy", &["--tag", "broken"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for("the broken release's container", Duration::from_secs(60), || {
        (!stack.containers().is_empty() && stack.deploy_lock_file().exists()).then_some(())
    });
    killed.kill().unwrap(); // SIGKILL: no chance to release anything
    killed.wait().unwrap();
    assert!(stack.deploy_lock_file().exists(), "kill -9 leaves the deploy lock");

    // The holder ran on this host and is provably gone (no process with its
    // pid and start time): the next deploy takes the lock over, saying so.
    let out = stack.deploy(&["--tag", "v1"], 0);
    let err = stderr(&out);
    assert!(err.contains(&format!("pid {}", killed.id())) && err.contains("taking it over"), "{err}");
    assert!(!stack.deploy_lock_file().exists(), "released after the deploy");
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
}

/// Puts a new version of one of the app's parameters behind gantry's back.
fn put_parameter(stack: &DeployStack, key: &str, value: &str, secure: bool) {
    let name = format!("{}/{key}", stack.ssm_path);
    let kind = if secure { "SecureString" } else { "String" };
    crate::support::block_on(
        crate::support::aws().ssm.put_parameter().name(&name).value(value).r#type(kind.into()).overwrite(true).send(),
    )
    .unwrap_or_else(|e| panic!("putting {name}: {e:?}"));
}

#[test]
fn rollback_runs_the_release_with_the_configuration_it_had() {
    let g = Gantry::new();
    let stack = applied(&g, &DeployConfig::default());
    stack.build("v1", true);
    stack.build("v2", true);
    stack.deploy(&["--tag", "v1"], 0);

    // A changed parameter and a changed secret, then a release with them.
    let second = format!("second-{}-secret-value", uuid::Uuid::new_v4());
    put_parameter(&stack, "APP_ENV", "prod", false);
    put_parameter(&stack, "SESSION_SECRET", &second, true);
    let out = stack.deploy(&["--tag", "v2"], 0);
    assert!(!crate::support::services::contains(&out.stderr, second.as_bytes()), "the new secret stays hidden");
    let env = stack.app_env();
    assert_eq!(env.get("APP_ENV").map(String::as_str), Some("prod"));
    assert_eq!(env.get("SESSION_SECRET_SHA256"), Some(&sha256_hex(&second)));
    let releases = stack.releases();
    assert_eq!(releases[0]["config"]["APP_ENV"], 2, "{}", releases[0]);
    assert_eq!(releases[0]["config"]["SESSION_SECRET"], 2, "{}", releases[0]);
    assert_eq!(releases[1]["config"]["APP_ENV"], 1, "{}", releases[1]);

    // The rollback runs v1 with v1's versions, and says which differ.
    let out = stack.run("rollback", &[], 0);
    let err = stderr(&out);
    assert!(!err.contains(&second), "the new secret stays hidden");
    assert!(err.contains("APP_ENV (version 1; today 2)"), "{err}");
    assert!(err.contains("SESSION_SECRET (version 1; today 2)"), "{err}");
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
    let env = stack.app_env();
    assert_eq!(env.get("APP_ENV").map(String::as_str), Some("staging"), "the old value, inside the app");
    assert_eq!(env.get("SESSION_SECRET_SHA256"), Some(&sha256_hex(&stack.canary)), "the old secret");
    let releases = stack.releases();
    assert_eq!(field(&releases[0], "kind"), "rollback");
    assert_eq!(releases[0]["config"]["APP_ENV"], 1, "{}", releases[0]);

    // SSM itself was not rewritten: its current values are still the new ones.
    let name = format!("{}/APP_ENV", stack.ssm_path);
    let current = crate::support::block_on(crate::support::aws().ssm.get_parameter().name(&name).send()).unwrap();
    let p = current.parameter().unwrap();
    assert_eq!((p.value(), p.version()), (Some("prod"), 2));

    // A version SSM no longer holds (here a deleted parameter): the
    // rollback stops before any host, and v1 keeps serving.
    stack.delete_parameter("FEATURE_X");
    let out = stack.run("rollback", &["--to", "v2"], 1);
    let err = stderr(&out);
    assert!(err.contains("SSM no longer holds the versions of FEATURE_X"), "{err}");
    assert!(err.contains("no host was touched"), "{err}");
    assert_eq!(stack.live_tag().as_deref(), Some("v1"));
}
