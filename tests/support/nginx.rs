//! An nginx of the test's own (Debian's `nginx` package): its prefix,
//! configuration, logs and pid file in a temporary folder, listening on a
//! free 127.0.0.1 port, and stopped by its PID when dropped. It stands in
//! for the proxy a host's bootstrap installs; gantry rewrites its upstream
//! file and reloads it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::services::{free_port, wait_for};

pub struct Nginx {
    dir: TempDir,
    /// Where it listens, on 127.0.0.1.
    pub port: u16,
    /// The file gantry rewrites (`upstream NAME { server ...; }`).
    pub upstream_file: PathBuf,
    /// The shell command that checks the configuration and reloads it.
    pub reload: String,
    child: Child,
}

impl Nginx {
    /// Starts nginx sending `/` to the upstream `upstream` (gantry's
    /// `gantry_SERVICE`), which first points at `first_port`.
    pub fn start(upstream: &str, first_port: u16) -> Nginx {
        let dir = tempfile::Builder::new().prefix("gantry-nginx-").tempdir().expect("a temporary directory");
        let root = dir.path();
        fs::create_dir_all(root.join("tmp")).unwrap();
        let port = free_port();
        let upstream_file = root.join("upstream.conf");
        fs::write(&upstream_file, format!("upstream {upstream} {{\n    server 127.0.0.1:{first_port};\n}}\n")).unwrap();
        let conf = root.join("nginx.conf");
        let temp = |name: &str| root.join("tmp").join(name).display().to_string();
        fs::write(
            &conf,
            format!(
                "daemon off;\nworker_processes 1;\npid {pid};\nerror_log {log} warn;\n{user}\
                 events {{\n    worker_connections 512;\n}}\n\
                 http {{\n    access_log off;\n\
                 \x20   client_body_temp_path {body};\n    proxy_temp_path {proxy};\n    fastcgi_temp_path {fastcgi};\n\
                 \x20   uwsgi_temp_path {uwsgi};\n    scgi_temp_path {scgi};\n\
                 \x20   include {upstream_file};\n\
                 \x20   server {{\n        listen 127.0.0.1:{port};\n\
                 \x20       location / {{\n            proxy_pass http://{upstream};\n\
                 \x20           proxy_connect_timeout 2s;\n        }}\n    }}\n}}\n",
                pid = root.join("nginx.pid").display(),
                log = root.join("error.log").display(),
                // As root, workers would otherwise run as nobody.
                user = if is_root() { "user root root;\n" } else { "" },
                body = temp("body"),
                proxy = temp("proxy"),
                fastcgi = temp("fastcgi"),
                uwsgi = temp("uwsgi"),
                scgi = temp("scgi"),
                upstream_file = upstream_file.display(),
            ),
        )
        .unwrap();
        let program = nginx_program();
        let base =
            format!("{} -p {} -c {} -e {}", program, root.display(), conf.display(), root.join("error.log").display());
        let child = Command::new(&program)
            .arg("-p")
            .arg(root)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(root.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {program}: {e} (install Debian's nginx)"));
        let nginx = Nginx { reload: format!("{base} -t -q && {base} -s reload"), dir, port, upstream_file, child };
        wait_for("nginx to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        nginx
    }

    /// The nginx error log so far (for assertion messages).
    pub fn error_log(&self) -> String {
        fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Nginx {
    /// Stops it (its folder stays until it is dropped): the proxy is down.
    pub fn stop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SIGQUIT: a graceful stop of this master and its workers.
        let _ = Command::new("kill").args(["-QUIT", &self.child.id().to_string()]).status();
        for _ in 0..50 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

fn nginx_program() -> String {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .find(|p| Path::new(p).exists())
        .map_or_else(|| "nginx".to_string(), |p| p.to_string())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
