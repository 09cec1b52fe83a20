//! Fault-proof applies: random small stacks applied through the fault proxy
//! (5xx, throttling, latency, dropped connections, lost answers to creates,
//! eventual consistency) by seeded schedules, and applies, destroys and
//! `create_before_destroy` replaces killed with SIGKILL at random points.
//! After each faulted run one clean apply must converge, and then what is
//! live in the emulator equals state exactly (no orphan, no duplicate;
//! checked by listing each service), plan says "No changes" and destroy
//! leaves nothing.
//!
//! CI runs a fixed set of seeds; `GANTRY_FAULT_SCHEDULES=N` runs N (from
//! `GANTRY_FAULT_SEED`, default 1), which is what `scripts/chaos.sh N` does.
//! A failure names its seed: rerun it alone with
//! `GANTRY_FAULT_SEED=S GANTRY_FAULT_SCHEDULES=1`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::fault_proxy::{Consistency, Fault, FaultProxy, Schedule};
use crate::support::{block_on, Aws, Gantry, Moto};

/// Lost answers to creates every faulted run gets at least.
const MIN_LOST_CREATES: usize = 2;
/// Lost answers to other writes every faulted run of a changed stack gets.
const MIN_LOST_WRITES: usize = 1;
/// Schedules CI runs (see the module comment for more). Measured on the
/// 2-core development machine under load: 2.3 s a schedule on 4 emulators,
/// and 50 kill trials beside them: 300 + 50 take about 11 minutes.
const CI_SCHEDULES: u64 = 300;
/// Emulators side by side (moto serializes its work; the runs spend much
/// of their time waiting out emulated delays).
const WORKERS: usize = 4;
const SECRET: &str = "fault-canary-3b8e1d-never-in-state";

/// One emulator and one proxy in front of it, shared by a batch of runs.
struct Bench {
    moto: Moto,
    proxy: FaultProxy,
    aws: Aws,
    g: Gantry,
}

impl Bench {
    fn new() -> Bench {
        let moto = Moto::start_lean();
        let proxy = FaultProxy::start(moto.addr(), Schedule::clean());
        let aws = Aws::for_moto(&moto);
        let g = Gantry::with_url(&proxy.endpoint());
        Bench { moto, proxy, aws, g }
    }

    fn run(&self, stack: &str, args: &[&str]) -> Output {
        self.g
            .cmd(args)
            .args(["-s", stack, "-var", &self.g.prefix_var()])
            .env("TF_VAR_secret", SECRET)
            .env("GANTRY_RETRY_INITIAL_BACKOFF_MS", "25")
            .output()
            .expect("running gantry")
    }

    fn spawn(&self, stack: &str, args: &[&str]) -> std::process::Child {
        let mut full: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        full.extend(["-s".into(), stack.into(), "-var".into(), self.g.prefix_var()]);
        let mut cmd = self.g.std_command();
        cmd.arg("--state-dir")
            .arg(self.g.state_dir())
            .args(&full)
            .env("TF_VAR_secret", SECRET)
            .env("GANTRY_RETRY_INITIAL_BACKOFF_MS", "25")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd.spawn().expect("spawning gantry")
    }

    fn state_file(&self, stack: &str) -> std::path::PathBuf {
        self.g.state_dir().join(stack).join("default.json")
    }
}

