//! The latency benchmark: gantry (and Terraform, when installed) against
//! moto through the fault proxy of the integration tests in its latency
//! mode, on generated stacks. `scripts/bench.sh latency` builds and runs it;
//! run it by hand as
//!
//! ```text
//! latency --gantry target/debug/gantry --moto http://127.0.0.1:PORT [--latency-ms 25]
//!         [--jitter-ms 0] [--sizes 200,2000] [--stacks ssm,mix] [--terraform auto|off|PATH]
//!         [--terraform-max 2000] [--work DIR]
//! ```
//!
//! For each stack it measures apply from empty, a no-op plan, an update of
//! one attribute and destroy: wall time, API calls (every request the proxy
//! saw), calls per resource, the sequential round trips on the critical path
//! (the longest chain of calls each starting after the one before ended, from
//! the proxy's trace), how long the emulator was busy (moto serialises
//! requests: when that nears the wall time, the emulator is the limit) and
//! the child's peak RSS. Nothing here passes or fails on a number: it
//! prints them.

#[allow(dead_code, unused_imports)]
#[path = "../tests/support/fault_proxy.rs"]
mod fault_proxy;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fault_proxy::{Call, FaultProxy, Schedule};

struct Options {
    gantry: PathBuf,
    moto: SocketAddr,
    latency: Duration,
    jitter: Duration,
    sizes: Vec<usize>,
    stacks: Vec<String>,
    terraform: Option<PathBuf>,
    terraform_max: usize,
    plugin_dir: PathBuf,
    work: PathBuf,
}

fn main() {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("latency: {e}");
            std::process::exit(2);
        }
    };
    let proxy = FaultProxy::start(opts.moto, schedule(&opts));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "latency: {} ms per request{}, through {} to moto on {}",
        opts.latency.as_millis(),
        if opts.jitter.is_zero() { String::new() } else { format!(" + 0..{} ms jitter", opts.jitter.as_millis()) },
        proxy.endpoint(),
        opts.moto
    );
    let _ = writeln!(out, "gantry:  {}", opts.gantry.display());
    let _ = writeln!(
        out,
        "{:<10} {:>5} {:<9} {:<10} {:>9} {:>6} {:>9} {:>6} {:>9} {:>9} {:>8}",
        "stack", "size", "tool", "op", "wall", "calls", "calls/res", "chain", "chain×lat", "emu busy", "RSS"
    );
    print!("{out}");
    // moto loads each service's code on its first call (up to a second):
    // one small stack of every type, applied and destroyed, keeps that out
    // of the numbers.
    if let Err(e) = warm(&opts, &proxy) {
        eprintln!("latency: warming the emulator: {e}");
        std::process::exit(1);
    }
    for kind in &opts.stacks {
        for &size in &opts.sizes {
            let stack = match generate(&opts.work, kind, size) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("latency: generating {kind} {size}: {e}");
                    std::process::exit(1);
                }
            };
            let mut tools = vec![Tool::Gantry];
            if opts.terraform.is_some() && size <= opts.terraform_max {
                tools.push(Tool::Terraform);
            }
            for tool in tools {
                if let Err(e) = run_stack(&opts, &proxy, &stack, tool) {
                    eprintln!("latency: {kind} {size} {}: {e}", tool.name());
                    std::process::exit(1);
                }
            }
        }
    }
}

