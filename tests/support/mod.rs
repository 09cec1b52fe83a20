//! What every integration test shares: the moto emulator on a loopback port,
//! a builder for `gantry` commands that can only reach that emulator, one
//! temporary work directory per test, and SDK clients for checking AWS state
//! behind gantry's back.
//!
//! One moto server serves the whole test process ([`moto`]); tests keep out
//! of each other's way by naming everything after [`unique_prefix`]. A test
//! that counts API calls needs a server nobody else talks to:
//! [`Moto::start`] gives it its own, and [`Gantry::with_moto`] points
//! commands at it.

// Each test module uses some of these helpers, none uses all.
#![allow(dead_code)]

use std::fs::{self, File};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};
use rand::Rng;
use tempfile::TempDir;

pub mod fault_proxy;
pub mod nginx;
pub mod services;

/// The region every test runs in.
pub const REGION: &str = "us-east-1";
/// The account moto pretends to be.
pub const ACCOUNT_ID: &str = "123456789012";

/// How long a starting moto may take to answer. Its Python imports take about
/// a second on an idle machine, much longer while cargo builds beside it.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn moto_server_path() -> PathBuf {
    match std::env::var_os("GANTRY_MOTO_SERVER") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => repo_root().join(".venv/bin/moto_server"),
    }
}

// ---------------------------------------------------------------------------
// moto

/// A moto server on 127.0.0.1, with its request log.
///
/// The server is started with `PR_SET_PDEATHSIG`, so it gets SIGTERM when the
/// thread that started it ends: the shared server is started from a thread
/// that lives as long as the test process, so it dies with the process even
/// when a test panics or the run is interrupted. A server from
/// [`Moto::start`] is also killed when dropped.
pub struct Moto {
    port: u16,
    child: Mutex<Child>,
    /// moto's stdout and stderr: an unnamed temporary file, so nothing is
    /// left behind. Read only with `read_at`, which leaves the file offset,
    /// shared with moto's own descriptor, alone.
    log: File,
}

impl Moto {
    /// Starts a server of its own for the calling test, on a free port.
    /// Panics, with moto's output, if it does not come up.
    pub fn start() -> Moto {
        Moto::start_with(true, None)
    }

    /// A server without AWS's managed IAM policies: resets (and the first
    /// IAM call after one) take milliseconds instead of seconds. For tests
    /// that attach no managed policy.
    pub fn start_lean() -> Moto {
        Moto::start_with(false, None)
    }

    /// A lean server whose request recorder (`/moto-api/recorder/...`)
    /// keeps its recording in `file` rather than in `moto_recording` in
    /// the current directory.
    pub fn start_lean_recording_to(file: &Path) -> Moto {
        Moto::start_with(false, Some(file))
    }

