//! Remote state in S3, configured per environment in `gantry.hcl`: the S3
//! backend keeps the same contract as local files (one conformance test for
//! both), commands go through it, locks name their holder and are released,
//! foreign writes are refused, local state is migrated without loss, and
//! protected environments need their name typed or --auto-approve.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use gantry::state::backend::conformance;
use gantry::state::{S3Backend, State};
use predicates::prelude::*;

use crate::support::{aws, block_on, slow_apply_args, Gantry, SLOW_N, SLOW_STACK};

const SECRET: &str = "remote-state-secret-canary";

/// A fresh state bucket (and lock table) named after the test's prefix.
struct Remote {
    bucket: String,
    table: Option<String>,
}

impl Remote {
    fn new(g: &Gantry, with_table: bool) -> Remote {
        let aws = aws();
        let bucket = format!("{}-state", g.prefix());
        block_on(aws.s3.create_bucket().bucket(&bucket).send()).expect("CreateBucket");
        let table = with_table.then(|| {
            let table = format!("{}-locks", g.prefix());
            block_on(
                aws.dynamodb
                    .create_table()
                    .table_name(&table)
                    .billing_mode(BillingMode::PayPerRequest)
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name("LockID")
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .unwrap(),
                    )
                    .key_schema(
                        KeySchemaElement::builder().attribute_name("LockID").key_type(KeyType::Hash).build().unwrap(),
                    )
                    .send(),
            )
            .expect("CreateTable");
            table
        });
        Remote { bucket, table }
    }

    /// A `gantry.hcl` putting environment `env` in this bucket.
    fn settings(&self, env: &str, extra: &str) -> String {
        let table = self.table.as_ref().map(|t| format!("    lock_table = \"{t}\"\n")).unwrap_or_default();
        format!(
            "environment \"{env}\" {{\n{extra}  backend \"s3\" {{\n    bucket = \"{}\"\n{table}  }}\n}}\n",
            self.bucket
        )
    }

    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let aws = aws();
        match block_on(async { aws.s3.get_object().bucket(&self.bucket).key(key).send().await }) {
            Ok(out) => Some(block_on(out.body.collect()).unwrap().into_bytes().to_vec()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => None,
            Err(e) => panic!("GetObject {key}: {e:?}"),
        }
    }

    fn put(&self, key: &str, body: Vec<u8>) {
        let aws = aws();
        block_on(aws.s3.put_object().bucket(&self.bucket).key(key).body(body.into()).send()).expect("PutObject");
    }

    /// The state at `key`, parsed, if there is one.
    fn state(&self, key: &str) -> Option<State> {
        self.get(key).map(|bytes| serde_json::from_slice(&bytes).expect("remote state must always be valid JSON"))
    }

    /// The lock item of `key` in the lock table, if any.
    fn lock_item(&self, key: &str) -> Option<serde_json::Value> {
        let aws = aws();
        let table = self.table.as_ref().expect("a lock table");
        let answer = block_on(
            aws.dynamodb
                .get_item()
                .table_name(table)
                .key("LockID", AttributeValue::S(format!("{}/{key}", self.bucket)))
                .consistent_read(true)
                .send(),
        )
        .expect("GetItem");
        let info = answer.item()?.get("Info")?.as_s().ok()?.clone();
        Some(serde_json::from_str(&info).expect("the lock's Info is JSON"))
    }

    fn backend(&self, key: &str) -> S3Backend {
        let aws = aws();
        S3Backend::with_clients(
            aws.s3.clone(),
            aws.dynamodb.clone(),
            aws.ssm.clone(),
            &self.bucket,
            key,
            self.table.as_deref(),
        )
    }
}

// ---------------------------------------------------------------------------
// The backend itself

