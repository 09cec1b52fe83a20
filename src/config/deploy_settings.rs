//! The `deploy` and `contract` blocks of `gantry.hcl`: how the app is
//! released onto the environment's hosts, where its environment lives in
//! SSM, and what the app needs from it. docs/deploy.md has the whole block.
//!
//! ```hcl
//! deploy {
//!   service         = "vaultsphere"
//!   ssm_path_output = "ssm_path"    # or: ssm_path = "/vaultsphere/prod"
//!   image_output    = "repository_url"
//!   hosts_output    = "public_ip"
//!   compose_file    = "deploy/docker-compose.yml"
//!   transport       = "ssh"
//!   ssh    { user = "ec2-user", known_hosts = "deploy/known_hosts" }
//!   health { url = "http://127.0.0.1:5001/health", attempts = 20, interval = "5s", timeout = "3s" }
//! }
//!
//! contract {
//!   key "PORT"           { type = "port" }
//!   key "APP_ENV"        { type = "enum", values = ["dev", "staging", "prod"] }
//!   key "SESSION_SECRET" { secret = true, min_length = 32 }
//!   key "FEATURE_*"      { type = "bool", required = false }
//! }
//! ```
//!
//! An `environment "NAME" { deploy { ... } }` block may repeat any of these:
//! what it sets replaces the top-level setting for that environment.

use std::time::Duration;

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Body as HclBody, Structure};
use hcl_edit::Span;

use super::blocks::{constant_bool, constant_string, unsupported};
use crate::contract::{ContractKey, KeyType};
use crate::diag::{Diagnostic, Diagnostics, FileId, Loc};
use crate::value::Value;

/// A setting written in gantry.hcl, or read from the environment's state
/// outputs (so one gantry.hcl serves every environment).
#[derive(Debug, Clone, PartialEq)]
pub enum OutputOr<T> {
    Literal(T),
    /// The name of a state output holding the value.
    Output(String),
}

/// The SSM path of an environment's parameters.
pub type SsmPath = OutputOr<String>;

/// How a deploy reaches the hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Local,
    Ssh,
    Ssm,
}

/// The `deploy` block; every field optional so an environment's block can
/// override some of them (see [`DeploySettings::overlay`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploySettings {
    /// The compose project name on the hosts.
    pub service: Option<String>,
    pub ssm_path: Option<SsmPath>,
    /// The image repository, without a tag (ECR's repository URL).
    pub image: Option<OutputOr<String>>,
    pub hosts: Option<OutputOr<Vec<String>>>,
    /// Relative to the stack folder.
    pub compose_file: Option<String>,
    pub transport: Option<TransportKind>,
    /// A registry host[:port] that replaces the image's registry host.
    pub registry: Option<String>,
    /// The release folder on a host, relative to the login's home.
    pub remote_dir: Option<String>,
    pub ssh: Option<SshSettings>,
    pub health: Option<HealthSettings>,
    pub build: Option<BuildSettings>,
    pub frontend: Option<FrontendSettings>,
    /// Zero-downtime releases through a reverse proxy on each host.
    pub proxy: Option<ProxySettings>,
    /// Compose services that must never run twice (a database, a worker):
    /// with a proxy they are left out of the side-by-side start and kept in
    /// one project of their own.
    pub singleton: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SshSettings {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<String>,
    pub known_hosts: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthSettings {
    pub url: String,
    pub attempts: u32,
    pub interval: Duration,
    pub timeout: Duration,
}

/// The `proxy` block: nginx on each host sends traffic to the live release.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySettings {
    /// The file gantry rewrites with `upstream gantry_SERVICE { server
    /// 127.0.0.1:PORT; }`; `None`: `/etc/nginx/gantry/SERVICE.conf`.
    pub upstream_file: Option<String>,
    /// The shell command that makes the proxy read its configuration again.
    pub reload: String,
    /// The two ports releases take turns on.
    pub ports: [u16; 2],
    /// How long the old release keeps running after the switch, so that the
    /// proxy's old workers finish the requests they hold.
    pub drain: Duration,
    /// `enabled = false` (in an environment's block): releases replace the
    /// running one in place, as without a proxy block.
    pub enabled: bool,
}

/// What the proxy's `reload` is unless gantry.hcl says otherwise: check the
/// configuration first, since `nginx -s reload` with a bad one only logs it.
pub const DEFAULT_PROXY_RELOAD: &str = "sudo nginx -t -q && sudo nginx -s reload";