    fn start_with(managed_policies: bool, recording: Option<&Path>) -> Moto {
        let server = moto_server_path();
        if !server.exists() {
            panic!(
                "the moto emulator is not installed at {}. Run the tests with scripts/test.sh, which installs \
                 moto into .venv, or point GANTRY_MOTO_SERVER at a moto_server executable.",
                server.display()
            );
        }
        // The free port picked may be taken by someone else before moto binds it.
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Moto::try_start(&server, managed_policies, recording) {
                Ok(moto) => return moto,
                Err(err) => failures.push(err),
            }
        }
        panic!("could not start {}:\n{}", server.display(), failures.join("\n---\n"));
    }

    fn try_start(server: &Path, managed_policies: bool, recording: Option<&Path>) -> Result<Moto, String> {
        let port = free_port();
        let log = tempfile::tempfile().map_err(|e| format!("creating moto's log file: {e}"))?;
        let out = log.try_clone().map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let parent = std::process::id() as libc::pid_t;

        let mut cmd = Command::new(server);
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONUNBUFFERED", "1")
            // AWS-managed IAM policies exist in moto 5 only when asked for.
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", if managed_policies { "true" } else { "false" })
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if let Some(file) = recording {
            cmd.env("MOTO_RECORDER_FILEPATH", file);
        }
        // SAFETY: only async-signal-safe calls, no allocation.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died between fork and prctl.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
        let child = cmd.spawn().map_err(|e| format!("spawning {}: {e}", server.display()))?;
        let moto = Moto { port, child: Mutex::new(child), log };

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = moto.child.lock().unwrap().try_wait().map_err(|e| e.to_string())? {
                return Err(format!("moto_server exited with {status} at start; its output:\n{}", moto.log()));
            }
            if http_answers(port) {
                return Ok(moto);
            }
            if Instant::now() > deadline {
                let log = moto.log();
                drop(moto);
                panic!("moto_server did not answer on port {port} within {READY_TIMEOUT:?}; its output:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to give as `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Empties the emulator (every service, every region) through its
    /// `/moto-api/reset` endpoint.
    pub fn reset(&self) {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connecting to moto");
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        let request =
            format!("POST /moto-api/reset HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\r\n", self.port);
        stream.write_all(request.as_bytes()).expect("asking moto to reset");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "moto reset: {answer}");
    }

    /// The address moto listens on.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap().id()
    }

    /// Everything moto printed so far.
    pub fn log(&self) -> String {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            match self.log.read_at(&mut buf, bytes.len() as u64) {
                Ok(0) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("reading moto's log: {e}"),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The number of AWS API requests moto has answered so far. werkzeug logs
    /// one line per request:
    /// `127.0.0.1 - - [23/Nov/2026 15:45:08] "POST / HTTP/1.1" 200 -`.
    /// Requests to moto's own `/moto-api/` (the readiness probe) don't count.
    /// moto writes the line before it sends the response, so a call that has
    /// returned is counted.
    pub fn requests(&self) -> usize {
        self.log().lines().filter(|line| is_api_request_line(line)).count()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn is_api_request_line(line: &str) -> bool {
    let Some(start) = line.find("] \"") else { return false };
    let request = &line[start + 3..];
    let mut parts = request.splitn(3, ' ');
    let (Some(_method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    version.starts_with("HTTP/") && !path.starts_with("/moto-api")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// True once an HTTP server answers on the port, whatever the status code.
fn http_answers(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).is_ok() && &head == b"HTTP/"
}

/// The moto server shared by every test of this process, started on first use.
pub fn moto() -> &'static Moto {
    static SHARED: OnceLock<Result<Moto, String>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        // PR_SET_PDEATHSIG fires when the *thread* that spawned the child
        // ends, and each test runs on a thread of its own: start the server
        // from a thread that never ends instead.
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("moto-keeper".into())
            .spawn(move || {
                let started = std::panic::catch_unwind(Moto::start).map_err(|panic| {
                    panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "moto failed to start".into())
                });
                let failed = started.is_err();
                let _ = tx.send(started);
                if failed {
                    return;
                }
                // Park forever (wake-ups may be spurious).
                loop {
                    std::thread::park();
                }
            })
            .expect("spawning the moto keeper thread");
        rx.recv().expect("the moto keeper thread died")
    });
    match shared {
        Ok(moto) => moto,
        Err(message) => panic!("{message}"),
    }
}

/// Requests the shared moto has answered so far (all tests together).
pub fn moto_requests() -> usize {
    moto().requests()
}

// ---------------------------------------------------------------------------
// names

/// A short random lowercase name start (`t` and 7 letters or digits), valid
/// in S3 bucket, ECR repository, DynamoDB table and SSM parameter names.
pub fn unique_prefix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut prefix = String::from("t");
    for _ in 0..7 {
        prefix.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    prefix
}

// ---------------------------------------------------------------------------
// gantry

/// Where a [`Gantry`] sends its AWS calls.
enum Endpoint {
    /// The shared moto, started when the first command is built.
    Shared,
    Url(String),
}

/// One test's gantry: a temporary work directory (the commands' current
/// directory, with state under `state/`), a unique name prefix, and commands
/// whose environment reaches only the emulator.
///
/// ```ignore
/// let g = Gantry::new();
/// let stack = g.fixture("basic");
/// g.cmd(["plan", "-s"]).arg(&stack).args(["-var", &g.prefix_var()])
///     .env("TF_VAR_secret", "s3cr3t")
///     .assert()
///     .success();
/// ```
pub struct Gantry {
    dir: TempDir,
    prefix: String,
    endpoint: Endpoint,
}

impl Gantry {
    /// Commands go to the shared moto.
    pub fn new() -> Gantry {
        Gantry::with_endpoint(Endpoint::Shared)
    }

    /// Commands go to a server of the test's own.
    pub fn with_moto(moto: &Moto) -> Gantry {
        Gantry::with_endpoint(Endpoint::Url(moto.endpoint()))
    }

    /// Commands go to `url` (a proxy in front of an emulator).
    pub fn with_url(url: &str) -> Gantry {
        Gantry::with_endpoint(Endpoint::Url(url.to_string()))
    }

    /// Commands that must not reach AWS at all (version, syntax errors,
    /// graphs): the endpoint is a loopback port nothing listens on, so any
    /// call fails instead of leaving the machine.
    pub fn offline() -> Gantry {
        Gantry::with_endpoint(Endpoint::Url("http://127.0.0.1:1".into()))
    }

    fn with_endpoint(endpoint: Endpoint) -> Gantry {
        let dir = tempfile::Builder::new().prefix("gantry-test-").tempdir().expect("creating a temporary directory");
        fs::create_dir_all(dir.path().join("state")).expect("creating the state directory");
        Gantry { dir, prefix: unique_prefix(), endpoint }
    }

    /// The work directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What `--state-dir` points at.
    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// This test's name prefix; give it to a stack as `-var prefix=...`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `prefix=<this test's prefix>`, for after `-var`.
    pub fn prefix_var(&self) -> String {
        format!("prefix={}", self.prefix)
    }

    /// Copies `tests/fixtures/NAME` into the work directory and returns the
    /// copy's path, so a test may edit its stack.
    pub fn fixture(&self, name: &str) -> PathBuf {
        let source = repo_root().join("tests/fixtures").join(name);
        assert!(source.is_dir(), "no fixture {}", source.display());
        let target = self.dir.path().join(name);
        copy_dir(&source, &target).unwrap_or_else(|e| panic!("copying fixture {name}: {e}"));
        target
    }

    /// Writes a file under the work directory (creating folders as needed).
    pub fn write(&self, relative: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).expect("creating folders");
        }
        fs::write(&path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// `gantry --state-dir <work dir>/state ARGS...`. `--state-dir` comes
    /// first, so it must be a top-level (or global) option.
    pub fn cmd<I, S>(&self, args: I) -> assert_cmd::Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.command();
        cmd.arg("--state-dir").arg(self.state_dir()).args(args);
        cmd
    }

    /// The gantry binary with the test environment and no arguments.
    pub fn command(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_command())
    }

    /// `gantry --state-dir <work dir>/state ARGS...` as a plain process, for
    /// tests that must run it in the background (and kill it).
    pub fn spawn<I, S>(&self, args: I) -> std::process::Child
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.std_command();
        cmd.arg("--state-dir").arg(self.state_dir()).args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().expect("spawning gantry")
    }

    /// The environment every gantry command of a test gets.
    pub fn std_command(&self) -> Command {
        let endpoint = match &self.endpoint {
            Endpoint::Shared => moto().endpoint(),
            Endpoint::Url(url) => url.clone(),
        };
        // CARGO_BIN_EXE_ is what assert_cmd's `cargo_bin` resolves, known at
        // compile time.
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_gantry"));
        cmd.current_dir(self.dir.path());
        // Nothing from the developer's or CI's environment may steer gantry:
        // no profile, no other endpoint, no credentials, no stack variables,
        // no CI-specific output.
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            let inherited_setting = ["AWS_", "GANTRY_", "TF_", "GITHUB_"].iter().any(|p| key.starts_with(p))
                || ["CI", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR"].contains(&key)
                || key.eq_ignore_ascii_case("http_proxy")
                || key.eq_ignore_ascii_case("https_proxy")
                || key.eq_ignore_ascii_case("all_proxy")
                || key.eq_ignore_ascii_case("no_proxy");
            if inherited_setting {
                cmd.env_remove(key);
            }
        }
        let home = self.dir.path();
        cmd.env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            // Without this a failed credential lookup would probe the EC2
            // metadata address, off the loopback network.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // Files that don't exist: ~/.aws is not read.
            .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", home.join("no-aws-credentials"))
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("NO_COLOR", "1")
            // State hash keys stay in the test's folder, not in ~/.config.
            .env("GANTRY_KEY_DIR", home.join("keys"));
        cmd
    }
}