#[test]
fn s3_backend_keeps_the_backend_contract_with_a_lock_object() {
    let g = Gantry::new();
    let remote = Remote::new(&g, false);
    // As gantry bootstrap makes it: versioned, so deleting the lock object
    // leaves a delete marker that a new conditional lock write must ignore.
    let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    block_on(aws().s3.put_bucket_versioning().bucket(&remote.bucket).versioning_configuration(versioning).send())
        .expect("PutBucketVersioning");
    block_on(conformance(&remote.backend("stack/dev.json")));
    // The last lock of the conformance test was released when dropped.
    assert!(remote.get("stack/dev.json.lock").is_none(), "the lock object was deleted on drop");
    assert!(remote.state("stack/dev.json").is_some());
}

#[test]
fn s3_backend_keeps_the_backend_contract_with_a_lock_table() {
    let g = Gantry::new();
    let remote = Remote::new(&g, true);
    block_on(conformance(&remote.backend("stack/dev.json")));
    assert!(remote.lock_item("stack/dev.json").is_none(), "the lock item was deleted on drop");
    assert!(remote.get("stack/dev.json.lock").is_none(), "no lock object with a lock table");
}

// ---------------------------------------------------------------------------
// Commands through an S3 backend

fn with_vars(g: &Gantry, stack: &Path, mut cmd: assert_cmd::Command) -> assert_cmd::Command {
    cmd.arg("-s").arg(stack).args(["-e", "test", "-var", &g.prefix_var()]).env("TF_VAR_secret", SECRET);
    cmd
}

fn run(g: &Gantry, stack: &Path, args: &[&str]) -> assert_cmd::Command {
    with_vars(g, stack, g.cmd(args))
}

#[test]
fn plan_apply_no_changes_destroy_through_s3() {
    let g = Gantry::new();
    let remote = Remote::new(&g, true);
    let stack = g.fixture("basic");
    std::fs::write(stack.join("gantry.hcl"), remote.settings("test", "")).unwrap();
    let key = "basic/test.json";

    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(2).stdout(predicate::str::contains("6 to add"));
    assert!(remote.state(key).is_none(), "plan writes no state");

    run(&g, &stack, &["apply", "--auto-approve"]).assert().success().stdout(predicate::str::contains("6 added"));
    let state = remote.state(key).expect("the state is in S3");
    assert_eq!(state.resources.len(), 6);
    assert!(!String::from_utf8(remote.get(key).unwrap()).unwrap().contains(SECRET), "no secret in remote state");
    assert!(!g.state_dir().join("basic").exists(), "nothing written locally");
    assert!(remote.lock_item(key).is_none(), "the lock was released");
    // The hash key is an SSM SecureString of the lineage, not in the object
    // nor in the local key folder.
    let stored = block_on(
        aws().ssm.get_parameter().name(format!("/gantry/state-keys/{}", state.lineage)).with_decryption(true).send(),
    )
    .expect("the hash key is in SSM");
    let parameter = stored.parameter().unwrap();
    assert_eq!(parameter.r#type(), Some(&aws_sdk_ssm::types::ParameterType::SecureString));
    let hash_key = parameter.value().unwrap();
    let object = String::from_utf8(remote.get(key).unwrap()).unwrap();
    let document: serde_json::Value = serde_json::from_str(&object).unwrap();
    assert!(!object.contains(hash_key) && document.get("hash_key").is_none(), "the key is not in the state object");
    assert_eq!(document["version"], 2);
    assert!(!g.path().join("keys").exists(), "no local key for a remote state");

    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0).stdout(predicate::str::contains("No changes"));
    g.cmd(["state", "list", "-s"])
        .arg(&stack)
        .args(["-e", "test"])
        .assert()
        .success()
        .stdout(predicate::str::contains("aws_dynamodb_table.items"));
    g.cmd(["output", "-s"])
        .arg(&stack)
        .args(["-e", "test", "table_name"])
        .assert()
        .success()
        .stdout(format!("{}-items\n", g.prefix()));

    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success().stdout(predicate::str::contains("6 destroyed"));
    let after = remote.state(key).unwrap();
    assert!(after.resources.is_empty());
    assert_eq!(after.lineage, state.lineage, "one history");
    assert!(after.serial > state.serial);
    assert!(remote.lock_item(key).is_none());
}