#[derive(Debug, Clone, PartialEq)]
pub struct BuildSettings {
    pub context: String,
    pub dockerfile: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FrontendSettings {
    pub folder: String,
    pub bucket: OutputOr<String>,
    pub prefix: String,
}

impl DeploySettings {
    /// These settings with everything `over` sets replacing them.
    pub fn overlay(self, over: &DeploySettings) -> DeploySettings {
        let o = over.clone();
        DeploySettings {
            service: o.service.or(self.service),
            ssm_path: o.ssm_path.or(self.ssm_path),
            image: o.image.or(self.image),
            hosts: o.hosts.or(self.hosts),
            compose_file: o.compose_file.or(self.compose_file),
            transport: o.transport.or(self.transport),
            registry: o.registry.or(self.registry),
            remote_dir: o.remote_dir.or(self.remote_dir),
            ssh: o.ssh.or(self.ssh),
            health: o.health.or(self.health),
            build: o.build.or(self.build),
            frontend: o.frontend.or(self.frontend),
            proxy: o.proxy.or(self.proxy),
            singleton: o.singleton.or(self.singleton),
        }
    }
}

const DEPLOY_ARGUMENTS: &str = "service, ssm_path, ssm_path_output, image, image_output, hosts, hosts_output, \
compose_file, transport, registry, remote_dir, singleton";
const DEPLOY_BLOCKS: &str = "ssh, health, build, frontend, proxy";

pub(super) fn deploy(file: FileId, body: HclBody, diags: &mut Diagnostics) -> DeploySettings {
    let mut out = DeploySettings::default();
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                let at = Loc::new(file, attr.span());
                let key = attr.key.as_str().to_string();
                let v = &attr.value;
                let twice = |set: bool, what: &str, diags: &mut Diagnostics| {
                    if set {
                        diags.push(Diagnostic::error(format!("The {what} is set twice")).at(at.clone()).detail(
                            format!("Set either {what} (a literal) or {what}_output (a state output's name)."),
                        ));
                    }
                    set
                };
                match key.as_str() {
                    "ssm_path" | "ssm_path_output" => {
                        if twice(out.ssm_path.is_some(), "ssm_path", diags) {
                            continue;
                        }
                        out.ssm_path = literal_or_output(&key, v, &at, diags);
                    }
                    "image" | "image_output" => {
                        if twice(out.image.is_some(), "image", diags) {
                            continue;
                        }
                        out.image = literal_or_output(&key, v, &at, diags);
                    }
                    "hosts" => {
                        if twice(out.hosts.is_some(), "hosts", diags) {
                            continue;
                        }
                        match string_list(v) {
                            Some(hosts) if !hosts.is_empty() => out.hosts = Some(OutputOr::Literal(hosts)),
                            _ => diags.push(Diagnostic::error("hosts must be a non-empty list of strings").at(at)),
                        }
                    }
                    "hosts_output" => {
                        if twice(out.hosts.is_some(), "hosts", diags) {
                            continue;
                        }
                        out.hosts = constant_string(v, &at, "hosts_output", diags).map(OutputOr::Output);
                    }
                    "service" => {
                        out.service = constant_string(v, &at, "service", diags);
                        if let Some(name) = &out.service {
                            if !valid_service_name(name) {
                                diags.push(
                                    Diagnostic::error(format!("\"{name}\" cannot be a service name")).at(at).detail(
                                        "Use lowercase letters, digits, - and _ (it names the compose project).",
                                    ),
                                );
                            }
                        }
                    }
                    "compose_file" => out.compose_file = constant_string(v, &at, "compose_file", diags),
                    "registry" => out.registry = constant_string(v, &at, "registry", diags),
                    "remote_dir" => out.remote_dir = constant_string(v, &at, "remote_dir", diags),
                    "singleton" => match string_list(v) {
                        Some(names) if names.iter().all(|n| valid_service_name(n)) => out.singleton = Some(names),
                        _ => diags.push(
                            Diagnostic::error("singleton must be a list of compose service names").at(at).detail(
                                "For example singleton = [\"worker\", \"db\"]: services that must never run twice.",
                            ),
                        ),
                    },
                    "transport" => {
                        out.transport = match constant_string(v, &at, "transport", diags).as_deref() {
                            Some("local") => Some(TransportKind::Local),
                            Some("ssh") => Some(TransportKind::Ssh),
                            Some("ssm") => Some(TransportKind::Ssm),
                            Some(other) => {
                                diags.push(
                                    Diagnostic::error(format!("Unknown transport \"{other}\""))
                                        .at(at)
                                        .detail("Transports: ssh, ssm, local."),
                                );
                                None
                            }
                            None => None,
                        }
                    }
                    other => diags.push(unsupported("argument", other, "the deploy block", DEPLOY_ARGUMENTS, at)),
                }
            }
            Structure::Block(block) => {
                let at = Loc::new(file, block.span());
                let kind = block.ident.as_str().to_string();
                let args = attributes(file, block.body, &kind, diags);
                match kind.as_str() {
                    "ssh" => out.ssh = Some(ssh_block(args, diags)),
                    "health" => out.health = health_block(args, &at, diags),
                    "build" => out.build = build_block(args, &at, diags),
                    "frontend" => out.frontend = frontend_block(args, &at, diags),
                    "proxy" => out.proxy = proxy_block(args, &at, diags),
                    other => diags.push(unsupported("block", other, "the deploy block", DEPLOY_BLOCKS, at)),
                }
            }
        }
    }
    out
}