impl Default for Gantry {
    fn default() -> Self {
        Gantry::new()
    }
}

pub fn copy_dir(source: &Path, target: &Path) -> io::Result<()> {
    fs::create_dir_all(target)?;
    for entry in fs::read_dir(source)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".terraform" || name == ".terraform.lock.hcl" {
            continue;
        }
        let (from, to) = (entry.path(), target.join(&name));
        if entry.file_type()?.is_dir() {
            copy_dir(&from, &to)?;
        } else {
            fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// out-of-band AWS access

/// SDK clients for the emulator, to look at AWS behind gantry's back:
/// create drift, check that resources exist or are gone.
///
/// From a plain `#[test]`, run calls with [`block_on`]; in a
/// `#[tokio::test]`, just `.await` them (but build the clients inside that
/// test: pooled connections belong to the runtime that opened them).
#[derive(Clone)]
pub struct Aws {
    pub config: SdkConfig,
    pub ssm: aws_sdk_ssm::Client,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub sts: aws_sdk_sts::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Aws {
    /// Clients for a server of the test's own.
    pub fn for_moto(moto: &Moto) -> Aws {
        Aws::for_endpoint(&moto.endpoint())
    }

    /// Clients for any endpoint. Built from explicit settings only: neither
    /// the environment nor ~/.aws can change where they go.
    pub fn for_endpoint(endpoint: &str) -> Aws {
        let credentials = Credentials::new("testing", "testing", None, None, "gantry-tests");
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            // moto can answer 500 under parallel writes.
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .build();
        // An IP endpoint needs path-style bucket addressing.
        let s3_config = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
        Aws {
            ssm: aws_sdk_ssm::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            tagging: aws_sdk_resourcegroupstagging::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            config,
        }
    }
}

/// Clients for the shared moto.
pub fn aws() -> Aws {
    Aws::for_endpoint(&moto().endpoint())
}

/// Runs a future to completion from a plain `#[test]`, on one runtime shared
/// by the whole test process (so SDK clients can be reused between calls).
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("building the test runtime")
        })
        .block_on(future)
}