const KEY: &str = "s/default.json";

/// A stack `s` of SLOW_N parameters, with its default environment in S3.
fn slow_stack(g: &Gantry, remote: &Remote) {
    g.write("s/main.tf", SLOW_STACK);
    g.write("s/gantry.hcl", remote.settings("default", ""));
}

/// Waits until the running apply has recorded at least `n` resources remotely.
fn wait_for_progress(child: &mut Child, remote: &Remote, n: usize) -> State {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(state) = remote.state(KEY).filter(|s| s.resources.len() >= n) {
            return state;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before it was interrupted");
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
            }
            panic!("apply made no progress; its stderr:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn converge(g: &Gantry, remote: &Remote) {
    g.cmd(slow_apply_args(g)).assert().success();
    assert_eq!(remote.state(KEY).unwrap().resources.len(), SLOW_N);
    g.cmd(["plan", "--detailed-exitcode", "-s", "s", "-var", &g.prefix_var(), "-var", &format!("n={SLOW_N}")])
        .assert()
        .code(0);
    g.cmd(["destroy", "--auto-approve", "-s", "s", "-var", &g.prefix_var(), "-var", &format!("n={SLOW_N}")])
        .assert()
        .success();
    assert!(remote.state(KEY).unwrap().resources.is_empty());
}

#[test]
fn a_second_apply_through_s3_fails_fast_naming_the_holder() {
    let g = Gantry::new();
    let remote = Remote::new(&g, true);
    slow_stack(&g, &remote);
    let mut first = g.spawn(slow_apply_args(&g));
    wait_for_progress(&mut first, &remote, 1);
    let holder = remote.lock_item(KEY).expect("the first apply holds the lock item");
    assert_eq!(holder["pid"], first.id());
    g.cmd(slow_apply_args(&g))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("state is locked by"))
        .stderr(predicate::str::contains("operation apply"))
        .stderr(predicate::str::contains(format!("pid {}", first.id())));
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "the first apply is undisturbed: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(remote.state(KEY).unwrap().resources.len(), SLOW_N, "nothing lost");
    assert!(remote.lock_item(KEY).is_none(), "released at the end");
    converge(&g, &remote);
}

#[test]
fn a_killed_holders_s3_lock_is_cleared_by_force_unlock() {
    let g = Gantry::new();
    let remote = Remote::new(&g, false);
    slow_stack(&g, &remote);
    let mut child = g.spawn(slow_apply_args(&g));
    wait_for_progress(&mut child, &remote, 3);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let lock_key = format!("{KEY}.lock");
    let lock: serde_json::Value =
        serde_json::from_slice(&remote.get(&lock_key).expect("the killed run's lock object is left")).unwrap();
    let id = lock["ID"].as_str().unwrap().to_string();
    let out = g.cmd(slow_apply_args(&g)).assert().code(1).stderr(predicate::str::contains("state is locked by"));
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("no longer running"), "{stderr}");
    assert!(stderr.contains(&id), "{stderr}");

    g.cmd(["force-unlock", "-s", "s", "not-the-id"]).assert().code(1).stderr(predicate::str::contains(&id));
    g.cmd(["force-unlock", "-s", "s", &id])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("Lock {id} removed")));
    assert!(remote.get(&lock_key).is_none());
    converge(&g, &remote);
}

#[test]
fn a_write_behind_gantrys_back_is_refused_and_left_untouched() {
    let g = Gantry::new();
    let remote = Remote::new(&g, false);
    slow_stack(&g, &remote);
    let mut child = g.spawn(slow_apply_args(&g));
    let state = wait_for_progress(&mut child, &remote, 3);
    // Someone else writes the state while the apply runs.
    let mut foreign = state.clone();
    foreign.serial += 100;
    let written = foreign.to_json().into_bytes();
    remote.put(KEY, written.clone());

    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("changed by someone else"), "{stderr}");
    assert!(stderr.contains(&format!("found serial {}", foreign.serial)), "{stderr}");
    assert_eq!(remote.get(KEY).unwrap(), written, "the other writer's state is untouched");
    assert!(remote.get(&format!("{KEY}.lock")).is_none(), "the refused run released its lock");
}

