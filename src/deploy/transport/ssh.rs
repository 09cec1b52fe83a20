//! The `ssh` transport: the system ssh client, with host keys always checked
//! against a known_hosts file the user provides.

use std::path::PathBuf;

use async_trait::async_trait;

use super::{LineSink, RunOutput, Transport, TransportError};

#[derive(Debug, Clone)]
pub struct SshOptions {
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<PathBuf>,
    pub known_hosts: PathBuf,
    /// Seconds to wait for the connection.
    pub connect_timeout: u32,
}

pub struct SshTransport {
    pub options: SshOptions,
}

impl SshTransport {
    /// The ssh arguments for `host`; the remote command is `sh -s`, fed the
    /// script on standard input.
    pub fn args(&self, host: &str) -> Vec<String> {
        let o = &self.options;
        let mut args = vec![
            "-o".to_string(),
            "BatchMode=yes".to_string(),
            "-o".to_string(),
            "StrictHostKeyChecking=yes".to_string(),
            "-o".to_string(),
            format!("UserKnownHostsFile={}", o.known_hosts.display()),
            // Options given here win over the user's ssh config (which may
            // still add a ProxyJump or the like), and the system-wide
            // known_hosts is left out: only the file gantry.hcl names vouches
            // for a host.
            "-o".to_string(),
            "GlobalKnownHostsFile=/dev/null".to_string(),
            "-o".to_string(),
            "VerifyHostKeyDNS=no".to_string(),
            "-o".to_string(),
            format!("ConnectTimeout={}", o.connect_timeout),
        ];
        if let Some(key) = &o.identity_file {
            args.extend(["-o".to_string(), "IdentitiesOnly=yes".to_string(), "-i".to_string()]);
            args.push(key.display().to_string());
        }
        if let Some(port) = o.port {
            args.extend(["-p".to_string(), port.to_string()]);
        }
        if let Some(user) = &o.user {
            args.extend(["-l".to_string(), user.clone()]);
        }
        args.extend(["--".to_string(), host.to_string(), "sh -s".to_string()]);
        args
    }
}

#[async_trait]
impl Transport for SshTransport {
    fn name(&self) -> &'static str {
        "ssh"
    }

    fn carries_secrets(&self) -> bool {
        true
    }

    async fn run(&self, host: &str, script: &str, progress: &LineSink<'_>) -> Result<RunOutput, TransportError> {
        let mut cmd = tokio::process::Command::new("ssh");
        cmd.args(self.args(host));
        let out = super::run_with_stdin(cmd, "ssh", script, progress).await?;
        // ssh itself exits 255 when it cannot connect or the host key is
        // wrong; the script never ran.
        if out.status == Some(255) {
            return Err(TransportError::Host { host: host.to_string(), message: ssh_failure(&out.stderr) });
        }
        Ok(out)
    }
}

fn ssh_failure(stderr: &str) -> String {
    // ssh frames its warnings in lines of @ and repeats some of them: keep
    // each line of words once.
    let mut lines: Vec<&str> = Vec::new();
    for line in stderr.lines().map(|l| l.trim().trim_matches('@').trim()).filter(|l| !l.is_empty()) {
        if !lines.contains(&line) {
            lines.push(line);
        }
    }
    let about_key = |l: &&str| {
        l.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
            || l.contains("Host key verification failed")
            || l.contains("host key is known")
    };
    if lines.iter().any(about_key) {
        let said: Vec<&str> = lines.iter().copied().filter(about_key).collect();
        format!("ssh refused the host key ({}). Check the known_hosts file named in gantry.hcl.", said.join("; "))
    } else {
        format!(
            "ssh failed with status 255 (it could not connect, or the remote command ended with 255): {}",
            lines.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keys_are_always_checked_against_the_given_file() {
        let t = SshTransport {
            options: SshOptions {
                user: Some("ec2-user".into()),
                port: Some(2222),
                identity_file: Some("/keys/id".into()),
                known_hosts: "/deploy/known_hosts".into(),
                connect_timeout: 15,
            },
        };
        let args = t.args("10.0.0.5").join(" ");
        assert!(args.contains("-o StrictHostKeyChecking=yes"));
        assert!(args.contains("-o UserKnownHostsFile=/deploy/known_hosts"));
        assert!(args.contains("-o GlobalKnownHostsFile=/dev/null"));
        assert!(args.contains("-o VerifyHostKeyDNS=no"));
        assert!(args.contains("-o BatchMode=yes"));
        assert!(args.ends_with("-p 2222 -l ec2-user -- 10.0.0.5 sh -s"), "{args}");
    }

    #[test]
    fn a_changed_host_key_is_said_once() {
        let banner = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
            @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
            @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
            IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n\
            Host key verification failed.\n";
        let message = ssh_failure(banner);
        assert_eq!(message.matches("REMOTE HOST IDENTIFICATION HAS CHANGED").count(), 1, "{message}");
        assert!(!message.contains("@@"), "{message}");
        assert!(message.contains("Host key verification failed"), "{message}");
    }
}