// ---------------------------------------------------------------------------
// A stack slow enough to interrupt

/// N parameters created one at a time (`--parallelism 1`): an apply that
/// runs long enough to be killed, interrupted or raced half-way.
pub const SLOW_STACK: &str = r#"variable "prefix" {
  type = string
}

variable "n" {
  type = number
}

resource "aws_ssm_parameter" "p" {
  count          = var.n
  name           = "/${var.prefix}/p${count.index}"
  type           = "String"
  insecure_value = "value ${count.index}"
}
"#;

/// How many parameters [`SLOW_STACK`] gets.
pub const SLOW_N: usize = 40;

/// `apply` of [`SLOW_STACK`] in the folder `s`, one operation at a time.
pub fn slow_apply_args(g: &Gantry) -> Vec<String> {
    let n = format!("n={SLOW_N}");
    ["apply", "--auto-approve", "-s", "s", "-var", &g.prefix_var(), "-var", &n, "--parallelism", "1"]
        .map(String::from)
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::is_api_request_line;

    #[test]
    fn request_lines_are_recognised() {
        assert!(is_api_request_line(r#"127.0.0.1 - - [23/Nov/2026 15:45:08] "POST / HTTP/1.1" 200 -"#));
        assert!(is_api_request_line(r#"127.0.0.1 - - [23/Nov/2026 15:45:08] "PUT /bucket?versioning HTTP/1.1" 200 -"#));
        assert!(!is_api_request_line(r#"127.0.0.1 - - [23/Nov/2026 15:45:08] "GET /moto-api/ HTTP/1.0" 200 -"#));
        assert!(!is_api_request_line(" * Running on http://127.0.0.1:53405"));
        assert!(!is_api_request_line("Press CTRL+C to quit"));
    }
}
