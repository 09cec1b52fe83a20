//! How a deploy reaches a host: every transport runs one shell script there
//! and reports its exit status and output. The script is the whole contract,
//! so the deploy logic (what runs on a host) is the same for every transport.

mod local;
mod ssh;
mod ssm;

pub use local::LocalTransport;
pub use ssh::{SshOptions, SshTransport};
pub use ssm::{SsmOptions, SsmTransport};

use async_trait::async_trait;

/// What a host script printed, and how it ended.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    /// The script's exit status; `None` when it was killed or never reported one.
    pub status: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }
}

/// A transport that could not run the script at all (as opposed to a script
/// that ran and failed, which is a [`RunOutput`] with a non-zero status).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot start {program}: {source}")]
    Spawn { program: String, source: std::io::Error },
    #[error("{host}: {message}")]
    Host { host: String, message: String },
    #[error(transparent)]
    Aws(#[from] crate::aws::ProviderError),
}

#[async_trait]
pub trait Transport: Send + Sync {
    /// "ssh", "ssm" or "local", for progress lines.
    fn name(&self) -> &'static str;

    /// Whether the script may carry secrets. True when it travels on the
    /// standard input of a shell (ssh, local) and so appears in no argument
    /// list and no log; false for SSM, whose command parameters are stored in
    /// the account's command history.
    fn carries_secrets(&self) -> bool;

    /// Runs `script` with `sh` on `host` (an address, an instance id, or
    /// "localhost") and waits for it to end.
    async fn run(&self, host: &str, script: &str) -> Result<RunOutput, TransportError>;
}

/// Starts `cmd` (a shell on some host), feeds it `script` on standard input
/// and collects its output. The script never appears in an argument list.
pub(crate) async fn run_with_stdin(
    mut cmd: tokio::process::Command,
    program: &str,
    script: &str,
) -> Result<RunOutput, TransportError> {
    use std::process::Stdio;
    use tokio::io::AsyncWriteExt;

    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|source| TransportError::Spawn { program: program.to_string(), source })?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let bytes = script.as_bytes().to_vec();
    // Write while the child runs: a script larger than the pipe buffer would
    // otherwise deadlock against a child that is blocked writing its output.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&bytes).await;
        let _ = stdin.shutdown().await;
    });
    let out = child
        .wait_with_output()
        .await
        .map_err(|source| TransportError::Spawn { program: program.to_string(), source })?;
    let _ = writer.await;
    Ok(RunOutput {
        status: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