fn text(out: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

// ---------------------------------------------------------------------------
// random stacks

/// A random small stack: SSM parameters (count and for_each), DynamoDB
/// tables, S3 buckets, IAM roles with inline policies, security groups and
/// EC2 instances, with references between them. `changed` draws the same
/// stack with changes that are not creates: tags, a policy, a rule, values,
/// and one parameter fewer, so that an apply of it is made of updates and
/// deletes (the random draws do not depend on it).
fn random_stack(seed: u64, changed: bool) -> String {
    let v = if changed { "2" } else { "" };
    let action = if changed { "s3:Get*" } else { "s3:GetObject" };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut tf = String::from(
        "variable \"prefix\" {\n  type = string\n}\n\nvariable \"secret\" {\n  type      = string\n  sensitive = true\n}\n\n",
    );
    let mut arns: Vec<String> = Vec::new();
    for t in 0..rng.random_range(0..=1) {
        let _ = writeln!(
            tf,
            "resource \"aws_dynamodb_table\" \"t{t}\" {{\n  name         = \"${{var.prefix}}-t{t}\"\n  billing_mode = \"PAY_PER_REQUEST\"\n  hash_key     = \"id\"\n\n  attribute {{\n    name = \"id\"\n    type = \"S\"\n  }}\n  tags = {{\n    v = \"t{v}\"\n  }}\n}}\n"
        );
        arns.push(format!("aws_dynamodb_table.t{t}.arn"));
    }
    for b in 0..rng.random_range(0..=2) {
        let _ = writeln!(
            tf,
            "resource \"aws_s3_bucket\" \"b{b}\" {{\n  bucket        = \"${{var.prefix}}-b{b}\"\n  force_destroy = true\n  tags = {{\n    n = \"{b}{v}\"\n  }}\n}}\n"
        );
        arns.push(format!("aws_s3_bucket.b{b}.arn"));
    }
    let roles = rng.random_range(0..=1);
    for r in 0..roles {
        let _ = writeln!(
            tf,
            "resource \"aws_iam_role\" \"r{r}\" {{\n  name = \"${{var.prefix}}-r{r}\"\n  assume_role_policy = jsonencode({{\n    Version = \"2012-10-17\"\n    Statement = [{{ Effect = \"Allow\", Principal = {{ Service = \"ec2.amazonaws.com\" }}, Action = \"sts:AssumeRole\" }}]\n  }})\n}}\n"
        );
        if rng.random_bool(0.7) {
            let resource = arns.first().cloned().unwrap_or_else(|| "\"*\"".into());
            let _ = writeln!(
                tf,
                "resource \"aws_iam_role_policy\" \"r{r}\" {{\n  name = \"p{r}\"\n  role = aws_iam_role.r{r}.name\n  policy = jsonencode({{\n    Version = \"2012-10-17\"\n    Statement = [{{ Effect = \"Allow\", Action = [\"{action}\"], Resource = {resource} }}]\n  }})\n}}\n"
            );
        }
        arns.push(format!("aws_iam_role.r{r}.arn"));
    }
    let groups = rng.random_range(0..=1);
    let port = if changed { 8080 } else { 80 };
    for s in 0..groups {
        let _ = writeln!(
            tf,
            "resource \"aws_security_group\" \"g{s}\" {{\n  name        = \"${{var.prefix}}-g{s}\"\n  description = \"fault test\"\n\n  ingress {{\n    from_port   = {port}\n    to_port     = {port}\n    protocol    = \"tcp\"\n    cidr_blocks = [\"0.0.0.0/0\"]\n  }}\n}}\n"
        );
    }
    for i in 0..rng.random_range(0..=1) {
        let groups = if groups > 0 { "\n  vpc_security_group_ids = [aws_security_group.g0.id]" } else { "" };
        // With a role: an instance profile the new instance uses (AWS may
        // not know a new profile for a while: emulated by the proxy).
        let profile = if roles > 0 && rng.random_bool(0.7) {
            let _ = writeln!(
                tf,
                "resource \"aws_iam_instance_profile\" \"i{i}\" {{\n  name = \"${{var.prefix}}-i{i}\"\n  role = aws_iam_role.r0.name\n}}\n"
            );
            format!("\n  iam_instance_profile = aws_iam_instance_profile.i{i}.name")
        } else {
            String::new()
        };
        let _ = writeln!(
            tf,
            "resource \"aws_instance\" \"i{i}\" {{\n  ami           = \"ami-12c6146b\"\n  instance_type = \"t3.micro\"{groups}{profile}\n  tags = {{\n    Name = \"${{var.prefix}}-i{i}{v}\"\n  }}\n}}\n"
        );
    }
    // Parameters: at least two creates in every stack, so every run can
    // lose the answers to some.
    let groups = rng.random_range(1..=2);
    for p in 0..groups {
        let refers = arns.get(rng.random_range(0..arns.len().max(1))).cloned();
        let value = match refers {
            Some(r) if rng.random_bool(0.5) => format!("\"${{{r}}}{v}\""),
            _ => format!("\"v${{var.prefix}}{v}\""),
        };
        if rng.random_bool(0.5) {
            let n = rng.random_range(2..=3);
            let _ = writeln!(
                tf,
                "resource \"aws_ssm_parameter\" \"p{p}\" {{\n  count          = {n}\n  name           = \"/${{var.prefix}}/p{p}/${{count.index}}\"\n  type           = \"String\"\n  insecure_value = {value}\n}}\n"
            );
        } else {
            let _ = writeln!(
                tf,
                "resource \"aws_ssm_parameter\" \"p{p}\" {{\n  for_each       = toset([\"a\", \"b\"])\n  name           = \"/${{var.prefix}}/p{p}/${{each.key}}\"\n  type           = \"String\"\n  insecure_value = {value}\n}}\n"
            );
        }
    }
    if rng.random_bool(0.5) && !changed {
        tf.push_str(
            "resource \"aws_ssm_parameter\" \"secret\" {\n  name  = \"/${var.prefix}/secret\"\n  type  = \"SecureString\"\n  value = var.secret\n}\n",
        );
    }
    tf
}

// ---------------------------------------------------------------------------
// live == state

/// What exists in the emulator, per resource type, as the ids state uses.
fn live(aws: &Aws) -> BTreeMap<&'static str, Vec<String>> {
    block_on(async {
        let mut out: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        let mut params = Vec::new();
        let mut token = None;
        loop {
            let page = aws.ssm.describe_parameters().set_next_token(token).send().await.expect("DescribeParameters");
            params.extend(page.parameters().iter().filter_map(|p| p.name().map(String::from)));
            token = page.next_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
        out.insert("aws_ssm_parameter", params);
        let tables = aws.dynamodb.list_tables().send().await.expect("ListTables");
        out.insert("aws_dynamodb_table", tables.table_names().to_vec());
        let buckets = aws.s3.list_buckets().send().await.expect("ListBuckets");
        out.insert("aws_s3_bucket", buckets.buckets().iter().filter_map(|b| b.name().map(String::from)).collect());
        let roles = aws.iam.list_roles().send().await.expect("ListRoles");
        let mut role_names = Vec::new();
        let mut policies = Vec::new();
        for role in roles.roles() {
            let name = role.role_name().to_string();
            let inline = aws.iam.list_role_policies().role_name(&name).send().await.expect("ListRolePolicies");
            policies.extend(inline.policy_names().iter().map(|p| format!("{name}:{p}")));
            role_names.push(name);
        }
        out.insert("aws_iam_role", role_names);
        let profiles = aws.iam.list_instance_profiles().send().await.expect("ListInstanceProfiles");
        out.insert(
            "aws_iam_instance_profile",
            profiles.instance_profiles().iter().map(|p| p.instance_profile_name().to_string()).collect(),
        );
        out.insert("aws_iam_role_policy", policies);
        let groups = aws.ec2.describe_security_groups().send().await.expect("DescribeSecurityGroups");
        out.insert(
            "aws_security_group",
            groups
                .security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default"))
                .filter_map(|g| g.group_id().map(String::from))
                .collect(),
        );
        let instances = aws.ec2.describe_instances().send().await.expect("DescribeInstances");
        let mut ids = Vec::new();
        for r in instances.reservations() {
            for i in r.instances() {
                let state = i.state().and_then(|s| s.name()).map(|n| n.as_str().to_string()).unwrap_or_default();
                if state != "terminated" && state != "shutting-down" {
                    ids.extend(i.instance_id().map(String::from));
                }
            }
        }
        out.insert("aws_instance", ids);
        for v in out.values_mut() {
            v.sort();
        }
        out
    })
}

/// What state records, per type (every type [`live`] lists, empty or not).
fn recorded(state: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let json: serde_json::Value = match std::fs::read_to_string(state) {
        Ok(text) => serde_json::from_str(&text).expect("state is JSON"),
        Err(_) => serde_json::json!({}),
    };
    let types = [
        "aws_ssm_parameter",
        "aws_dynamodb_table",
        "aws_s3_bucket",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_instance_profile",
        "aws_security_group",
        "aws_instance",
    ];
    let mut out: BTreeMap<&'static str, Vec<String>> = types.iter().map(|t| (*t, Vec::new())).collect();
    for r in json["resources"].as_array().into_iter().flatten() {
        let rtype = r["type"].as_str().unwrap_or_default();
        if let Some(t) = types.iter().find(|t| **t == rtype) {
            out.get_mut(t).unwrap().push(r["id"].as_str().unwrap_or_default().to_string());
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

/// Live equals state exactly; state has no journal entry or deposed object
/// left. Returns a description of the difference.
fn compare(aws: &Aws, state: &Path) -> Result<(), String> {
    let live = live(aws);
    let recorded = recorded(state);
    let mut problems = Vec::new();
    for (rtype, ids) in &recorded {
        let live_ids = live.get(rtype).cloned().unwrap_or_default();
        let set: BTreeSet<&String> = ids.iter().collect();
        if set.len() != ids.len() {
            problems.push(format!("{rtype}: state records an id twice: {ids:?}"));
        }
        let orphans: Vec<&String> = live_ids.iter().filter(|id| !set.contains(id)).collect();
        let missing: Vec<&String> = ids.iter().filter(|id| !live_ids.contains(id)).collect();
        if !orphans.is_empty() {
            problems.push(format!("{rtype}: live but not in state (orphans/duplicates): {orphans:?}"));
        }
        if !missing.is_empty() {
            problems.push(format!("{rtype}: in state but not live: {missing:?}"));
        }
    }
    if let Ok(text) = std::fs::read_to_string(state) {
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        for field in ["pending", "deposed"] {
            if json[field].as_array().is_some_and(|a| !a.is_empty()) {
                problems.push(format!("state still holds {field}: {}", json[field]));
            }
        }
        if text.contains(SECRET) {
            problems.push("the secret is in state".into());
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// One clean apply converges, live == state, plan is clean, destroy leaves
/// nothing. `what` names the trial in failures.
fn converge_and_check(bench: &Bench, stack: &str, what: &str) {
    bench.proxy.set_schedule(Schedule::clean());
    let out = bench.run(stack, &["apply", "--auto-approve"]);
    assert!(out.status.success(), "{what}: the clean apply after it failed\n{}", text(&out));
    let state = bench.state_file(stack);
    if let Err(e) = compare(&bench.aws, &state) {
        panic!("{what}: after the clean apply, live != state:\n{e}\nthe clean apply:\n{}", text(&out));
    }
    let out = bench.run(stack, &["plan", "--detailed-exitcode"]);
    assert_eq!(out.status.code(), Some(0), "{what}: plan after convergence is not clean\n{}", text(&out));
    let out = bench.run(stack, &["destroy", "--auto-approve"]);
    assert!(out.status.success(), "{what}: destroy failed\n{}", text(&out));
    let left: Vec<String> = live(&bench.aws).into_values().flatten().collect();
    assert!(left.is_empty(), "{what}: destroy left {left:?}");
    if let Err(e) = compare(&bench.aws, &state) {
        panic!("{what}: after destroy:\n{e}");
    }
}

fn seeds(default_count: u64) -> std::ops::Range<u64> {
    let first = std::env::var("GANTRY_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let count = std::env::var("GANTRY_FAULT_SCHEDULES").ok().and_then(|s| s.parse().ok()).unwrap_or(default_count);
    first..first + count
}

// ---------------------------------------------------------------------------
// seeded fault schedules

/// What a batch of schedules did.
#[derive(Default)]
struct Stats {
    runs: usize,
    /// Faulted applies of the first stack, of its changed version, and
    /// faulted destroys, and how many of each failed (cleanly: the clean
    /// apply after them converged all the same).
    applies: usize,
    applies_failed: usize,
    changes: usize,
    changes_failed: usize,
    destroys: usize,
    destroys_failed: usize,
    lost_creates: usize,
    lost_writes: usize,
    faults: BTreeMap<Fault, usize>,
    /// Eventual-consistency answers, by the operation that got one.
    consistency: BTreeMap<String, usize>,
    /// Why faulted runs failed: the last line gantry printed, by count.
    reasons: BTreeMap<String, usize>,
}

impl Stats {
    fn add(&mut self, proxy: &FaultProxy) {
        for call in proxy.trace() {
            if let Some(f) = call.fault {
                *self.faults.entry(f).or_default() += 1;
                if f == Fault::Consistency {
                    *self.consistency.entry(call.operation).or_default() += 1;
                }
            }
        }
        self.lost_creates += proxy.lost_creates();
        self.lost_writes += proxy.lost_writes();
    }

    /// Counts a faulted run; true when it failed.
    fn failed(&mut self, out: &Output, prefix: &str) -> bool {
        if out.status.success() {
            return false;
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        // The failed resources' errors, else the last line.
        let mut lines: Vec<&str> = stderr.lines().filter(|l| l.contains("Error") || l.contains("error:")).collect();
        if lines.is_empty() {
            lines.extend(stderr.lines().rev().find(|l| !l.trim().is_empty()));
        }
        for line in lines {
            let line = line.replace(prefix, "PREFIX");
            let line = line.split(" (request id").next().unwrap_or_default();
            let line: String = line.chars().take(240).collect();
            *self.reasons.entry(line).or_default() += 1;
        }
        true
    }

    fn merge(&mut self, other: Stats) {
        self.runs += other.runs;
        self.applies += other.applies;
        self.applies_failed += other.applies_failed;
        self.changes += other.changes;
        self.changes_failed += other.changes_failed;
        self.destroys += other.destroys;
        self.destroys_failed += other.destroys_failed;
        self.lost_creates += other.lost_creates;
        self.lost_writes += other.lost_writes;
        for (k, v) in other.faults {
            *self.faults.entry(k).or_default() += v;
        }
        for (k, v) in other.consistency {
            *self.consistency.entry(k).or_default() += v;
        }
        for (k, v) in other.reasons {
            *self.reasons.entry(k).or_default() += v;
        }
    }
}

fn assert_no_panic(out: &Output, what: &str) {
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{what}: gantry panicked\n{}", text(out));
}

/// Runs the schedules of `seeds` on one emulator of its own. Each: the
/// random stack applied under a fault schedule (at least
/// [`MIN_LOST_CREATES`] lost answers to creates); every other seed, when
/// that succeeded, its changed version applied under another (at least
/// [`MIN_LOST_WRITES`] lost answers to calls that are not creates); every
/// third seed a faulted destroy; then one clean apply must converge.
fn run_schedules(seeds: Vec<u64>) -> Stats {
    let bench = Bench::new();
    let mut stats = Stats::default();
    for seed in seeds {
        let t0 = Instant::now();
        bench.moto.reset();
        let stack = format!("s{seed}");
        let prefix = bench.g.prefix().to_string();
        bench.g.write(format!("{stack}/main.tf"), random_stack(seed, false));
        let what = format!(
            "fault schedule seed {seed} (rerun alone: GANTRY_FAULT_SEED={seed} GANTRY_FAULT_SCHEDULES=1 scripts/test.sh --test integration faults::)"
        );
        bench.proxy.set_schedule(Schedule::random(seed, MIN_LOST_CREATES, 0));
        let out = bench.run(&stack, &["apply", "--auto-approve"]);
        assert_no_panic(&out, &what);
        stats.applies += 1;
        let first_failed = stats.failed(&out, &prefix);
        stats.applies_failed += first_failed as usize;
        let lost = bench.proxy.lost_creates();
        assert!(lost >= MIN_LOST_CREATES, "{what}: only {lost} lost answers to creates were injected");
        stats.add(&bench.proxy);

        // Every other schedule then applies the changed stack.
        if !first_failed && seed % 2 == 0 {
            bench.g.write(format!("{stack}/main.tf"), random_stack(seed, true));
            bench.proxy.set_schedule(Schedule::random(seed ^ 0xc4a9, 0, MIN_LOST_WRITES));
            let out = bench.run(&stack, &["apply", "--auto-approve"]);
            assert_no_panic(&out, &what);
            stats.changes += 1;
            stats.changes_failed += stats.failed(&out, &prefix) as usize;
            let lost = bench.proxy.lost_writes();
            assert!(lost >= MIN_LOST_WRITES, "{what}: only {lost} lost answers to writes were injected");
            stats.add(&bench.proxy);
        }
        // Every third schedule also faults a destroy before converging.
        if seed % 3 == 0 {
            bench.proxy.set_schedule(Schedule::random(seed ^ 0xde57, 0, 0));
            let out = bench.run(&stack, &["destroy", "--auto-approve"]);
            assert_no_panic(&out, &what);
            stats.destroys += 1;
            stats.destroys_failed += stats.failed(&out, &prefix) as usize;
            stats.add(&bench.proxy);
        }
        converge_and_check(&bench, &stack, &what);
        if std::env::var_os("GANTRY_FAULT_TIMES").is_some() {
            eprintln!("seed {seed}: {:?}", t0.elapsed());
        }
        stats.runs += 1;
    }
    stats
}

/// How many emulators (each with its proxy and a thread driving gantry)
/// work side by side: `GANTRY_FAULT_WORKERS`, else [`WORKERS`].
fn workers() -> usize {
    std::env::var("GANTRY_FAULT_WORKERS").ok().and_then(|s| s.parse().ok()).filter(|n| *n > 0).unwrap_or(WORKERS)
}

/// Runs `job` on `items` split round-robin over [`workers`] threads.
fn in_parallel<T: Copy + Send + Sync, R: Send>(items: &[T], job: impl Fn(Vec<T>) -> R + Sync) -> Vec<R> {
    let n = workers().min(items.len().max(1));
    std::thread::scope(|scope| {
        let job = &job;
        let handles: Vec<_> = (0..n)
            .map(|k| {
                let mine: Vec<T> = items.iter().copied().skip(k).step_by(n).collect();
                scope.spawn(move || job(mine))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

#[test]
fn seeded_fault_schedules_converge_with_no_orphan_and_no_duplicate() {
    let started = Instant::now();
    let all: Vec<u64> = seeds(CI_SCHEDULES).collect();
    let mut stats = Stats::default();
    for s in in_parallel(&all, run_schedules) {
        stats.merge(s);
    }
    assert!(stats.lost_writes >= stats.changes * MIN_LOST_WRITES);
    eprintln!(
        "fault schedules: {} converged after one clean apply (live == state: no orphan, no duplicate; clean plan; \
         complete destroy) on {} emulators in {:.1} s\n\
         faulted applies {} ({} failed cleanly), of changed stacks {} ({} failed cleanly), destroys {} ({} failed \
         cleanly)\nlost answers: {} to creates, {} to other writes; faults injected: {:?}\n\
         eventual-consistency answers by operation: {:?}\nwhy faulted runs failed: {:#?}",
        stats.runs,
        workers().min(all.len().max(1)),
        started.elapsed().as_secs_f64(),
        stats.applies,
        stats.applies_failed,
        stats.changes,
        stats.changes_failed,
        stats.destroys,
        stats.destroys_failed,
        stats.lost_creates,
        stats.lost_writes,
        stats.faults,
        stats.consistency,
        stats.reasons,
    );
}

// ---------------------------------------------------------------------------
// kill -9

/// Waits `delay`, then kills the process with SIGKILL (unless it ended).
fn kill_after(child: &mut std::process::Child, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    killed
}

const KILL_STACK: &str = r#"variable "prefix" {
  type = string
}

variable "secret" {
  type      = string
  sensitive = true
}

variable "ami" {
  type    = string
  default = "ami-12c6146b"
}

variable "hash_key" {
  type    = string
  default = "id"
}

resource "aws_security_group" "g" {
  name        = "${var.prefix}-g"
  description = "kill test"
}

resource "aws_instance" "app" {
  ami                    = var.ami
  instance_type          = "t3.micro"
  vpc_security_group_ids = [aws_security_group.g.id]

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_s3_bucket" "b" {
  bucket = "${var.prefix}-b"
}

resource "aws_dynamodb_table" "t" {
  name         = "${var.prefix}-t"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = var.hash_key

  attribute {
    name = var.hash_key
    type = "S"
  }
}

resource "aws_ssm_parameter" "p" {
  count          = 4
  name           = "/${var.prefix}/p${count.index}"
  type           = "String"
  insecure_value = aws_dynamodb_table.t.arn
}
"#;

/// Kill trials CI runs (`GANTRY_KILL_TRIALS` for more).
const CI_KILL_TRIALS: u64 = 50;

/// The kinds of kill trial, by `trial % 4`.
const KILL_KINDS: [&str; 4] = ["apply", "destroy", "create_before_destroy replace", "delete-then-create replace"];

/// Runs the kill trials `trials` on one emulator of its own; returns how
/// many of each kind ran and how many were killed mid-run.
fn run_kill_trials(trials: Vec<u64>) -> BTreeMap<&'static str, (u32, u32)> {
    let bench = Bench::new();
    let mut done: BTreeMap<&'static str, (u32, u32)> = BTreeMap::new();
    for trial in trials {
        let mut rng = StdRng::seed_from_u64(1000 + trial);
        bench.moto.reset();
        let stack = format!("k{trial}");
        bench.g.write(format!("{stack}/main.tf"), KILL_STACK);
        // A little latency spreads the calls out so kills land mid-run.
        bench.proxy.set_schedule(Schedule::latency(Duration::from_millis(8)));
        let what = format!("kill trial {trial} (rerun alone: GANTRY_KILL_FIRST={trial} GANTRY_KILL_TRIALS=1)");
        let kind = std::env::var("GANTRY_KILL_KIND").ok().and_then(|k| k.parse().ok()).unwrap_or(trial % 4) as usize;
        let killed = match kind {
            // Apply killed at a random point.
            0 => {
                let mut child = bench.spawn(&stack, &["apply", "--auto-approve"]);
                kill_after(&mut child, Duration::from_millis(rng.random_range(100..1500)))
            }
            // Destroy killed at a random point: the next destroy finishes.
            1 => {
                let out = bench.run(&stack, &["apply", "--auto-approve"]);
                assert!(out.status.success(), "{what}: apply\n{}", text(&out));
                let mut child = bench.spawn(&stack, &["destroy", "--auto-approve"]);
                let killed = kill_after(&mut child, Duration::from_millis(rng.random_range(50..800)));
                bench.proxy.set_schedule(Schedule::clean());
                let out = bench.run(&stack, &["destroy", "--auto-approve"]);
                assert!(out.status.success(), "{what}: destroy after the killed one\n{}", text(&out));
                let left: Vec<String> = live(&bench.aws).into_values().flatten().collect();
                assert!(left.is_empty(), "{what}: destroy after a killed destroy left {left:?}");
                killed
            }
            // A create_before_destroy replace (new AMI) killed at a random point.
            2 => {
                let out = bench.run(&stack, &["apply", "--auto-approve"]);
                assert!(out.status.success(), "{what}: apply\n{}", text(&out));
                let mut child = bench.spawn(&stack, &["apply", "--auto-approve", "-var", "ami=ami-1234abcd"]);
                kill_after(&mut child, Duration::from_millis(rng.random_range(20..600)))
            }
            // A delete-then-create replace (the table's new key) killed at a
            // random point; the clean apply then runs the new configuration.
            _ => {
                let out = bench.run(&stack, &["apply", "--auto-approve"]);
                assert!(out.status.success(), "{what}: apply\n{}", text(&out));
                let replaced = KILL_STACK.replace("default = \"id\"", "default = \"pk\"");
                bench.g.write(format!("{stack}/main.tf"), &replaced);
                let mut child = bench.spawn(&stack, &["apply", "--auto-approve"]);
                kill_after(&mut child, Duration::from_millis(rng.random_range(20..600)))
            }
        };
        converge_and_check(&bench, &stack, &what);
        let entry = done.entry(KILL_KINDS[kind]).or_default();
        entry.0 += 1;
        entry.1 += killed as u32;
    }
    done
}

#[test]
fn kill_9_at_random_points_of_apply_destroy_and_replace() {
    let first: u64 = std::env::var("GANTRY_KILL_FIRST").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let trials: u64 = std::env::var("GANTRY_KILL_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(CI_KILL_TRIALS);
    let started = Instant::now();
    let all: Vec<u64> = (first..first + trials).collect();
    let mut by_kind: BTreeMap<&'static str, (u32, u32)> = BTreeMap::new();
    for done in in_parallel(&all, run_kill_trials) {
        for (k, (n, killed)) in done {
            let e = by_kind.entry(k).or_default();
            e.0 += n;
            e.1 += killed;
        }
    }
    eprintln!(
        "kill trials: {trials} converged (no orphan, no duplicate, clean plan, complete destroy); (trials, killed \
         mid-run) by kind: {by_kind:?}; {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------
// one lost answer, deterministically

const TWO_PARAMETERS: &str = r#"variable "prefix" {
  type = string
}

resource "aws_ssm_parameter" "a" {
  name           = "/${var.prefix}/a"
  type           = "String"
  insecure_value = "a"
}

resource "aws_ssm_parameter" "b" {
  name           = "/${var.prefix}/b"
  type           = "String"
  insecure_value = "b"
}
"#;

/// The answer to each PutParameter is lost: AWS made the parameter, the
/// SDK's retry hears ParameterAlreadyExists. The apply adopts what its own
/// create made (its tags prove it) and succeeds; nothing is left pending.
#[test]
fn a_lost_answer_to_a_create_is_adopted_in_the_same_apply() {
    let moto = crate::support::moto();
    let proxy = FaultProxy::start(moto.addr(), Schedule { lost_creates: 2, ..Schedule::clean() });
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", TWO_PARAMETERS);
    let out = g
        .cmd(["apply", "--auto-approve", "-s", "s", "-var", &g.prefix_var()])
        .env("GANTRY_RETRY_INITIAL_BACKOFF_MS", "25")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(proxy.lost_creates(), 2, "both answers were lost");
    let retried: Vec<_> = proxy.trace().into_iter().filter(|c| c.operation == "PutParameter").collect();
    assert!(retried.len() >= 4, "the SDK sent each create again: {retried:?}");
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(g.state_dir().join("s/default.json")).unwrap()).unwrap();
    assert_eq!(state["resources"].as_array().unwrap().len(), 2);
    assert!(state.get("pending").is_none(), "nothing left pending: {state}");
    g.cmd(["plan", "--detailed-exitcode", "-s", "s", "-var", &g.prefix_var()]).assert().code(0);
    g.cmd(["destroy", "--auto-approve", "-s", "s", "-var", &g.prefix_var()]).assert().success();
}

/// A name taken by an object that is not this stack's is an error that
/// names it and says how to import it; it is never adopted.
#[test]
fn an_object_that_is_not_ours_is_named_and_never_adopted() {
    let g = Gantry::new();
    g.write("s/main.tf", TWO_PARAMETERS);
    let aws = crate::support::aws();
    let name = format!("/{}/a", g.prefix());
    block_on(aws.ssm.put_parameter().name(&name).value("someone else's").r#type("String".into()).send()).unwrap();
    let out = g.cmd(["apply", "--auto-approve", "-s", "s", "-var", &g.prefix_var()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&name) && err.contains("is not this stack's"), "{}", text(&out));
    assert!(err.contains(&format!("gantry import 'aws_ssm_parameter.a' '{name}'")), "{}", text(&out));
    // Still someone else's, untouched; destroy does not delete it.
    g.cmd(["destroy", "--auto-approve", "-s", "s", "-var", &g.prefix_var()]).assert().success();
    let kept = block_on(aws.ssm.get_parameter().name(&name).send()).unwrap();
    assert_eq!(kept.parameter().and_then(|p| p.value()), Some("someone else's"));
    block_on(aws.ssm.delete_parameter().name(&name).send()).unwrap();
}

const WRITES_STACK: &str = r#"variable "prefix" {
  type = string
}

variable "v" {
  type    = string
  default = "1"
}

resource "aws_security_group" "g" {
  name        = "${var.prefix}-g"
  description = "lost writes"

  ingress {
    from_port   = var.v == "1" ? 80 : 8080
    to_port     = var.v == "1" ? 80 : 8080
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_iam_role" "r" {
  name = "${var.prefix}-r"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = {
    v = var.v
  }
}

resource "aws_iam_role_policy" "r" {
  name = "p"
  role = aws_iam_role.r.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = [var.v == "1" ? "s3:GetObject" : "s3:Get*"], Resource = "*" }]
  })
}

resource "aws_iam_instance_profile" "p" {
  name = "${var.prefix}-p"
  role = aws_iam_role.r.name
}

resource "aws_s3_bucket" "b" {
  bucket        = "${var.prefix}-b"
  force_destroy = true
  tags = {
    v = var.v
  }
}

resource "aws_dynamodb_table" "t" {
  name           = "${var.prefix}-t"
  billing_mode   = var.v == "1" ? "PAY_PER_REQUEST" : "PROVISIONED"
  read_capacity  = var.v == "1" ? null : 1
  write_capacity = var.v == "1" ? null : 1
  hash_key       = "id"

  attribute {
    name = "id"
    type = "S"
  }
  tags = {
    v = var.v
  }
}

resource "aws_ssm_parameter" "p" {
  count          = var.v == "1" ? 2 : 1
  name           = "/${var.prefix}/p${count.index}"
  type           = "String"
  insecure_value = "value ${var.v}"
}
"#;

/// The first answer to every call that changes something without creating
/// it (rules, tags, policy puts, a role added to a profile, overwrites,
/// deletes) is lost after AWS carried the call out; the SDK sends it again
/// into a world where it took effect. Creating, changing and destroying the
/// stack each succeed in one run, with nothing left over.
#[test]
fn lost_answers_to_writes_do_not_fail_the_apply() {
    let moto = crate::support::moto();
    // Tables are UPDATING for a moment after UpdateTable, as in AWS: the
    // resend of a lost UpdateTable is refused with ResourceInUseException.
    let schedule = Schedule {
        lose_each_write_once: true,
        consistency: Consistency { table: Duration::from_secs(1), ..Consistency::default() },
        ..Schedule::clean()
    };
    let proxy = FaultProxy::start(moto.addr(), schedule);
    let g = Gantry::with_url(&proxy.endpoint());
    g.write("s/main.tf", WRITES_STACK);
    let run = |args: &[&str], v: &str| {
        g.cmd(args)
            .args(["-s", "s", "-var", &g.prefix_var(), "-var", &format!("v={v}")])
            .env("GANTRY_RETRY_INITIAL_BACKOFF_MS", "25")
            .output()
            .unwrap()
    };
    let out = run(&["apply", "--auto-approve"], "1");
    assert!(out.status.success(), "the create: {}\nlost: {:?}", text(&out), proxy.lost_by_operation());
    let out = run(&["apply", "--auto-approve"], "2");
    assert!(out.status.success(), "the update: {}\nlost: {:?}", text(&out), proxy.lost_by_operation());
    let out = run(&["plan", "--detailed-exitcode"], "2");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&["destroy", "--auto-approve"], "2");
    assert!(out.status.success(), "the destroy: {}\nlost: {:?}", text(&out), proxy.lost_by_operation());
    let lost = proxy.lost_by_operation();
    for op in [
        "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        "AddRoleToInstanceProfile",
        "PutRolePolicy",
        "TagRole",
        "PutBucketTagging",
        "TagResource",
        "UpdateTable",
        "DeleteParameter",
        "DeleteSecurityGroup",
        "DeleteTable",
        "DeleteBucket",
        "DeleteRole",
    ] {
        assert!(lost.get(op).is_some_and(|n| *n >= 1), "no lost answer to {op}: {lost:?}");
    }
    assert!(
        !proxy.trace().iter().any(|c| c.operation == "DescribeParameters" && c.fault.is_some()),
        "the check below reads around the proxy"
    );
    let aws = Aws::for_moto(moto);
    let left =
        block_on(aws.ssm.get_parameters_by_path().path(format!("/{}", g.prefix())).recursive(true).send()).unwrap();
    assert!(left.parameters().is_empty(), "{left:?}");
}
