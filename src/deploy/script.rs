//! The shell scripts a deploy runs on a host. Every transport runs one script
//! with `sh -s`, so these are the whole of what happens on a host, and they
//! are plain POSIX sh (Amazon Linux, Debian, busybox).
//!
//! Secrets: with an inline environment the values sit in heredocs of the
//! script, which reaches the host on standard input; `cat` and `docker
//! login` get them on *their* standard input, never as arguments. With
//! [`EnvSource::HostFetch`] (the ssm transport) the script holds no secret:
//! the host reads its parameters and its registry password itself.

use std::collections::BTreeMap;

/// Where the app's environment comes from on the host.
pub enum EnvSource<'a> {
    /// The values, carried inside the script.
    Inline(&'a BTreeMap<String, String>),
    /// The host reads the parameters under this SSM path itself (aws CLI
    /// and the instance's role).
    HostFetch { ssm_path: &'a str, region: &'a str },
}

/// How the host logs in to the registry.
pub enum Login<'a> {
    /// `docker login -u AWS --password-stdin`, the password carried inside the script.
    Password(&'a str),
    /// The host asks ECR itself (`aws ecr get-login-password`).
    HostFetch { region: &'a str },
    /// No login: a registry that is not ECR gets no ECR credentials.
    None,
}

/// What to start on a host.
pub struct Release<'a> {
    /// The compose project name.
    pub service: &'a str,
    /// The release folder; relative paths are under the login's home.
    pub remote_dir: &'a str,
    /// The compose file's text.
    pub compose: &'a str,
    /// The image repository without tag, and the tag.
    pub repository: &'a str,
    pub tag: &'a str,
    /// host[:port] of the registry, for docker login.
    pub registry: &'a str,
    pub env: EnvSource<'a>,
    pub login: Login<'a>,
    /// Started beside the live release instead of in its place.
    pub beside: Option<Beside<'a>>,
}

/// A release started next to the one serving (zero-downtime through a
/// proxy): its own compose project, its own port.
pub struct Beside<'a> {
    /// `PORT` in the app's environment and in compose's; it replaces any
    /// PORT parameter.
    pub port: u16,
    /// The release's compose project.
    pub project: &'a str,
    /// Compose services that must never run twice (a database, a worker):
    /// they run in the service's own project (`Release::service`), never
    /// beside, with the parameters' environment (no release PORT).
    pub singletons: &'a [String],
    /// What this run does.
    pub step: BesideStep,
}

/// The two runs of a release beside the live one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BesideStep {
    /// Pull, start the singletons that are not running (a running one is
    /// left as it is: a release that fails its health check changes
    /// nothing), and start the release's other services beside the live
    /// release.
    Start,
    /// After the switch: bring the singletons to this release (compose
    /// recreates those whose configuration changed, a new image say).
    Singletons,
}

/// A value that cannot be written to the env file.
#[derive(Debug, thiserror::Error)]
#[error("the value of {key} cannot be passed to the app: {reason}")]
pub struct BadValue {
    pub key: String,
    pub reason: &'static str,
}

