//! The deploy tests' services, all on 127.0.0.1: a Docker daemon of their
//! own, a registry standing in for ECR, and an sshd whose sessions reach that
//! daemon. `scripts/services.sh start` runs them and writes their environment
//! to `.gantry-run/services/services.env`; `scripts/test.sh` starts them
//! itself when their programs are installed.
//!
//! Also here: the test app (a FROM-scratch busybox image), a fixture stack
//! with its `gantry.hcl`, plain HTTP on loopback, and a guard that removes a
//! compose project's containers when a test ends, whatever way it ends.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tempfile::TempDir;

use super::{block_on, repo_root, Gantry};

/// The environment every deploy test runs in (`-e test`).
pub const ENV: &str = "test";
/// The folder the fixture stack is written to in a test's work directory.
pub const STACK: &str = "stack";
/// How long one gantry deploy, release or rollback command may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// Where the services are, from the environment `scripts/services.sh`
/// writes.
#[derive(Debug, Clone)]
pub struct Services {
    /// `unix:///…/docker.sock`: the test Docker daemon.
    pub docker_host: String,
    /// `127.0.0.1:5000`: the registry that stands in for ECR.
    pub registry: String,
    pub ssh_port: u16,
    pub ssh_user: String,
    /// The client's private key (ed25519, no passphrase).
    pub ssh_key: PathBuf,
    /// A known_hosts file with the sshd's host key for `[127.0.0.1]:PORT`.
    pub ssh_known_hosts: PathBuf,
    /// A `DOCKER_CONFIG` of the tests' own: the developer's ~/.docker
    /// (credential helpers, logins) is never read.
    docker_config: PathBuf,
}

const VARS: [&str; 6] = [
    "DOCKER_HOST",
    "GANTRY_TEST_REGISTRY",
    "GANTRY_TEST_SSH_PORT",
    "GANTRY_TEST_SSH_USER",
    "GANTRY_TEST_SSH_KEY",
    "GANTRY_TEST_SSH_KNOWN_HOSTS",
];