fn schedule(opts: &Options) -> Schedule {
    let mut s = Schedule::latency(opts.latency);
    if !opts.jitter.is_zero() {
        // The proxy's "slow" fault is the jitter: on every call, 0..max more.
        s.slow = 1.0;
        s.slow_max = opts.jitter;
    }
    s
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut gantry = None;
    let mut moto = None;
    let mut latency = 25u64;
    let mut jitter = 0u64;
    let mut sizes = vec![200, 2000];
    let mut stacks = vec!["ssm".to_string(), "mix".to_string()];
    let mut terraform = "auto".to_string();
    let mut terraform_max = 2000;
    let mut plugin_dir = PathBuf::from("/opt/tf-plugins");
    let mut work = std::env::temp_dir().join(format!("gantry-latency-{}", std::process::id()));
    while let Some(arg) = args.next() {
        // `cargo bench` passes --bench; ignore it.
        if arg == "--bench" {
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("{arg}: not a number: {v}"));
        match arg.as_str() {
            "--gantry" => gantry = Some(PathBuf::from(value)),
            "--moto" => {
                let hostport = value.trim_start_matches("http://").trim_end_matches('/');
                moto = Some(hostport.parse::<SocketAddr>().map_err(|e| format!("--moto {value}: {e}"))?);
            }
            "--latency-ms" => latency = num(&value)?,
            "--jitter-ms" => jitter = num(&value)?,
            "--sizes" => {
                sizes = value.split(',').map(|s| num(s.trim()).map(|n| n as usize)).collect::<Result<_, _>>()?
            }
            "--stacks" => stacks = value.split(',').map(|s| s.trim().to_string()).collect(),
            "--terraform" => terraform = value,
            "--terraform-max" => terraform_max = num(&value)? as usize,
            "--plugin-dir" => plugin_dir = PathBuf::from(value),
            "--work" => work = PathBuf::from(value),
            _ => return Err(format!("unknown argument {arg}")),
        }
    }
    for s in &stacks {
        if s != "ssm" && s != "mix" {
            return Err(format!("--stacks: unknown stack {s:?} (ssm, mix)"));
        }
    }
    let terraform = match terraform.as_str() {
        "off" => None,
        "auto" => which("terraform").filter(|_| plugin_dir.join("registry.terraform.io/hashicorp/aws").is_dir()),
        path => Some(PathBuf::from(path)),
    };
    Ok(Options {
        gantry: gantry.ok_or("--gantry is required")?,
        moto: moto.ok_or("--moto is required")?,
        latency: Duration::from_millis(latency),
        jitter: Duration::from_millis(jitter),
        sizes,
        stacks,
        terraform,
        terraform_max,
        plugin_dir,
        work,
    })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?.to_str()?.split(':').map(|d| Path::new(d).join(name)).find(|p| p.is_file())
}

// ---------------------------------------------------------------------------
// stacks

struct Stack {
    kind: String,
    /// Resources it declares.
    resources: usize,
    name: String,
    dir: PathBuf,
}

/// Writes a stack of `size` resources: `ssm` is SSM parameters only; `mix`
/// repeats a unit of ten resources of the reference stack's types.
fn generate(work: &Path, kind: &str, size: usize) -> std::io::Result<Stack> {
    let name = format!("lat{kind}{size}");
    let dir = work.join(&name);
    std::fs::create_dir_all(&dir)?;
    let mut tf = String::from(
        "variable \"update\" {\n  type    = string\n  default = \"\"\n}\n\nvariable \"prefix\" {\n  type = string\n}\n\n",
    );
    let resources = match kind {
        "ssm" => {
            let _ = write!(
                tf,
                r#"resource "aws_ssm_parameter" "p" {{
  count          = {size}
  name           = "/${{var.prefix}}/p${{count.index}}"
  type           = "String"
  insecure_value = count.index == 0 ? "value 0${{var.update}}" : "value ${{count.index}}"
  description    = "parameter ${{count.index}}"
  tags = {{
    team = "bench"
  }}
}}
"#
            );
            size
        }
        _ => {
            let units = size.div_ceil(10);
            let _ = write!(
                tf,
                r#"locals {{
  units = {units}
}}

resource "aws_ssm_parameter" "p" {{
  count          = local.units
  name           = "/${{var.prefix}}/p${{count.index}}"
  type           = "String"
  insecure_value = count.index == 0 ? "value 0${{var.update}}" : "value ${{count.index}}"
}}

resource "aws_dynamodb_table" "t" {{
  count        = local.units
  name         = "${{var.prefix}}-t${{count.index}}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"
  attribute {{
    name = "id"
    type = "S"
  }}
}}

resource "aws_s3_bucket" "b" {{
  count  = local.units
  bucket = "${{var.prefix}}-b${{count.index}}"
}}

resource "aws_s3_bucket_versioning" "b" {{
  count  = local.units
  bucket = aws_s3_bucket.b[count.index].id
  versioning_configuration {{
    status = "Enabled"
  }}
}}

resource "aws_s3_bucket_public_access_block" "b" {{
  count                   = local.units
  bucket                  = aws_s3_bucket.b[count.index].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}

resource "aws_ecr_repository" "r" {{
  count = local.units
  name  = "${{var.prefix}}-r${{count.index}}"
}}

resource "aws_iam_role" "role" {{
  count = local.units
  name  = "${{var.prefix}}-role${{count.index}}"
  assume_role_policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "sts:AssumeRole", Principal = {{ Service = "ec2.amazonaws.com" }} }}]
  }})
}}