/// The script that logs in, writes the compose file and the app's
/// environment, pulls and starts the release. It prints progress lines
/// starting with `gantry:`.
pub fn release(r: &Release) -> Result<String, BadValue> {
    let mut s = String::new();
    s.push_str("set -eu\numask 077\n");
    // A signal or a lost connection (a write to a closed pipe then fails
    // and `set -e` stops the script) ends the script through its EXIT trap,
    // which removes the secrets.
    s.push_str("trap 'exit 1' HUP INT TERM\ntrap '' PIPE\n");
    s.push_str(&format!("dir={}\n", dir_expr(r.remote_dir)));
    s.push_str("mkdir -p \"$dir\"\n");
    // Compose's flavour, probed before DOCKER_CONFIG moves (a per-user
    // compose plugin lives under the user's docker config).
    s.push_str(COMPOSE_FN);
    // Everything secret lives in this folder (in memory where /dev/shm is),
    // removed as soon as compose has started the release, and by the EXIT
    // trap however the script ends before that.
    s.push_str(
        "base=${TMPDIR:-/tmp}\nif [ -d /dev/shm ] && [ -w /dev/shm ]; then base=/dev/shm; fi\n\
         work=$(mktemp -d \"$base/gantry.XXXXXXXX\")\ntrap 'rm -rf \"$work\"' EXIT\n\
         plugins=\"${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins\"\n\
         export DOCKER_CONFIG=\"$work/docker\"\nmkdir -p \"$DOCKER_CONFIG\"\n\
         if [ -d \"$plugins\" ]; then ln -s \"$plugins\" \"$DOCKER_CONFIG/cli-plugins\"; fi\n",
    );
    s.push_str(&heredoc("cat > \"$dir/docker-compose.yml\"", r.compose));
    match &r.env {
        EnvSource::Inline(values) => {
            let (mut v1, mut v2) = (String::new(), String::new());
            for (key, value) in *values {
                check_value(key, value)?;
                v1.push_str(&format!("{key}='{}'\n", escape_v1(value)));
                v2.push_str(&format!("{key}='{}'\n", escape_v2(value)));
            }
            s.push_str(&heredoc("cat > \"$work/app.env.v1\"", &v1));
            s.push_str(&heredoc("cat > \"$work/app.env.v2\"", &v2));
        }
        EnvSource::HostFetch { ssm_path, region } => {
            // To a file first, so that a failed call stops the script (in a
            // pipeline its status would be lost); then name<TAB>value lines
            // become env lines, the key being the name's last segment.
            s.push_str(&format!(
                "aws ssm get-parameters-by-path --region {} --path {} --with-decryption \\\n  \
                 --query 'Parameters[].[Name,Value]' --output text > \"$work/params\"\n",
                quote(region),
                quote(ssm_path)
            ));
            s.push_str(HOST_ENV_FILES);
        }
    }
    if let Some(b) = &r.beside {
        // The release's own port replaces whatever PORT the parameters hold,
        // in the env file of the services beside (app.env); the singletons'
        // file (single.env) keeps the parameters as they are, so that a
        // singleton's configuration does not change with the port.
        s.push_str(&format!(
            "for v in v1 v2; do\n  \
             cp \"$work/app.env.$v\" \"$work/single.env.$v\"\n  \
             grep -v '^PORT=' \"$work/single.env.$v\" > \"$work/app.env.$v\" || true\n  \
             echo \"PORT='{port}'\" >> \"$work/app.env.$v\"\ndone\nexport PORT={port}\n",
            port = b.port
        ));
    }
    s.push_str("GANTRY_ENV_FILE=\"$work/app.env.$flavour\"\n");
    // The singletons' run after a switch pulls nothing: the start pulled.
    let pulls = r.beside.as_ref().is_none_or(|b| b.step == BesideStep::Start);
    match if pulls { &r.login } else { &Login::None } {
        Login::Password(password) => {
            s.push_str("echo 'gantry: logging in to the registry'\n");
            s.push_str(&heredoc(
                &format!("docker login --username AWS --password-stdin {} >/dev/null", quote(r.registry)),
                password,
            ))
        }
        Login::HostFetch { region } => {
            s.push_str("echo 'gantry: logging in to the registry'\n");
            s.push_str(&format!(
                "aws ecr get-login-password --region {} | docker login --username AWS --password-stdin {} >/dev/null\n",
                quote(region),
                quote(r.registry)
            ))
        }
        Login::None => {}
    }
    s.push_str(&format!(
        "export GANTRY_ENV_FILE IMAGE_REPOSITORY={} IMAGE_TAG={}\n",
        quote(r.repository),
        quote(r.tag)
    ));
    s.push_str("cd \"$dir\"\n");
    let project = quote(r.beside.as_ref().map_or(r.service, |b| b.project));
    let pull = |s: &mut String| {
        let image = quote(&format!("gantry: pulling {}:{} with ", r.repository, r.tag));
        s.push_str(&format!("echo {image}\"$compose_name\"\n"));
        s.push_str(&format!("compose -p {project} -f docker-compose.yml pull\n"));
    };
    match &r.beside {
        None => {
            pull(&mut s);
            s.push_str("echo 'gantry: starting'\n");
            s.push_str(&format!("compose -p {project} -f docker-compose.yml up -d --remove-orphans\n"));
        }
        Some(b) => {
            // The compose file's services, split into those that start
            // beside the live release and the singletons, which stay in
            // the service's own project.
            s.push_str(&format!(
                "app=''; single=''\nfor svc in $(compose -p {project} -f docker-compose.yml config --services); do\n  \
                 case ' {singletons} ' in *\" $svc \"*) single=\"$single $svc\" ;; *) app=\"$app $svc\" ;; esac\n\
                 done\n\
                 if [ -z \"$app\" ]; then echo 'gantry: every compose service is a singleton: nothing to start beside'; exit 1; fi\n",
                singletons = b.singletons.join(" "),
            ));
            let singles = |s: &mut String, how: &str, say: &str| {
                s.push_str(&format!(
                    "if [ -n \"$single\" ]; then\n  echo \"gantry: {say}:$single\"\n  \
                     GANTRY_ENV_FILE=\"$work/single.env.$flavour\" compose -p {service} -f docker-compose.yml \
                     up -d --no-deps {how}$single\nfi\n",
                    service = quote(r.service),
                ))
            };
            match b.step {
                BesideStep::Start => {
                    pull(&mut s);
                    singles(&mut s, "--no-recreate ", "singletons (started if not running)");
                    s.push_str(&format!(
                        "echo 'gantry: starting beside the live release on port {port}'\n\
                         compose -p {project} -f docker-compose.yml up -d --no-deps $app\n",
                        port = b.port,
                    ));
                }
                BesideStep::Singletons => singles(&mut s, "", "singletons brought to this release"),
            }
        }
    }
    // Compose has read the environment into the container: the file goes now.
    s.push_str("rm -rf \"$work\"\necho 'gantry: started'\n");
    Ok(s)
}

