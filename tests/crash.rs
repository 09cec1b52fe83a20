//! Killing an apply at any point leaves a readable state, and the next apply
//! converges with no duplicate and no orphan. Ctrl-C stops starting new work,
//! finishes what is in flight, saves and exits non-zero.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::{aws, block_on, slow_apply_args, Aws, Gantry, Moto, SLOW_N, SLOW_STACK};

/// Resources recorded in the state file, read the way a second process would.
fn recorded(state: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(state).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).expect("state must always be readable JSON");
    Some(json["resources"].as_array().map(Vec::len).unwrap_or(0))
}

/// Waits until the running apply has recorded at least `n` resources.
fn wait_for_progress(child: &mut Child, state: &Path, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if recorded(state).is_some_and(|k| k >= n) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before it was interrupted");
        }
        assert!(Instant::now() < deadline, "apply made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Names of the parameters under the test's prefix that exist in AWS.
fn live_parameters(prefix: &str) -> Vec<String> {
    live_parameters_in(&aws(), prefix)
}

/// The same, in the emulator `aws` talks to.
fn live_parameters_in(aws: &Aws, prefix: &str) -> Vec<String> {
    use aws_sdk_ssm::types::ParameterStringFilter;
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("BeginsWith")
            .values(format!("/{prefix}/"))
            .build()
            .unwrap();
        let page =
            block_on(aws.ssm.describe_parameters().parameter_filters(filter).set_next_token(token).send()).unwrap();
        names.extend(page.parameters().iter().filter_map(|p| p.name().map(str::to_string)));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    names.sort();
    names
}

fn converge_and_check(g: &Gantry) {
    converge_and_check_in(g, &aws());
}

/// The same, for a Gantry on its own emulator, which `aws` talks to.
fn converge_and_check_in(g: &Gantry, aws: &Aws) {
    let live_parameters = |prefix: &str| live_parameters_in(aws, prefix);
    g.cmd(slow_apply_args(g)).assert().success();
    let state = g.state_dir().join("s/default.json");
    assert_eq!(recorded(&state), Some(SLOW_N), "every parameter is in state once");
    let live = live_parameters(g.prefix());
    assert_eq!(live.len(), SLOW_N, "no duplicate, none missing: {live:?}");
    g.cmd(["plan", "--detailed-exitcode", "-s", "s", "-var", &g.prefix_var(), "-var", &format!("n={SLOW_N}")])
        .assert()
        .code(0);
    g.cmd(["destroy", "--auto-approve", "-s", "s", "-var", &g.prefix_var(), "-var", &format!("n={SLOW_N}")])
        .assert()
        .success();
    assert!(live_parameters(g.prefix()).is_empty(), "destroy leaves nothing behind");
}

#[test]
fn sigkill_mid_apply_then_apply_converges() {
    let g = Gantry::new();
    g.write("s/main.tf", SLOW_STACK);
    let state = g.state_dir().join("s/default.json");
    let mut child = g.spawn(slow_apply_args(&g));
    wait_for_progress(&mut child, &state, 5);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let k = recorded(&state).expect("state exists after the kill");
    assert!((5..SLOW_N).contains(&k), "killed mid-way: {k} of {SLOW_N} recorded");

    // The killed run's lock is still there. Its holder ran on this host and
    // is provably gone (no process with its pid and start time): the next
    // run takes the lock over, saying so, with no force-unlock needed.
    let lock = g.state_dir().join("s/default.json.lock");
    assert!(lock.exists());
    let info: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&lock).unwrap()).unwrap();
    assert!(info["start_time"].as_u64().is_some(), "the lock records its holder's start time: {info}");
    let out = g.cmd(slow_apply_args(&g)).assert().success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("no longer running; taking it over"), "{stderr}");
    assert!(!lock.exists(), "the apply released the lock it took over");

    converge_and_check(&g);
}

#[test]
fn ctrl_c_finishes_in_flight_work_saves_and_exits_nonzero() {
    let g = Gantry::new();
    g.write("s/main.tf", SLOW_STACK);
    let state = g.state_dir().join("s/default.json");
    let mut child = g.spawn(slow_apply_args(&g));
    wait_for_progress(&mut child, &state, 3);
    // SAFETY: signalling a child we spawned, by its PID.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Interrupt received"), "{stderr}");
    let k = recorded(&state).unwrap();
    assert!(k < SLOW_N, "stopped before the end: {k}");
    // Everything created so far is recorded: nothing is in flight any more.
    assert_eq!(live_parameters(g.prefix()).len(), k);
    assert!(!g.state_dir().join("s/default.json.lock").exists(), "lock released");
    converge_and_check(&g);
}

#[test]
fn a_second_ctrl_c_aborts_at_once_and_still_releases_the_lock() {
    // An emulator of its own, to freeze: the operation in flight then hangs
    // until the second Ctrl-C, as a slow AWS call would.
    let moto = Moto::start();
    let g = Gantry::with_moto(&moto);
    g.write("s/main.tf", SLOW_STACK);
    let state = g.state_dir().join("s/default.json");
    let mut child = g.spawn(slow_apply_args(&g));
    wait_for_progress(&mut child, &state, 3);
    let signal = |pid: u32, sig| {
        // SAFETY: signalling processes this test started, by their PIDs.
        unsafe {
            libc::kill(pid as libc::pid_t, sig);
        }
    };
    signal(moto.pid(), libc::SIGSTOP);
    std::thread::sleep(Duration::from_millis(300));
    signal(child.id(), libc::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    let still_running = child.try_wait().unwrap().is_none();
    signal(child.id(), libc::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the second Ctrl-C did not end the apply");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(moto.pid(), libc::SIGCONT);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(still_running, "the first Ctrl-C waits for the operation in flight: {stderr}");
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Second interrupt"), "{stderr}");
    assert!(!g.state_dir().join("s/default.json.lock").exists(), "lock released");
    // Whatever was in flight is adopted or created by the next run.
    converge_and_check_in(&g, &Aws::for_moto(&moto));
}

#[test]
fn a_second_apply_fails_fast_naming_the_holder() {
    let g = Gantry::new();
    g.write("s/main.tf", SLOW_STACK);
    let state = g.state_dir().join("s/default.json");
    let mut first = g.spawn(slow_apply_args(&g));
    wait_for_progress(&mut first, &state, 1);
    // Had it waited for the lock, it would have succeeded once the first
    // finished: exit 1 while the first still runs means it failed fast.
    g.cmd(slow_apply_args(&g))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("state is locked by"))
        .stderr(predicate::str::contains("operation apply"))
        .stderr(predicate::str::contains(format!("pid {}", first.id())));
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "the first apply is undisturbed: {}", String::from_utf8_lossy(&out.stderr));
    converge_and_check(&g);
}