/// `NAME = value` or `NAME_output = "output"`.
fn literal_or_output(key: &str, v: &Expression, at: &Loc, diags: &mut Diagnostics) -> Option<OutputOr<String>> {
    let value = constant_string(v, at, key, diags)?;
    Some(if key.ends_with("_output") { OutputOr::Output(value) } else { OutputOr::Literal(value) })
}

fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// The attributes of a nested block (it has no blocks of its own).
fn attributes(file: FileId, body: HclBody, kind: &str, diags: &mut Diagnostics) -> Vec<(String, Expression, Loc)> {
    let mut out: Vec<(String, Expression, Loc)> = Vec::new();
    for structure in body.into_iter() {
        match structure {
            Structure::Attribute(attr) => {
                let at = Loc::new(file, attr.span());
                let key = attr.key.as_str().to_string();
                if out.iter().any(|(k, _, _)| *k == key) {
                    diags.push(Diagnostic::error(format!("Duplicate argument \"{key}\" in the {kind} block")).at(at));
                    continue;
                }
                out.push((key, attr.value, at));
            }
            Structure::Block(b) => diags.push(
                Diagnostic::error(format!("Unexpected block \"{}\" in the {kind} block", b.ident.as_str()))
                    .at(Loc::new(file, b.span())),
            ),
        }
    }
    out
}

fn ssh_block(args: Vec<(String, Expression, Loc)>, diags: &mut Diagnostics) -> SshSettings {
    let mut ssh = SshSettings::default();
    for (key, v, at) in args {
        match key.as_str() {
            "user" => ssh.user = constant_string(&v, &at, "user", diags),
            "identity_file" => ssh.identity_file = constant_string(&v, &at, "identity_file", diags),
            "known_hosts" => ssh.known_hosts = constant_string(&v, &at, "known_hosts", diags),
            "port" => match whole_number(&v).and_then(|n| u16::try_from(n).ok()).filter(|p| *p > 0) {
                Some(p) => ssh.port = Some(p),
                None => diags.push(Diagnostic::error("port must be a number from 1 to 65535").at(at)),
            },
            other => diags.push(unsupported(
                "argument",
                other,
                "the ssh block",
                "user, port, identity_file, known_hosts",
                at,
            )),
        }
    }
    ssh
}

fn health_block(args: Vec<(String, Expression, Loc)>, at: &Loc, diags: &mut Diagnostics) -> Option<HealthSettings> {
    let mut url = None;
    let mut health = HealthSettings {
        url: String::new(),
        attempts: 10,
        interval: Duration::from_secs(3),
        timeout: Duration::from_secs(5),
    };
    for (key, v, a) in args {
        match key.as_str() {
            "url" => url = constant_string(&v, &a, "url", diags),
            "attempts" => match whole_number(&v).and_then(|n| u32::try_from(n).ok()).filter(|n| (1..=1000).contains(n))
            {
                Some(n) => health.attempts = n,
                None => diags.push(Diagnostic::error("attempts must be a whole number from 1 to 1000").at(a)),
            },
            "interval" | "timeout" => match duration(&v) {
                Some(d) if key == "interval" => health.interval = d,
                Some(d) => health.timeout = d,
                None => diags.push(
                    Diagnostic::error(format!("{key} must be a duration such as \"5s\", \"500ms\" or \"1m\"")).at(a),
                ),
            },
            other => {
                diags.push(unsupported("argument", other, "the health block", "url, attempts, interval, timeout", a))
            }
        }
    }
    match url {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => Some(HealthSettings { url: u, ..health }),
        Some(_) => {
            diags.push(Diagnostic::error("The health url must start with http:// or https://").at(at.clone()));
            None
        }
        None => {
            diags.push(Diagnostic::error("The health block needs a url").at(at.clone()));
            None
        }
    }
}