impl Services {
    /// The running services. Panics, saying how to start them, when they
    /// are not configured: a deploy test never passes without them.
    pub fn get() -> &'static Services {
        static SERVICES: OnceLock<Result<Services, String>> = OnceLock::new();
        match SERVICES.get_or_init(Services::load) {
            Ok(services) => services,
            Err(message) => panic!("{message}"),
        }
    }

    fn load() -> Result<Services, String> {
        // The process environment (scripts/test.sh sources services.env),
        // else the file itself (after `scripts/services.sh start`, a plain
        // `cargo test` works too).
        let mut vars: HashMap<String, String> = HashMap::new();
        if VARS.iter().all(|v| std::env::var(v).is_ok_and(|s| !s.is_empty())) {
            for v in VARS {
                vars.insert(v.to_string(), std::env::var(v).unwrap());
            }
        } else {
            let file = repo_root().join(".gantry-run/services/services.env");
            if let Ok(text) = fs::read_to_string(&file) {
                for line in text.lines() {
                    if let Some((key, value)) = line.trim().trim_start_matches("export ").split_once('=') {
                        vars.insert(key.trim().to_string(), value.trim().to_string());
                    }
                }
            }
        }
        let missing: Vec<&str> = VARS.iter().copied().filter(|v| !vars.contains_key(*v)).collect();
        if !missing.is_empty() {
            return Err(format!(
                "the deploy tests need a Docker daemon, a registry and sshd on 127.0.0.1, and {} is not set. \
                 Start them with scripts/services.sh start (scripts/test.sh starts them itself when docker.io, \
                 docker-compose, docker-registry, openssh-server and busybox-static are installed).",
                missing.join(", ")
            ));
        }
        let docker_host = vars["DOCKER_HOST"].clone();
        let socket = docker_host.strip_prefix("unix://").unwrap_or(&docker_host);
        if !Path::new(socket).exists() {
            return Err(format!(
                "DOCKER_HOST={docker_host} names no socket: the services are not running. Start them with \
                 scripts/services.sh start."
            ));
        }
        let registry = vars["GANTRY_TEST_REGISTRY"].clone();
        if !registry.starts_with("127.0.0.1:") {
            return Err(format!("GANTRY_TEST_REGISTRY={registry}: the tests use a registry on 127.0.0.1 only"));
        }
        let ssh_port = vars["GANTRY_TEST_SSH_PORT"]
            .parse()
            .map_err(|_| format!("GANTRY_TEST_SSH_PORT={} is not a port", vars["GANTRY_TEST_SSH_PORT"]))?;
        let docker_config = std::env::temp_dir().join(format!("gantry-test-docker-config-{}", std::process::id()));
        fs::create_dir_all(&docker_config).map_err(|e| format!("creating {}: {e}", docker_config.display()))?;
        fs::write(docker_config.join("config.json"), "{}\n").map_err(|e| e.to_string())?;
        Ok(Services {
            docker_host,
            registry,
            ssh_port,
            ssh_user: vars["GANTRY_TEST_SSH_USER"].clone(),
            ssh_key: PathBuf::from(&vars["GANTRY_TEST_SSH_KEY"]),
            ssh_known_hosts: PathBuf::from(&vars["GANTRY_TEST_SSH_KNOWN_HOSTS"]),
            docker_config,
        })
    }

    /// `docker ARGS...` against the test daemon.
    pub fn docker<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = Command::new("docker");
        cmd.args(args)
            .env("DOCKER_HOST", &self.docker_host)
            .env("DOCKER_CONFIG", &self.docker_config)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `docker ARGS...`, panicking with its output on failure.
    pub fn docker_ok<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut cmd = self.docker(args);
        let out = cmd.output().expect("running docker");
        assert!(out.status.success(), "{cmd:?} failed:\n{}{}", stdout(&out), stderr(&out));
        stdout(&out)
    }

    /// Builds the test app as `REGISTRY/repo:tag` and pushes it; returns
    /// that name. See [`write_app_context`] for what the app does.
    pub fn build_app_image(&self, repo: &str, tag: &str, healthy: bool) -> String {
        self.build_app(repo, tag, &App { healthy, start_delay_secs: 0 })
    }

    /// [`Services::build_app_image`] with every option of [`App`].
    pub fn build_app(&self, repo: &str, tag: &str, app: &App) -> String {
        let context = tempfile::Builder::new().prefix("gantry-app-").tempdir().expect("a temporary directory");
        write_app_context(context.path(), tag, app);
        let image = format!("{}/{repo}:{tag}", self.registry);
        self.docker_ok(["build", "--quiet", "-t", &image, &context.path().display().to_string()]);
        self.docker_ok(["push", &image]);
        image
    }

    /// Container IDs of a compose project, running or not.
    pub fn project_containers(&self, project: &str) -> Vec<String> {
        let filter = format!("label=com.docker.compose.project={project}");
        self.docker_ok(["ps", "-aq", "--no-trunc", "--filter", &filter]).lines().map(str::to_string).collect()
    }

    /// The tags the registry holds for `repo`.
    pub fn registry_tags(&self, repo: &str) -> Vec<String> {
        let url = format!("http://{}/v2/{repo}/tags/list", self.registry);
        let Some((200, body)) = http_get(&url) else { return Vec::new() };
        let json: serde_json::Value = serde_json::from_str(&body).expect("registry answers JSON");
        json["tags"]
            .as_array()
            .map(|tags| tags.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------
// the test app

/// What the test app does.
#[derive(Debug, Clone)]
pub struct App {
    /// With `false`, `/health` does not exist (404): a broken release.
    pub healthy: bool,
    /// Seconds the container waits before it starts listening: a release
    /// whose health check needs several attempts.
    pub start_delay_secs: u32,
}

/// Writes the build context of the test app into `dir`: a FROM-scratch image
/// holding the static busybox, serving `/www` with `busybox httpd` on
/// 127.0.0.1:$PORT (PORT comes from the container's environment, that is
/// from the app's SSM parameters), stopping at once on SIGTERM, with
/// - `/health`, whose body is the tag (absent when the app is broken);
/// - `/cgi-bin/env`, which prints `APP_ENV=...` and
///   `SESSION_SECRET_SHA256=<sha256 hex of $SESSION_SECRET>`, so a test can
///   see the environment reached the app without the secret being printed.
pub fn write_app_context(dir: &Path, tag: &str, app: &App) {
    let busybox = static_busybox();
    fs::create_dir_all(dir.join("www/cgi-bin")).expect("creating the app's folders");
    fs::copy(busybox, dir.join("busybox")).expect("copying busybox");
    if app.healthy {
        fs::write(dir.join("www/health"), tag).unwrap();
    }
    let cgi = dir.join("www/cgi-bin/env");
    fs::write(
        &cgi,
        "#!/bin/busybox sh\n\
         echo 'Content-Type: text/plain'\n\
         echo ''\n\
         echo \"APP_ENV=$APP_ENV\"\n\
         echo \"SESSION_SECRET_SHA256=$(printf '%s' \"$SESSION_SECRET\" | /bin/busybox sha256sum | /bin/busybox cut -d' ' -f1)\"\n",
    )
    .unwrap();
    fs::set_permissions(&cgi, fs::Permissions::from_mode(0o755)).unwrap();
    // PID 1 of a container gets no default signal handling: a bare httpd
    // there ignores SIGTERM, and every `docker stop` (each compose
    // recreate) would wait out its 10 s grace. The shell stays PID 1 and
    // leaves on SIGTERM, which ends the whole container.
    let delay = match app.start_delay_secs {
        0 => String::new(),
        secs => format!("/bin/busybox sleep {secs} & wait; "),
    };
    let start = format!("trap 'exit 0' TERM; {delay}/bin/busybox httpd -f -p 127.0.0.1:$PORT -h /www & wait");
    fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM scratch\nCOPY busybox /bin/busybox\nCOPY www /www\nENTRYPOINT [\"/bin/busybox\", \"sh\", \"-c\", {}]\n",
            serde_json::to_string(&start).unwrap()
        ),
    )
    .unwrap();
}

/// The static busybox of Debian's busybox-static (a dynamic one would not
/// run in a FROM-scratch image).
fn static_busybox() -> &'static Path {
    static CHECKED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let path = PathBuf::from("/bin/busybox");
        let bytes = fs::read(&path)
            .map_err(|e| format!("the test app needs a static /bin/busybox ({e}); install Debian's busybox-static"))?;
        if has_interpreter(&bytes) {
            return Err("/bin/busybox is linked dynamically; the test app needs Debian's busybox-static".into());
        }
        Ok(path)
    });
    match checked {
        Ok(path) => path,
        Err(message) => panic!("{message}"),
    }
}