// The env files of the `ssm` transport, written on the host from
// `$work/params` (name<TAB>value lines) in both compose flavours.
const HOST_ENV_FILES: &str = r#"tab=$(printf '\t')
: > "$work/app.env.v1"
: > "$work/app.env.v2"
while IFS="$tab" read -r name value; do
  key=${name##*/}
  v1=$(printf '%s' "$value" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g")
  v2=$(printf '%s' "$value" | sed -e "s/'/\\\\'/g")
  printf "%s='%s'\n" "$key" "$v1" >> "$work/app.env.v1"
  printf "%s='%s'\n" "$key" "$v2" >> "$work/app.env.v2"
done < "$work/params"
"#;

/// The script that fetches `url` on the host up to `attempts` times.
pub fn health(url: &str, attempts: u32, interval_secs: f64, timeout_secs: u32) -> String {
    let url = quote(url);
    format!(
        "if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then\n\
         \x20 echo 'gantry: the host has neither curl nor wget to check health with'; exit 2\n\
         fi\n\
         i=0\n\
         while :; do\n\
         \x20 i=$((i + 1))\n\
         \x20 if command -v curl >/dev/null 2>&1; then\n\
         \x20   if curl -fsS -o /dev/null --max-time {timeout_secs} {url} 2>/dev/null; then ok=1; else ok=0; fi\n\
         \x20 else\n\
         \x20   if wget -q -T {timeout_secs} -O /dev/null {url} 2>/dev/null; then ok=1; else ok=0; fi\n\
         \x20 fi\n\
         \x20 if [ \"$ok\" = 1 ]; then echo \"gantry: healthy after $i attempt(s)\"; exit 0; fi\n\
         \x20 if [ \"$i\" -ge {attempts} ]; then echo \"gantry: not healthy after $i attempt(s)\"; exit 1; fi\n\
         \x20 echo \"gantry: attempt $i of {attempts}: not healthy yet\"\n\
         \x20 sleep {interval_secs}\n\
         done\n"
    )
}

/// The script that prints the proxy's upstream file (nothing when absent).
pub fn read_upstream(upstream_file: &str) -> String {
    format!("f={}\nif [ -f \"$f\" ]; then cat \"$f\"; fi\n", dir_expr(upstream_file))
}

/// The port an upstream file written by [`switch`] sends traffic to.
pub fn upstream_port(text: &str) -> Option<u16> {
    text.lines().find_map(|l| l.trim().strip_prefix("server 127.0.0.1:")?.trim_end_matches(';').trim().parse().ok())
}

/// The script that points the proxy at `port`: the upstream file is
/// replaced whole (a rename), then `reload` runs; when the reload fails the
/// old file is put back, so the proxy keeps its configuration.
pub fn switch(upstream_file: &str, upstream: &str, port: u16, reload: &str) -> String {
    let body = format!("upstream {upstream} {{\n    server 127.0.0.1:{port};\n}}\n");
    let mut s = format!("set -u\nf={}\nmkdir -p \"$(dirname \"$f\")\"\n", dir_expr(upstream_file));
    s.push_str("had=0\nif [ -f \"$f\" ]; then cp \"$f\" \"$f.gantry-old\" && had=1; fi\n");
    s.push_str(&heredoc("cat > \"$f.gantry-new\"", &body));
    s.push_str("mv \"$f.gantry-new\" \"$f\" || exit 1\n");
    s.push_str(&heredoc("if ! sh -s 2>&1", reload));
    s.push_str(&format!(
        "then\n  echo 'gantry: the proxy did not reload; its upstream file is put back'\n  \
         if [ \"$had\" = 1 ]; then mv \"$f.gantry-old\" \"$f\"; else rm -f \"$f\"; fi\n  exit 1\nfi\n\
         rm -f \"$f.gantry-old\"\necho 'gantry: the proxy sends traffic to 127.0.0.1:{port}'\n"
    ));
    s
}

/// The script that stops and removes a compose project's containers, and
/// those of `service`'s own project that are not singletons (a release
/// from before the proxy). Docker itself, not compose: compose would need
/// the release's environment to read the file.
pub fn retire(project: &str, service: &str, singletons: &[String]) -> String {
    format!(
        "gone() {{ docker stop \"$@\" >/dev/null; docker rm \"$@\" >/dev/null; }}\n\
         ids=$(docker ps -aq --filter label=com.docker.compose.project={project})\n\
         if [ -n \"$ids\" ]; then gone $ids; fi\n\
         for id in $(docker ps -aq --filter label=com.docker.compose.project={service}); do\n  \
         svc=$(docker inspect -f '{{{{index .Config.Labels \"com.docker.compose.service\"}}}}' \"$id\")\n  \
         case ' {singletons} ' in *\" $svc \"*) ;; *) gone \"$id\" ;; esac\n\
         done\n\
         echo 'gantry: stopped'\n",
        project = quote(project),
        service = quote(service),
        singletons = singletons.join(" "),
    )
}

/// The script that prints the last `lines` log lines of a failed release's
/// containers, then removes them: a release that never took traffic leaves
/// nothing behind.
pub fn discard(project: &str, lines: u32) -> String {
    format!(
        "ids=$(docker ps -aq --filter label=com.docker.compose.project={project})\n\
         for id in $ids; do\n  \
         name=$(docker inspect -f '{{{{.Name}}}}' \"$id\")\n  \
         docker logs --tail {lines} \"$id\" 2>&1 | sed \"s|^|log ${{name#/}}: |\"\n\
         done\n\
         if [ -n \"$ids\" ]; then docker rm -f $ids >/dev/null; fi\n",
        project = quote(project),
    )
}

// `docker compose` (v2, a docker plugin) when the host has it, else the
// standalone `docker-compose` (v1). The two read env files differently
// (see `escape_v1` and `escape_v2`), so the flavour also picks the file.
const COMPOSE_FN: &str = "if docker compose version >/dev/null 2>&1; then\n\
  flavour=v2\n  compose_name='docker compose'\n  compose() { docker compose \"$@\"; }\n\
else\n  flavour=v1\n  compose_name='docker-compose'\n  compose() { docker-compose \"$@\"; }\nfi\n";

/// `$HOME/...` for a relative folder, the folder itself when absolute.
fn dir_expr(dir: &str) -> String {
    if dir.starts_with('/') {
        quote(dir)
    } else {
        format!("\"$HOME\"/{}", quote(dir.trim_start_matches("./")))
    }
}

/// `command <<'DELIM'` with `body` verbatim: a quoted delimiter turns off
/// every expansion, and the delimiter is one no line of `body` equals.
fn heredoc(command: &str, body: &str) -> String {
    let mut delim = format!("GANTRY_{}", uuid::Uuid::new_v4().simple());
    while body.lines().any(|l| l == delim) {
        delim = format!("GANTRY_{}", uuid::Uuid::new_v4().simple());
    }
    let newline = if body.ends_with('\n') || body.is_empty() { "" } else { "\n" };
    format!("{command} <<'{delim}'\n{body}{newline}{delim}\n")
}

/// Refuses what no env file can carry, naming the key (never the value).
/// Called for every transport before any host is touched.
pub fn check_value(key: &str, value: &str) -> Result<(), BadValue> {
    let bad = |reason| Err(BadValue { key: key.to_string(), reason });
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return bad("the name is not a valid variable name");
    }
    if value.contains('\n') || value.contains('\r') {
        return bad("it spans several lines");
    }
    if value.contains('\0') {
        return bad("it contains a NUL byte");
    }
    // compose v2 reads `\'` in a single-quoted value as a quote, so these
    // two have no spelling there.
    if value.ends_with('\\') || value.contains("\\'") {
        return bad("it ends with a backslash or holds a backslash before a quote");
    }
    Ok(())
}

/// compose v1 (python-dotenv): in single quotes, `\\` is a backslash and
/// `\'` a quote.
pub(crate) fn escape_v1(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// compose v2 (compose-go's dotenv): in single quotes, `\'` is a quote and a
/// backslash is itself.
pub(crate) fn escape_v2(value: &str) -> String {
    value.replace('\'', "\\'")
}

/// A shell word holding `s` exactly.
pub fn quote(s: &str) -> String {
    // try_quote fails only on NUL, which no setting here may hold.
    shlex::try_quote(s).map(|c| c.into_owned()).unwrap_or_else(|_| "''".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample<'a>(env: &'a BTreeMap<String, String>) -> Release<'a> {
        Release {
            service: "shop",
            remote_dir: ".gantry/shop",
            compose: "services:\n  app:\n    image: ${IMAGE_REPOSITORY}:${IMAGE_TAG}\n",
            repository: "127.0.0.1:5000/shop",
            tag: "v1",
            registry: "127.0.0.1:5000",
            env: EnvSource::Inline(env),
            login: Login::Password("token-canary"),
            beside: None,
        }
    }

    #[test]
    fn secrets_reach_commands_only_through_heredocs() {
        let env = BTreeMap::from([("SESSION_SECRET".to_string(), "s3cr$t 'quoted' \\ value".to_string())]);
        let script = release(&sample(&env)).unwrap();
        for line in script.lines() {
            if line.contains("token-canary") {
                assert_eq!(line, "token-canary", "the token is a heredoc line of its own");
            }
            if line.contains("s3cr$t") {
                assert!(line.starts_with("SESSION_SECRET='"), "the secret is an env-file line: {line}");
            }
        }
        assert!(script.contains("SESSION_SECRET='s3cr$t \\'quoted\\' \\\\ value'\n"), "v1 spelling");
        assert!(script.contains("SESSION_SECRET='s3cr$t \\'quoted\\' \\ value'\n"), "v2 spelling");
        assert!(script.contains("--password-stdin 127.0.0.1:5000 >/dev/null <<'GANTRY_"));
    }

    #[test]
    fn the_script_runs_and_writes_a_private_env_file() {
        let home = tempfile::tempdir().unwrap();
        let bin = home.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        // Stand-ins that record what they saw, so the script's plumbing is
        // checked without a Docker daemon (the deploy tests use a real one).
        let log = home.path().join("log");
        std::fs::write(
            bin.join("docker"),
            format!(
                "#!/bin/sh\n[ \"$1\" = compose ] && exit 1\n\
                 echo \"docker $*\" >> {log}\ncat >> {log}\n",
                log = log.display()
            ),
        )
        .unwrap();
        std::fs::write(
            bin.join("docker-compose"),
            format!(
                "#!/bin/sh\necho \"compose $* tag=$IMAGE_TAG\" >> {log}\n\
                 stat -c '%a' \"$GANTRY_ENV_FILE\" >> {log}\ncat \"$GANTRY_ENV_FILE\" >> {log}\n",
                log = log.display()
            ),
        )
        .unwrap();
        for f in ["docker", "docker-compose"] {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(bin.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let env = BTreeMap::from([("PORT".to_string(), "8080".to_string())]);
        let script = release(&sample(&env)).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("HOME", home.path())
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(log.contains("docker login --username AWS --password-stdin 127.0.0.1:5000\ntoken-canary\n"), "{log}");
        assert!(log.contains("compose -p shop -f docker-compose.yml pull tag=v1"), "{log}");
        assert!(
            log.contains("compose -p shop -f docker-compose.yml up -d --remove-orphans tag=v1\n600\nPORT='8080'"),
            "{log}"
        );
        assert!(home.path().join(".gantry/shop/docker-compose.yml").exists());
    }

    #[test]
    fn values_without_a_spelling_are_refused_by_name() {
        for bad in ["a\nb", "ends in \\", "quote \\' in", "nul \0"] {
            let env = BTreeMap::from([("CERT".to_string(), bad.to_string())]);
            let err = release(&sample(&env)).unwrap_err();
            assert_eq!(err.key, "CERT");
            assert!(!err.to_string().contains(bad));
        }
        assert!(check_value("OK", "back\\slash and 'quotes'").is_ok());
        assert!(check_value("NOT-A-NAME", "x").is_err());
    }

    #[test]
    fn host_fetched_values_are_spelled_for_both_flavours() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("params"), "/app/prod/A\ta'b\\c\n/app/prod/PORT\t80\n").unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("set -eu\nwork={}\n{HOST_ENV_FILES}", dir.path().display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v1 = std::fs::read_to_string(dir.path().join("app.env.v1")).unwrap();
        let v2 = std::fs::read_to_string(dir.path().join("app.env.v2")).unwrap();
        assert_eq!(v1, format!("A='{}'\nPORT='80'\n", escape_v1("a'b\\c")));
        assert_eq!(v2, format!("A='{}'\nPORT='80'\n", escape_v2("a'b\\c")));
    }

    #[test]
    fn the_host_fetch_script_carries_no_secret() {
        let empty = BTreeMap::new();
        let mut r = sample(&empty);
        r.env = EnvSource::HostFetch { ssm_path: "/shop/prod", region: "eu-west-1" };
        r.login = Login::HostFetch { region: "eu-west-1" };
        let script = release(&r).unwrap();
        assert!(script.contains("aws ssm get-parameters-by-path --region eu-west-1 --path /shop/prod"));
        assert!(script.contains("aws ecr get-login-password --region eu-west-1 | docker login"));
        assert!(!script.contains("token-canary"));
    }

    #[test]
    fn health_script_counts_attempts() {
        let script = health("http://127.0.0.1:1/health", 2, 0.01, 1);
        let out = std::process::Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("not healthy after 2 attempt(s)"));
    }

    #[test]
    fn the_switch_replaces_the_upstream_and_puts_it_back_when_the_reload_fails() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gantry/shop.conf");
        let run = |script: String| std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
        let path = file.display().to_string();
        let out = run(switch(&path, "gantry_shop", 8002, "true"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(text, "upstream gantry_shop {\n    server 127.0.0.1:8002;\n}\n");
        assert_eq!(upstream_port(&text), Some(8002));
        assert_eq!(run(read_upstream(&path)).stdout, text.as_bytes());

        let out = run(switch(&path, "gantry_shop", 8001, "echo 'nginx: [error] no pid'; exit 1"));
        assert!(!out.status.success());
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("no pid") && said.contains("put back"), "{said}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "the old upstream is back");
        assert_eq!(std::fs::read_dir(file.parent().unwrap()).unwrap().count(), 1, "no leftover files");
        assert!(run(read_upstream(&dir.path().join("none").display().to_string())).stdout.is_empty());
    }

    #[test]
    fn a_release_beside_gets_its_own_port_and_project() {
        let env = BTreeMap::from([("PORT".to_string(), "80".to_string()), ("A".to_string(), "b".to_string())]);
        let singletons = vec!["db".to_string()];
        let mut r = sample(&env);
        r.beside = Some(Beside { port: 8002, project: "shop-8002", singletons: &singletons, step: BesideStep::Start });
        let script = release(&r).unwrap();
        assert!(script.contains("echo \"PORT='8002'\""), "{script}");
        assert!(script.contains("export PORT=8002"));
        assert!(script.contains("compose -p shop-8002 -f docker-compose.yml pull"));
        assert!(script.contains("compose -p shop-8002 -f docker-compose.yml up -d --no-deps $app"));
        assert!(script.contains(
            "GANTRY_ENV_FILE=\"$work/single.env.$flavour\" compose -p shop -f docker-compose.yml up -d --no-deps --no-recreate $single"
        ));
        assert!(script.contains("case ' db '"));

        r.beside =
            Some(Beside { port: 8002, project: "shop-8002", singletons: &singletons, step: BesideStep::Singletons });
        let script = release(&r).unwrap();
        assert!(!script.contains(" pull\n") && !script.contains("docker login"), "{script}");
        assert!(!script.contains("$app\n"), "{script}");
        assert!(script.contains("compose -p shop -f docker-compose.yml up -d --no-deps $single"));
    }
}