resource "aws_iam_role_policy" "role" {{
  count = local.units
  name  = "read"
  role  = aws_iam_role.role[count.index].id
  policy = jsonencode({{
    Version   = "2012-10-17"
    Statement = [{{ Effect = "Allow", Action = "ssm:GetParameter", Resource = aws_ssm_parameter.p[count.index].arn }}]
  }})
}}

resource "aws_iam_instance_profile" "role" {{
  count = local.units
  name  = "${{var.prefix}}-profile${{count.index}}"
  role  = aws_iam_role.role[count.index].name
}}

resource "aws_security_group" "sg" {{
  count       = local.units
  name        = "${{var.prefix}}-sg${{count.index}}"
  description = "bench"
  ingress {{
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }}
}}
"#
            );
            units * 10
        }
    };
    std::fs::write(dir.join("main.tf"), tf)?;
    Ok(Stack { kind: kind.to_string(), resources, name, dir })
}

/// Applies and destroys a ten-resource `mix` stack, printing nothing.
fn warm(opts: &Options, proxy: &FaultProxy) -> Result<(), String> {
    let stack = generate(&opts.work.join("warm"), "mix", 10).map_err(|e| e.to_string())?;
    let pfx = format!("prefix=warm-{}", std::process::id());
    for op in ["apply", "destroy"] {
        let mut cmd = Command::new(&opts.gantry);
        cmd.args(["--no-color", op, "--auto-approve", "-s"]).arg(&stack.dir);
        cmd.arg("--state-dir").arg(stack.dir.join("state")).args(["-var", pfx.as_str()]);
        run(opts, proxy, cmd, &stack.dir.join(format!("{op}.log")), 0)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// runs

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Gantry,
    Terraform,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Gantry => "gantry",
            Tool::Terraform => "terraform",
        }
    }
}

struct Measured {
    wall: Duration,
    rss_kb: u64,
    trace: Vec<Call>,
}

fn run_stack(opts: &Options, proxy: &FaultProxy, stack: &Stack, tool: Tool) -> Result<(), String> {
    // Each tool gets its own copy and its own names, so neither sees the other's objects.
    let dir = stack.dir.join(tool.name());
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::copy(stack.dir.join("main.tf"), dir.join("main.tf")).map_err(|e| e.to_string())?;
    let prefix = format!("{}-{}-{}", stack.name, &tool.name()[..2], std::process::id());
    if tool == Tool::Terraform {
        std::fs::write(dir.join("provider.tf"), TF_PROVIDER).map_err(|e| e.to_string())?;
        let tf = opts.terraform.as_ref().ok_or("no terraform")?;
        let mut init = Command::new(tf);
        init.current_dir(&dir).args(["init", "-input=false", "-no-color"]);
        init.arg(format!("-plugin-dir={}", opts.plugin_dir.display()));
        run(opts, proxy, init, &dir.join("init.log"), 0)?;
    }
    let pfx = format!("prefix={prefix}");
    let ops: [(&str, Vec<&str>, i32); 4] = [
        ("apply", vec!["apply"], 0),
        ("no-op plan", vec!["plan", "-detailed-exitcode"], 0),
        ("update 1", vec!["apply", "update=changed"], 0),
        ("destroy", vec!["destroy", "update=changed"], 0),
    ];
    for (label, words, want) in ops {
        let mut cmd = match tool {
            Tool::Gantry => {
                let mut c = Command::new(&opts.gantry);
                c.args(["--no-color", words[0], "-s"]).arg(&dir).arg("--state-dir").arg(dir.join("state"));
                c.args(["-var", pfx.as_str()]);
                if words[0] != "plan" {
                    c.arg("--auto-approve");
                } else {
                    c.arg("--detailed-exitcode");
                }
                c
            }
            Tool::Terraform => {
                let mut c = Command::new(opts.terraform.as_ref().ok_or("no terraform")?);
                c.current_dir(&dir).args([words[0], "-input=false", "-no-color", "-var", pfx.as_str()]);
                if words[0] != "plan" {
                    c.arg("-auto-approve");
                } else {
                    c.arg("-detailed-exitcode");
                }
                c
            }
        };
        if let Some(v) = words.get(1).filter(|w| w.starts_with("update=")) {
            cmd.args(["-var", *v]);
        }
        let log = dir.join(format!("{}.log", label.replace(' ', "-")));
        let m = run(opts, proxy, cmd, &log, want)?;
        println!("{}", row(stack, tool, label, &m, opts.latency));
    }
    Ok(())
}