/// Whether an ELF64 little-endian file names a program interpreter
/// (PT_INTERP): then it is linked dynamically.
fn has_interpreter(elf: &[u8]) -> bool {
    let read = |at: usize, len: usize| -> u64 {
        elf.get(at..at + len).map(|b| b.iter().rev().fold(0u64, |n, &x| (n << 8) | u64::from(x))).unwrap_or(0)
    };
    if elf.get(..4) != Some(b"\x7fELF".as_slice()) {
        return false;
    }
    let (phoff, phentsize, phnum) = (read(32, 8) as usize, read(54, 2) as usize, read(56, 2) as usize);
    (0..phnum).any(|i| read(phoff + i * phentsize, 4) == 3)
}

/// The hex SHA-256 of a value, as the app's `/cgi-bin/env` prints it.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

// ---------------------------------------------------------------------------
// loopback HTTP

/// A free port on 127.0.0.1 (free when asked; nothing holds it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding a free loopback port");
    listener.local_addr().expect("local address").port()
}

/// `GET url` over HTTP/1.0; `url` must be `http://127.0.0.1:PORT/PATH`.
/// `None` when nothing answers; else the status code and the body.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("{url}: loopback URLs only"));
    let (port, path) = rest.split_once('/').map(|(p, path)| (p, format!("/{path}"))).unwrap_or((rest, "/".into()));
    let port: u16 = port.parse().unwrap_or_else(|_| panic!("{url}: no port"));
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    stream.set_write_timeout(Some(Duration::from_secs(3))).ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    // busybox httpd passes a CGI's own header lines through, ended by a
    // bare "\n\n": the head ends at whichever blank line comes first.
    let end = ["\r\n\r\n", "\n\n"].iter().filter_map(|sep| text.find(sep).map(|at| (at, sep.len()))).min();
    let (head, body) = match end {
        Some((at, len)) => (&text[..at], &text[at + len..]),
        None => (text.as_str(), ""),
    };
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// Polls `f` until it returns `Some`, or panics after `timeout` saying what
/// it waited for.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---------------------------------------------------------------------------
// cleanup

/// Removes a compose project's containers (and networks) when dropped, and
/// folders a deploy made on the "host", so a test leaves nothing running
/// even when it fails half-way.
pub struct ProjectGuard {
    pub project: String,
    paths: Vec<PathBuf>,
}

impl ProjectGuard {
    pub fn new(project: &str) -> ProjectGuard {
        ProjectGuard { project: project.to_string(), paths: Vec::new() }
    }

