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
    /// "localhost") and waits for it to end. Each line the script prints
    /// starting with `gantry: ` goes to `progress` (without the prefix) as
    /// it comes, where the transport can stream, else at the end.
    async fn run(&self, host: &str, script: &str, progress: &LineSink<'_>) -> Result<RunOutput, TransportError>;
}

/// Where a host script's progress lines go.
pub type LineSink<'a> = dyn Fn(&str) + Send + Sync + 'a;

/// Hands the progress lines of a finished script's output to `progress`.
pub fn replay_progress(stdout: &str, progress: &LineSink<'_>) {
    stdout.lines().filter_map(|l| l.strip_prefix("gantry: ")).for_each(progress);
}

/// Starts `cmd` (a shell on some host), feeds it `script` on standard input
/// and collects its output, passing progress lines on as they come. The
/// script never appears in an argument list.
pub(crate) async fn run_with_stdin(
    mut cmd: tokio::process::Command,
    program: &str,
    script: &str,
    progress: &LineSink<'_>,
) -> Result<RunOutput, TransportError> {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

    let spawn_error = |source| TransportError::Spawn { program: program.to_string(), source };
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(spawn_error)?;
    let mut stop = StopOnDrop(child.id());
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let (stdout, mut stderr) =
        (child.stdout.take().expect("stdout is piped"), child.stderr.take().expect("stderr is piped"));
    let bytes = script.as_bytes().to_vec();
    // Write while the child runs: a script larger than the pipe buffer would
    // otherwise deadlock against a child that is blocked writing its output.
    let writer = async move {
        let _ = stdin.write_all(&bytes).await;
        let _ = stdin.shutdown().await;
    };
    let read_out = async {
        let mut all = String::new();
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(text) = line.strip_prefix("gantry: ") {
                progress(text);
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    };
    let read_err = async {
        let mut all = Vec::new();
        let _ = stderr.read_to_end(&mut all).await;
        String::from_utf8_lossy(&all).into_owned()
    };
    let ((), stdout, stderr, status) = tokio::join!(writer, read_out, read_err, child.wait());
    // Reaped: its PID is no longer ours to signal.
    stop.0 = None;
    let status = status.map_err(spawn_error)?;
    Ok(RunOutput { status: status.code(), stdout, stderr })
}

/// Sends SIGTERM to a host shell whose run is dropped before it ended
/// (Ctrl-C): the shell's trap then removes its secrets folder, which
/// SIGKILL would not allow. Disarmed once `wait` has reaped the shell, so
/// a recycled PID is never signalled.
struct StopOnDrop(Option<u32>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a PID we spawned; no memory is involved.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn progress_lines_stream_and_output_is_kept() {
        let seen = Mutex::new(Vec::new());
        let sink = |line: &str| seen.lock().unwrap().push(line.to_string());
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-s");
        let out = run_with_stdin(
            cmd,
            "sh",
            "echo 'gantry: one'\necho other\necho 'gantry: two'\necho err >&2\nexit 3\n",
            &sink,
        )
        .await
        .unwrap();
        assert_eq!(out.status, Some(3));
        assert_eq!(out.stdout, "gantry: one\nother\ngantry: two\n");
        assert_eq!(out.stderr, "err\n");
        assert_eq!(*seen.lock().unwrap(), ["one", "two"]);
    }

    #[tokio::test]
    async fn a_dropped_run_lets_the_shell_clean_up() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("cleaned");
        let script = format!(
            "trap 'touch {}; exit 1' TERM\necho 'gantry: started'\nwhile :; do sleep 0.05; done\n",
            marker.display()
        );
        let mut cmd = tokio::process::Command::new("sh");
        cmd.arg("-s");
        let run = run_with_stdin(cmd, "sh", &script, &|_| ());
        // Dropped while the shell runs, as on Ctrl-C.
        assert!(tokio::time::timeout(Duration::from_millis(300), run).await.is_err());
        for _ in 0..100 {
            if marker.exists() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("the shell was not given SIGTERM (its trap never ran)");
    }
}