fn proxy_block(args: Vec<(String, Expression, Loc)>, at: &Loc, diags: &mut Diagnostics) -> Option<ProxySettings> {
    let mut proxy = ProxySettings {
        upstream_file: None,
        reload: DEFAULT_PROXY_RELOAD.to_string(),
        ports: [0, 0],
        drain: Duration::from_secs(5),
        enabled: true,
    };
    let mut ports = None;
    for (key, v, a) in args {
        match key.as_str() {
            "upstream_file" => proxy.upstream_file = constant_string(&v, &a, "upstream_file", diags),
            "reload" => {
                if let Some(r) = constant_string(&v, &a, "reload", diags) {
                    proxy.reload = r;
                }
            }
            "ports" => {
                let list = crate::eval::eval(&v, &super::ConstScope).ok().and_then(|l| match l {
                    Value::List(items) => Some(items),
                    _ => None,
                });
                // Every item a whole number in range, or none at all.
                let numbers: Option<Vec<u16>> = list.and_then(|items| {
                    items
                        .iter()
                        .map(|i| {
                            i.as_f64().filter(|n| n.fract() == 0.0 && (1.0..=65535.0).contains(n)).map(|n| n as u16)
                        })
                        .collect()
                });
                match numbers.as_deref() {
                    Some(&[a1, b1]) if a1 != b1 => ports = Some([a1, b1]),
                    _ => diags.push(
                        Diagnostic::error("ports must be two different port numbers")
                            .at(a)
                            .detail("Releases take turns on them: ports = [8001, 8002]."),
                    ),
                }
            }
            "enabled" => proxy.enabled = constant_bool(&v, &a, "enabled", diags),
            "drain" => match duration(&v) {
                Some(d) => proxy.drain = d,
                None => diags.push(Diagnostic::error("drain must be a duration such as \"5s\"").at(a)),
            },
            other => diags.push(unsupported(
                "argument",
                other,
                "the proxy block",
                "upstream_file, reload, ports, drain, enabled",
                a,
            )),
        }
    }
    match ports {
        Some(p) => Some(ProxySettings { ports: p, ..proxy }),
        None if !proxy.enabled => Some(proxy),
        None => {
            diags.push(
                Diagnostic::error("The proxy block needs ports")
                    .at(at.clone())
                    .detail("The two ports releases take turns on: ports = [8001, 8002]."),
            );
            None
        }
    }
}

fn build_block(args: Vec<(String, Expression, Loc)>, at: &Loc, diags: &mut Diagnostics) -> Option<BuildSettings> {
    let mut context = None;
    let mut dockerfile = None;
    for (key, v, a) in args {
        match key.as_str() {
            "context" => context = constant_string(&v, &a, "context", diags),
            "dockerfile" => dockerfile = constant_string(&v, &a, "dockerfile", diags),
            other => diags.push(unsupported("argument", other, "the build block", "context, dockerfile", a)),
        }
    }
    match context {
        Some(context) => Some(BuildSettings { context, dockerfile }),
        None => {
            diags.push(
                Diagnostic::error("The build block needs a context (a folder, relative to the stack)").at(at.clone()),
            );
            None
        }
    }
}

fn frontend_block(args: Vec<(String, Expression, Loc)>, at: &Loc, diags: &mut Diagnostics) -> Option<FrontendSettings> {
    let mut folder = None;
    let mut bucket = None;
    let mut prefix = String::new();
    for (key, v, a) in args {
        match key.as_str() {
            "folder" => folder = constant_string(&v, &a, "folder", diags),
            "bucket" | "bucket_output" => {
                if bucket.is_some() {
                    diags.push(Diagnostic::error("The bucket is set twice (bucket or bucket_output)").at(a));
                    continue;
                }
                bucket = literal_or_output(&key, &v, &a, diags);
            }
            "prefix" => prefix = constant_string(&v, &a, "prefix", diags).unwrap_or_default(),
            other => diags.push(unsupported(
                "argument",
                other,
                "the frontend block",
                "folder, bucket, bucket_output, prefix",
                a,
            )),
        }
    }
    match (folder, bucket) {
        (Some(folder), Some(bucket)) => Some(FrontendSettings { folder, bucket, prefix }),
        _ => {
            diags.push(
                Diagnostic::error("The frontend block needs a folder and a bucket (or bucket_output)").at(at.clone()),
            );
            None
        }
    }
}