    /// Also removes `path` (a folder) on drop.
    pub fn remove_on_drop(&mut self, path: PathBuf) {
        self.paths.push(path);
    }
}

impl Drop for ProjectGuard {
    fn drop(&mut self) {
        let services = Services::get();
        let filter = format!("label=com.docker.compose.project={}", self.project);
        for kind in ["ps", "network"] {
            let list = match kind {
                "ps" => services.docker(["ps", "-aq", "--filter", &filter]).output(),
                _ => services.docker(["network", "ls", "-q", "--filter", &filter]).output(),
            };
            let Ok(list) = list else { continue };
            let ids: Vec<String> = stdout(&list).split_whitespace().map(str::to_string).collect();
            if ids.is_empty() {
                continue;
            }
            let mut rm: Vec<String> =
                if kind == "ps" { vec!["rm".into(), "-f".into()] } else { vec!["network".into(), "rm".into()] };
            rm.extend(ids);
            let _ = services.docker(&rm).stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
        for path in &self.paths {
            let _ = fs::remove_dir_all(path);
        }
    }
}

// ---------------------------------------------------------------------------
// the fixture stack

/// How a fixture stack's `gantry.hcl` deploys.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    pub transport: Transport,
    pub health_attempts: u32,
    pub health_interval: &'static str,
    pub health_timeout: &'static str,
    /// `build { context = ... }`, relative to the stack folder.
    pub build_context: Option<&'static str>,
    /// More of `gantry.hcl` (an `environment` block, say), as written.
    pub extra_hcl: String,
    /// More of the deploy block (a `proxy` block, say), as written.
    pub deploy_hcl: String,
}

#[derive(Debug, Clone)]
pub enum Transport {
    Local,
    /// Over the test sshd, checking its host key against this file.
    Ssh {
        known_hosts: PathBuf,
    },
}

impl Default for DeployConfig {
    fn default() -> Self {
        DeployConfig {
            transport: Transport::Local,
            health_attempts: 10,
            health_interval: "300ms",
            health_timeout: "2s",
            build_context: None,
            extra_hcl: String::new(),
            deploy_hcl: String::new(),
        }
    }
}

/// One deploy test's world: a stack (an ECR repository, the app's SSM
/// parameters) in the test's work directory, its `gantry.hcl` and compose
/// file, the compose project (= service name) and the app's port, all unique
/// to the test.
pub struct DeployStack<'g> {
    pub g: &'g Gantry,
    pub services: &'static Services,
    /// The stack folder.
    pub dir: PathBuf,
    /// The compose project name (`deploy.service`).
    pub service: String,
    /// The ECR repository, which is also the image's name in the registry.
    pub repo: String,
    pub ssm_path: String,
    /// The app's PORT parameter: where it listens, on 127.0.0.1.
    pub port: u16,
    /// The session secret: a value no output, file or argument may hold.
    pub canary: String,
    /// HOME of every gantry command here (the local transport's "host"
    /// folders end up under it).
    pub home: PathBuf,
    /// TMPDIR of every gantry command here: the local transport's
    /// `mktemp -d` folders (the env file, DOCKER_CONFIG) are made in it.
    pub tmp: PathBuf,
    pub guard: ProjectGuard,
}

const STACK_TF: &str = r#"variable "prefix" {
  type = string
}

variable "port" {
  type = string
}

variable "session_secret" {
  type      = string
  sensitive = true
}

locals {
  ssm_path = "/${var.prefix}/app"
}

resource "aws_ecr_repository" "app" {
  name = "${var.prefix}-app"
}

resource "aws_ssm_parameter" "port" {
  name           = "${local.ssm_path}/PORT"
  type           = "String"
  insecure_value = var.port
}

resource "aws_ssm_parameter" "app_env" {
  name           = "${local.ssm_path}/APP_ENV"
  type           = "String"
  insecure_value = "staging"
}

resource "aws_ssm_parameter" "feature_x" {
  name           = "${local.ssm_path}/FEATURE_X"
  type           = "String"
  insecure_value = "true"
}

resource "aws_ssm_parameter" "session_secret" {
  name  = "${local.ssm_path}/SESSION_SECRET"
  type  = "SecureString"
  value = var.session_secret
}

output "repository_url" {
  value = aws_ecr_repository.app.repository_url
}

output "ssm_path" {
  value = local.ssm_path
}
"#;

const COMPOSE_FILE: &str = r#"services:
  app:
    image: ${IMAGE_REPOSITORY}:${IMAGE_TAG}
    env_file: ${GANTRY_ENV_FILE}
    restart: unless-stopped
    network_mode: host