#[test]
fn migrate_moves_local_state_to_s3_keeping_lineage_and_serial() {
    let g = Gantry::new();
    let remote = Remote::new(&g, true);
    let stack = g.fixture("basic");
    run(&g, &stack, &["apply", "--auto-approve"]).assert().success();
    let local_path = g.state_dir().join("basic/test.json");
    let local: State = serde_json::from_str(&std::fs::read_to_string(&local_path).unwrap()).unwrap();
    let key = "basic/test.json";

    // From now on the environment lives in S3, which is still empty: plan
    // and apply refuse to start from nothing.
    std::fs::write(stack.join("gantry.hcl"), remote.settings("test", "")).unwrap();
    for args in [&["plan"][..], &["apply", "--auto-approve"]] {
        run(&g, &stack, args)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("holds no state yet"))
            .stderr(predicate::str::contains("gantry state migrate"))
            .stderr(predicate::str::contains("-e test"));
    }
    assert!(remote.state(key).is_none());

    // Another lineage already there: refused, nothing touched.
    let mut other = State::new();
    other.serial = 7;
    remote.put(key, other.to_json().into_bytes());
    g.cmd(["state", "migrate", "-s"])
        .arg(&stack)
        .args(["-e", "test"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("another lineage"));
    assert!(local_path.exists());
    assert_eq!(remote.state(key).unwrap(), other);
    block_on(aws().s3.delete_object().bucket(&remote.bucket).key(key).send()).unwrap();

    g.cmd(["state", "migrate", "-s"])
        .arg(&stack)
        .args(["-e", "test"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("s3://{}/{key}", remote.bucket)))
        .stdout(predicate::str::contains("test.json.migrated"));
    let moved = remote.state(key).unwrap();
    assert_eq!(moved.lineage, local.lineage);
    assert_eq!(moved.serial, local.serial);
    assert_eq!(moved, local);
    assert!(!local_path.exists());
    assert!(g.state_dir().join("basic/test.json.migrated").exists(), "the local copy is kept, renamed");
    assert!(remote.lock_item(key).is_none());

    run(&g, &stack, &["plan", "--detailed-exitcode"]).assert().code(0);
    // Migrating again: nothing local left to move.
    g.cmd(["state", "migrate", "-s"])
        .arg(&stack)
        .args(["-e", "test"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no local state"));
    run(&g, &stack, &["destroy", "--auto-approve"]).assert().success();
}

#[test]
fn migrate_needs_a_remote_backend() {
    let g = Gantry::offline();
    g.write("s/main.tf", SLOW_STACK);
    g.cmd(["state", "migrate", "-s", "s", "-e", "dev"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("keeps its state locally"))
        .stderr(predicate::str::contains("gantry.hcl"));
}

// ---------------------------------------------------------------------------
// gantry.hcl: protection and errors

#[test]
fn protected_environment_needs_approval_and_auto_approve_passes() {
    let g = Gantry::new();
    g.write("s/main.tf", SLOW_STACK);
    g.write("s/gantry.hcl", "environment \"prod\" {\n  protect = true\n}\n");
    let vars = ["-s", "s", "-e", "prod", "-var", &g.prefix_var(), "-var", "n=1"];
    for verb in ["apply", "destroy"] {
        g.cmd([verb])
            .args(vars)
            .assert()
            .code(1)
            .stderr(predicate::str::contains("needs approval"))
            .stderr(predicate::str::contains("\"prod\" is protected"));
    }
    assert!(!g.state_dir().join("s/prod.json").exists(), "nothing applied");
    g.cmd(["apply", "--auto-approve"]).args(vars).assert().success().stdout(predicate::str::contains("1 added"));
    g.cmd(["destroy", "--auto-approve"]).args(vars).assert().success();
}

#[test]
fn a_bad_gantry_hcl_is_an_error_with_file_and_line() {
    let g = Gantry::offline();
    g.write("s/main.tf", SLOW_STACK);
    g.write(
        "s/gantry.hcl",
        "environment \"prod\" {\n  backend \"s3\" {\n    bucket = \"b-b-b\"\n    encrypt = true\n  }\n}\nmodule {}\n",
    );
    let check = |args: &[&str]| {
        g.cmd(args)
            .args(["-s", "s", "-e", "prod", "-var", &g.prefix_var(), "-var", "n=1"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("Unsupported argument \"encrypt\" in an s3 backend"))
            .stderr(predicate::str::contains("gantry.hcl:4:5"))
            .stderr(predicate::str::contains("Unsupported block type \"module\""))
            .stderr(predicate::str::contains("gantry.hcl:7:1"))
            .stderr(predicate::str::contains("panicked").not());
    };
    check(&["validate"]);
    check(&["plan"]);
    check(&["apply", "--auto-approve"]);
    g.cmd(["state", "list", "-s", "s", "-e", "prod"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("gantry.hcl:4:5"));
}

/// A remote lock carries an expiry that its holder pushes forward while it
/// works: a run longer than the lock's lifetime keeps its lock, and once a
/// holder is killed its lock is taken over after it expired, with a note
/// naming the old holder (no force-unlock needed).
#[test]
fn a_remote_lock_beats_while_held_and_is_taken_over_once_expired() {
    const TTL: &str = "1";
    let g = Gantry::new();
    let remote = Remote::new(&g, true);
    slow_stack(&g, &remote);
    // Long enough to outlive the lock's one-second lifetime several times.
    let long_apply: Vec<String> =
        ["apply", "--auto-approve", "-s", "s", "-var", &g.prefix_var(), "-var", "n=200", "--parallelism", "1"]
            .map(String::from)
            .to_vec();
    let mut cmd = g.std_command();
    cmd.arg("--state-dir")
        .arg(g.state_dir())
        .args(&long_apply)
        .env("GANTRY_LOCK_TTL_SECS", TTL)
        // Not piped: nobody reads the long plan, and a full pipe would stall it.
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut first = cmd.spawn().unwrap();
    wait_for_progress(&mut first, &remote, 1);
    let expiry = |item: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(item["expires"].as_str().expect("a remote lock has an expiry")).unwrap()
    };
    let before = expiry(&remote.lock_item(KEY).expect("the lock item"));
    std::thread::sleep(Duration::from_millis(2500));
    assert!(first.try_wait().unwrap().is_none(), "the apply ended before its lock could expire; make it longer");
    let holder = remote.lock_item(KEY).expect("still held");
    assert!(expiry(&holder) > before + chrono::Duration::seconds(1), "the heartbeat moved the expiry: {holder}");
    assert_eq!(holder["pid"], first.id());
    // Past its first expiry, a live holder's lock is still refused.
    g.cmd(&long_apply)
        .env("GANTRY_LOCK_TTL_SECS", TTL)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("state is locked by"))
        .stderr(predicate::str::contains(format!("pid {}", first.id())));

    first.kill().unwrap(); // SIGKILL: no release, no more heartbeat
    first.wait().unwrap();
    let left = remote.lock_item(KEY).expect("the killed run's lock item is left");
    std::thread::sleep(Duration::from_millis(1500));
    let out = g.cmd(slow_apply_args(&g)).env("GANTRY_LOCK_TTL_SECS", TTL).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("without a heartbeat; taking it over"), "{stderr}");
    assert!(stderr.contains(left["ID"].as_str().unwrap()), "the note names the old lock: {stderr}");
    assert!(remote.lock_item(KEY).is_none(), "released at the end");
    converge(&g, &remote);
}