fn whole_number(expr: &Expression) -> Option<u64> {
    let n = crate::eval::eval(expr, &super::ConstScope).ok()?.as_f64()?;
    (n >= 0.0 && n.fract() == 0.0 && n < 1e15).then_some(n as u64)
}

/// "5s", "500ms", "2m", or a number of seconds.
fn duration(expr: &Expression) -> Option<Duration> {
    match crate::eval::eval(expr, &super::ConstScope).ok()? {
        Value::Number(_) => whole_number(expr).map(Duration::from_secs),
        Value::String(s) => parse_duration(&s),
        _ => None,
    }
}

pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.')?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok().filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    (secs <= 86_400.0).then(|| Duration::from_secs_f64(secs))
}

fn string_list(expr: &Expression) -> Option<Vec<String>> {
    eval_list(expr)
}

pub(super) fn contract(file: FileId, body: HclBody, diags: &mut Diagnostics) -> Vec<ContractKey> {
    let mut keys: Vec<ContractKey> = Vec::new();
    for structure in body.into_iter() {
        let Structure::Block(block) = structure else {
            if let Structure::Attribute(attr) = structure {
                diags.push(
                    Diagnostic::error(format!("Unexpected argument \"{}\" in the contract block", attr.key.as_str()))
                        .at(Loc::new(file, attr.span()))
                        .detail("Declare each variable as key \"NAME\" { type = \"string\" }."),
                );
            }
            continue;
        };
        let at = Loc::new(file, block.span());
        if block.ident.as_str() != "key" {
            diags.push(unsupported("block", block.ident.as_str(), "the contract block", "key \"NAME\" { ... }", at));
            continue;
        }
        let labels: Vec<&str> = block.labels.iter().map(|l| l.as_str()).collect();
        let [pattern] = labels.as_slice() else {
            diags.push(
                Diagnostic::error("A key block takes one label: the variable's name, or a prefix ending in *").at(at),
            );
            continue;
        };
        let pattern = pattern.to_string();
        if keys.iter().any(|k| k.pattern == pattern) {
            diags.push(Diagnostic::error(format!("Duplicate contract key \"{pattern}\"")).at(at));
            continue;
        }
        let mut ty_name = "string".to_string();
        let mut values: Vec<String> = Vec::new();
        let mut required = !pattern.ends_with('*');
        let mut secret = false;
        let mut min_length = None;
        for inner in block.body.into_iter() {
            let Structure::Attribute(attr) = inner else { continue };
            let a = Loc::new(file, attr.span());
            match attr.key.as_str() {
                "type" => ty_name = constant_string(&attr.value, &a, "type", diags).unwrap_or_default(),
                "required" => required = constant_bool(&attr.value, &a, "required flag", diags),
                "secret" => secret = constant_bool(&attr.value, &a, "secret flag", diags),
                "values" => match eval_list(&attr.value) {
                    Some(v) => values = v,
                    None => diags.push(Diagnostic::error("values must be a list of strings").at(a)),
                },
                "min_length" => {
                    match crate::eval::eval(&attr.value, &super::ConstScope).ok().and_then(|v| v.as_f64()) {
                        Some(n) if n >= 0.0 && n.fract() == 0.0 => min_length = Some(n as usize),
                        _ => diags.push(Diagnostic::error("min_length must be a whole number").at(a)),
                    }
                }
                other => diags.push(unsupported(
                    "argument",
                    other,
                    "a contract key",
                    "type, values, required, secret, min_length",
                    a,
                )),
            }
        }
        let Some(ty) = KeyType::parse(&ty_name, values) else {
            diags.push(
                Diagnostic::error(format!("Unknown contract type \"{ty_name}\" for {pattern}"))
                    .at(at)
                    .detail("Types: string, number, bool, port, enum (with values = [...])."),
            );
            continue;
        };
        if matches!(&ty, KeyType::Enum(v) if v.is_empty()) {
            diags.push(Diagnostic::error(format!("The enum key {pattern} needs values = [...]")).at(at));
            continue;
        }
        keys.push(ContractKey { pattern, ty, required, secret, min_length });
    }
    keys
}

fn eval_list(expr: &hcl_edit::expr::Expression) -> Option<Vec<String>> {
    match crate::eval::eval(expr, &super::ConstScope).ok()? {
        Value::List(items) => items.into_iter().map(|v| v.as_str().map(str::to_string)).collect(),
        _ => None,
    }
}