"#;

impl<'g> DeployStack<'g> {
    /// Writes the stack, its compose file and a `gantry.hcl` with `config`
    /// into the work directory of `g`. Nothing is applied yet.
    pub fn new(g: &'g Gantry, config: &DeployConfig) -> DeployStack<'g> {
        let services = Services::get();
        let service = g.prefix().to_string();
        let dir = g.path().join(STACK);
        let home = g.path().join("home");
        fs::create_dir_all(&home).unwrap();
        let tmp = g.path().join("tmp");
        fs::create_dir_all(&tmp).unwrap();
        g.write(format!("{STACK}/main.tf"), STACK_TF);
        g.write(format!("{STACK}/deploy/docker-compose.yml"), COMPOSE_FILE);
        let mut guard = ProjectGuard::new(&service);
        // The ssh transport's release folder, under the login's home.
        if let Some(user_home) = std::env::var_os("HOME") {
            guard.remove_on_drop(PathBuf::from(user_home).join(".gantry").join(&service));
        }
        let stack = DeployStack {
            g,
            services,
            dir,
            repo: format!("{service}-app"),
            ssm_path: format!("/{service}/app"),
            service,
            port: free_port(),
            canary: format!("canary-{}-secret-value", uuid::Uuid::new_v4()),
            home,
            tmp,
            guard,
        };
        stack.write_gantry_hcl(config);
        stack
    }

    /// (Re)writes `gantry.hcl`.
    pub fn write_gantry_hcl(&self, config: &DeployConfig) {
        let transport = match &config.transport {
            Transport::Local => "  transport       = \"local\"\n".to_string(),
            Transport::Ssh { known_hosts } => format!(
                "  transport       = \"ssh\"\n  hosts           = [\"127.0.0.1\"]\n\n  ssh {{\n    user          = \"{}\"\n    port          = {}\n    identity_file = \"{}\"\n    known_hosts   = \"{}\"\n  }}\n",
                self.services.ssh_user,
                self.services.ssh_port,
                self.services.ssh_key.display(),
                known_hosts.display()
            ),
        };
        let build = match config.build_context {
            Some(context) => {
                format!("\n  build {{\n    context    = \"{context}\"\n    dockerfile = \"Dockerfile\"\n  }}\n")
            }
            None => String::new(),
        };
        let text = format!(
            r#"deploy {{
  service         = "{service}"
  ssm_path_output = "ssm_path"
  image_output    = "repository_url"
  registry        = "{registry}"
  compose_file    = "deploy/docker-compose.yml"
{transport}
  health {{
    url      = "http://127.0.0.1:{port}/health"
    attempts = {attempts}
    interval = "{interval}"
    timeout  = "{timeout}"
  }}
{build}{deploy_hcl}}}

contract {{
  key "PORT" {{
    type = "port"
  }}
  key "APP_ENV" {{
    type   = "enum"
    values = ["dev", "staging", "prod"]
  }}
  key "SESSION_SECRET" {{
    secret     = true
    min_length = 32
  }}
  key "FEATURE_*" {{
    type     = "bool"
    required = false
  }}
}}
"#,
            service = self.service,
            registry = self.services.registry,
            port = self.port,
            attempts = config.health_attempts,
            interval = config.health_interval,
            timeout = config.health_timeout,
            deploy_hcl = config.deploy_hcl,
        );
        self.g.write(format!("{STACK}/gantry.hcl"), text + &config.extra_hcl);
    }

    /// `gantry apply --auto-approve` of the stack; the secret comes from
    /// the environment, as `TF_VAR_session_secret`.
    pub fn apply(&self) {
        let out = self
            .g
            .cmd(["apply", "--auto-approve", "-s", STACK, "-e", ENV, "-var"])
            .arg(self.g.prefix_var())
            .args(["-var", &format!("port={}", self.port)])
            .env("TF_VAR_session_secret", &self.canary)
            .timeout(COMMAND_TIMEOUT)
            .output()
            .unwrap();
        assert!(out.status.success(), "apply failed:\n{}{}", stdout(&out), stderr(&out));
        self.assert_no_canary("apply's output", &[&out.stdout, &out.stderr]);
    }

    /// The app's image in the registry, as the deploy names it.
    pub fn image(&self, tag: &str) -> String {
        format!("{}/{}:{tag}", self.services.registry, self.repo)
    }

    /// Builds and pushes the test app for `tag`.
    pub fn build(&self, tag: &str, healthy: bool) -> String {
        self.services.build_app_image(&self.repo, tag, healthy)
    }

    /// `gantry SUBCOMMAND -s stack -e test ARGS...` (deploy, releases,
    /// rollback) with the test's HOME and Docker daemon.
    pub fn cmd(&self, subcommand: &str, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.std_cmd(subcommand, args));
        cmd.timeout(COMMAND_TIMEOUT);
        cmd
    }

    /// The same as a plain process, for running in the background.
    pub fn std_cmd(&self, subcommand: &str, args: &[&str]) -> Command {
        let mut cmd = self.g.std_command();
        cmd.arg("--state-dir")
            .arg(self.g.state_dir())
            .args([subcommand, "-s", STACK, "-e", ENV])
            .args(args)
            .env("HOME", &self.home)
            .env("TMPDIR", &self.tmp)
            .env("DOCKER_HOST", &self.services.docker_host)
            .env_remove("DOCKER_CONFIG");
        cmd
    }

    /// Runs `gantry deploy ARGS...`; asserts its exit code; returns its
    /// output, checked for the secret.
    pub fn deploy(&self, args: &[&str], code: i32) -> Output {
        self.run("deploy", args, code)
    }

    /// Runs `gantry SUBCOMMAND ARGS...`, asserts its exit code and that its
    /// output holds no secret.
    pub fn run(&self, subcommand: &str, args: &[&str], code: i32) -> Output {
        let out = self.cmd(subcommand, args).output().unwrap();
        self.assert_no_canary(&format!("the output of {subcommand} {args:?}"), &[&out.stdout, &out.stderr]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "gantry {subcommand} {args:?} exited with {:?}, not {code}:\n--- stdout\n{}--- stderr\n{}",
            out.status.code(),
            stdout(&out),
            stderr(&out)
        );
        out
    }

    /// `gantry releases --json`: the releases, newest first.
    pub fn releases(&self) -> Vec<serde_json::Value> {
        let out = self.run("releases", &["--json"], 0);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("releases --json is not JSON ({e}):\n{}", stdout(&out)));
        json["releases"].as_array().unwrap_or_else(|| panic!("no \"releases\" list in {json}")).clone()
    }

    /// `GET /health` of the app: the live tag, or `None` when it does not
    /// answer 200.
    pub fn live_tag(&self) -> Option<String> {
        match http_get(&format!("http://127.0.0.1:{}/health", self.port)) {
            Some((200, body)) => Some(body),
            _ => None,
        }
    }

    /// `GET /cgi-bin/env` of the app, as key=value pairs.
    pub fn app_env(&self) -> HashMap<String, String> {
        let url = format!("http://127.0.0.1:{}/cgi-bin/env", self.port);
        let Some((200, body)) = http_get(&url) else { panic!("{url} does not answer 200") };
        body.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// The compose project's containers.
    pub fn containers(&self) -> Vec<String> {
        self.services.project_containers(&self.service)
    }

    /// The release history file beside local state.
    pub fn history_file(&self) -> PathBuf {
        self.g.state_dir().join(STACK).join(format!("{ENV}.releases.json"))
    }

    /// The deploy lock beside local state.
    pub fn deploy_lock_file(&self) -> PathBuf {
        self.g.state_dir().join(STACK).join(format!("{ENV}.deploy.lock"))
    }

    /// Panics if any of `texts` holds the secret (without printing it).
    pub fn assert_no_canary(&self, what: &str, texts: &[&[u8]]) {
        for text in texts {
            assert!(!contains(text, self.canary.as_bytes()), "the session secret appeared in {what}");
        }
    }

    /// Every file under `dir` whose bytes hold the secret.
    pub fn files_with_canary(&self, dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    if let Ok(bytes) = fs::read(&path) {
                        if contains(&bytes, self.canary.as_bytes()) {
                            found.push(path);
                        }
                    }
                }
            }
        }
        found
    }

    /// Deletes one of the app's SSM parameters behind gantry's back.
    pub fn delete_parameter(&self, key: &str) {
        let name = format!("{}/{key}", self.ssm_path);
        block_on(super::aws().ssm.delete_parameter().name(&name).send())
            .unwrap_or_else(|e| panic!("deleting {name}: {e:?}"));
    }
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A temporary folder (for known_hosts files and the like).
pub fn temp_dir() -> TempDir {
    tempfile::Builder::new().prefix("gantry-deploy-").tempdir().expect("a temporary directory")
}