const TF_PROVIDER: &str = r#"provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
}
"#;

/// Runs one command through the proxy under `/usr/bin/time`, with a fresh trace.
fn run(opts: &Options, proxy: &FaultProxy, cmd: Command, log: &Path, want: i32) -> Result<Measured, String> {
    let time_file = log.with_extension("time");
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed.args(["-f", "%M", "-o"]).arg(&time_file).arg(&program).args(&args);
    if let Some(dir) = cmd.get_current_dir() {
        timed.current_dir(dir);
    }
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    timed
        .env("AWS_ENDPOINT_URL", proxy.endpoint())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("TF_IN_AUTOMATION", "1")
        .env("NO_COLOR", "1")
        .env("GANTRY_KEY_DIR", opts.work.join("keys"))
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err);
    proxy.set_schedule(schedule(opts));
    let start = Instant::now();
    let status = timed.status().map_err(|e| format!("running {}: {e}", program.to_string_lossy()))?;
    let wall = start.elapsed();
    let trace = proxy.trace();
    let code = status.code().unwrap_or(-1);
    // plan -detailed-exitcode: 0 no changes; the benchmark's no-op plan must be one.
    if code != want {
        return Err(format!("{} exited {code} (expected {want}); see {}", program.to_string_lossy(), log.display()));
    }
    let rss_kb = std::fs::read_to_string(&time_file)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0);
    Ok(Measured { wall, rss_kb, trace })
}

/// The longest chain of calls in which each starts after the one before
/// it ended: the round trips the run waited for one after another.
fn critical_chain(trace: &[Call]) -> usize {
    let mut calls: Vec<(Duration, Duration)> = trace.iter().map(|c| (c.start, c.end)).collect();
    calls.sort_by_key(|c| c.1);
    // best[i]: the longest chain ending with calls[i]; prefix[i]: max of best[..=i].
    let mut prefix: Vec<usize> = Vec::with_capacity(calls.len());
    for i in 0..calls.len() {
        let start = calls[i].0;
        // Calls that ended before this one started: a prefix of the sorted list.
        let before = calls[..i].partition_point(|c| c.1 <= start);
        let best = 1 + if before == 0 { 0 } else { prefix[before - 1] };
        let max = prefix.last().copied().unwrap_or(0).max(best);
        prefix.push(max);
    }
    prefix.last().copied().unwrap_or(0)
}

/// How long the emulator was working on at least one request: the union
/// of each call's time upstream (after the proxy's delay, until the answer).
/// moto serialises requests, so when this comes close to the wall time the
/// emulator, not the tool, is what the run waited on.
fn emulator_busy(trace: &[Call], latency: Duration) -> Duration {
    let mut spans: Vec<(Duration, Duration)> =
        trace.iter().map(|c| ((c.start + latency).min(c.end), c.end)).filter(|(a, b)| b > a).collect();
    spans.sort();
    let mut busy = Duration::ZERO;
    let mut current: Option<(Duration, Duration)> = None;
    for (start, end) in spans {
        current = match current {
            Some((s, e)) if start <= e => Some((s, e.max(end))),
            Some((s, e)) => {
                busy += e - s;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    if let Some((s, e)) = current {
        busy += e - s;
    }
    busy
}

fn row(stack: &Stack, tool: Tool, op: &str, m: &Measured, latency: Duration) -> String {
    let calls = m.trace.len();
    let chain = critical_chain(&m.trace);
    format!(
        "{:<10} {:>5} {:<9} {:<10} {:>8.2}s {:>6} {:>9.3} {:>6} {:>8.2}s {:>8.2}s {:>6}MB",
        stack.kind,
        stack.resources,
        tool.name(),
        op,
        m.wall.as_secs_f64(),
        calls,
        calls as f64 / stack.resources as f64,
        chain,
        (latency * chain as u32).as_secs_f64(),
        emulator_busy(&m.trace, latency).as_secs_f64(),
        m.rss_kb / 1024
    )
}
